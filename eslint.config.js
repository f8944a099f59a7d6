// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_ENUM = { selector: 'TSEnumDeclaration', message: 'Use a union of string literals, not an enum (DESIGN.md conventions).' };
// Only src/storage writes SQL (issue #19): services hold a Db without a query builder, and the
// test-only accessor stays in tests.
const NO_KYSELY = {
  selector: "MemberExpression[property.name='kysely']",
  message: 'Only src/storage reaches the query builder; call a repository function of src/storage/repositories.',
};
const NO_RAW_KYSELY = {
  group: ['**/storage/index.js', '**/storage/database.js'],
  importNames: ['rawKysely'],
  message: 'rawKysely is for tests; application code calls repository functions.',
};
// core, matching and policy are pure: the clock, the environment and the network come in as
// arguments (DESIGN.md: "a clock passed in").
const NO_CLOCK = {
  selector: "NewExpression[callee.name='Date'][arguments.length=0]",
  message: 'core, matching and policy take "now" as an argument; new Date() reads the clock.',
};
const IMPURE_MODULES = [
  'net',
  'http',
  'https',
  'http2',
  'tls',
  'dgram',
  'dns',
  'fs',
  'fs/promises',
  'child_process',
  'os',
  'process',
  'worker_threads',
].flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.cjs', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      'no-restricted-syntax': ['error', NO_ENUM, NO_KYSELY],
      'no-restricted-imports': ['error', { patterns: [NO_RAW_KYSELY] }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/matching/**/*.ts', 'src/policy/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': ['error', NO_ENUM, NO_KYSELY, NO_CLOCK],
      'no-restricted-globals': [
        'error',
        ...['fetch', 'performance', 'process', 'setTimeout', 'setInterval', 'XMLHttpRequest', 'WebSocket'].map((name) => ({
          name,
          message: `core, matching and policy are pure: ${name} is I/O, the clock or the environment; take the value as an argument.`,
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'core, matching and policy take "now" as an argument.' },
        { object: 'process', property: 'env', message: 'core, matching and policy take configuration as arguments.' },
        { object: 'performance', property: 'now', message: 'core, matching and policy take the time as an argument.' },
      ],
      'no-restricted-imports': [
        'error',
        { patterns: [NO_RAW_KYSELY], paths: IMPURE_MODULES.map((name) => ({ name, message: 'core, matching and policy do no I/O.' })) },
      ],
    },
  },
  {
    // Storage is where the query builder lives; tests inspect and corrupt rows through it.
    files: ['src/storage/**/*.ts', '**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', NO_ENUM], 'no-restricted-imports': 'off' },
  },
  {
    // Tests index into results they have just checked; a `!` there is clearer than a guard.
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
);
