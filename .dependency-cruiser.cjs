// Import boundaries of DESIGN.md, checked in CI (`npm run boundaries`).
// Folder roles: core is pure; matching and policy are pure and see only core; only storage
// speaks SQL; parsers never touch storage; the interfaces (api, cli) go through services.
const layer = (name) => `^src/${name}/`;
const NODE_IO = '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|tls|dgram|dns|os|cluster|worker_threads|readline|process|stream|zlib|crypto)$';
const SQL = '^(kysely|pg|better-sqlite3)$|node_modules/(kysely|pg|better-sqlite3)/';

module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'src/core is the pure domain: it imports nothing else of ours and does no I/O.',
      severity: 'error',
      from: { path: layer('core') },
      to: { pathNot: [layer('core'), '^node_modules/zod/', '^zod$'] },
    },
    {
      name: 'pure-no-io',
      comment: 'core, matching and policy never do I/O (a clock and data come in through arguments).',
      severity: 'error',
      from: { path: `${layer('core')}|${layer('matching')}|${layer('policy')}` },
      to: { dependencyTypes: ['core'], path: NODE_IO },
    },
    {
      name: 'matching-and-policy-see-only-core',
      comment: 'src/distros is pure data about distributions (see distros-is-pure), so pure layers may read it.',
      severity: 'error',
      from: { path: `${layer('matching')}|${layer('policy')}` },
      to: { path: '^src/', pathNot: [layer('core'), layer('distros'), layer('matching'), layer('policy')] },
    },
    {
      name: 'distros-is-pure',
      comment: 'src/distros (one descriptor per distribution and the registry) imports only core and does no I/O.',
      severity: 'error',
      from: { path: layer('distros') },
      to: { path: `^src/|${NODE_IO}`, pathNot: [layer('core'), layer('distros')] },
    },
    {
      name: 'sql-only-in-storage',
      comment: 'Only src/storage may import the query builder or a database driver.',
      severity: 'error',
      from: { path: '^src/', pathNot: layer('storage') },
      to: { path: SQL },
    },
    {
      name: 'feeds-never-touch-storage',
      severity: 'error',
      from: { path: `${layer('feeds')}|${layer('repos')}|${layer('inventory')}|${layer('images')}|${layer('lib')}` },
      to: { path: `${layer('storage')}|${layer('services')}|${layer('api')}|${layer('cli')}` },
    },
    {
      name: 'interfaces-go-through-services',
      comment: 'api and cli call services; they never reach into storage directly.',
      severity: 'error',
      from: { path: `${layer('api')}|${layer('cli')}` },
      to: { path: layer('storage') },
    },
    {
      name: 'storage-below-services',
      severity: 'error',
      from: { path: layer('storage') },
      to: { path: `${layer('services')}|${layer('api')}|${layer('cli')}` },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$|__fixtures__' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
