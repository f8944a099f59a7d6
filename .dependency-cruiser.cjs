// Import boundaries of DESIGN.md, checked in CI (`npm run boundaries`).
// Folder roles: core is pure; matching and policy are pure and see only core (and the pure distros data); only storage
// speaks SQL; parsers never touch storage; the interfaces (api, cli) go through services.
// Every folder under src/ states below which of ours it may import (ALLOWED); a folder that is
// not listed fails `folder-has-a-rule`, so a new one gets its line here when it is made.
const layer = (name) => `^src/${name}/`;
const NODE_IO = '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|tls|dgram|dns|os|cluster|worker_threads|readline|process|stream|zlib|crypto)$';
const SQL = '^(kysely|pg|better-sqlite3)$|node_modules/(kysely|pg|better-sqlite3)/';

/**
 * Which folders of ours each folder may import (besides itself). Read down the list: a folder
 * only imports folders above it in the layering, so the arrows all point one way.
 */
const ALLOWED = {
  core: [],
  // One module per distribution (issue #19): facts and normalisers, pure data over core (see
  // distros-is-pure), asked by everything below, the pure matching and policy included.
  distros: ['core'],
  lib: ['core'],
  // Notification channels (issue #18 item 4): the rules' schema, payloads, webhook and SMTP senders; no storage.
  notify: ['core', 'lib'],
  matching: ['core', 'distros'],
  policy: ['core', 'distros'],
  lifecycle: ['core', 'distros'],
  executor: ['core', 'lib', 'distros'],
  inventory: ['core', 'lib', 'distros'],
  feeds: ['core', 'lib', 'distros'],
  repos: ['core', 'lib', 'policy', 'distros'],
  images: ['core', 'lib', 'inventory', 'policy', 'distros'],
  // The on-host agent is a shell script; TypeScript there would be the agent's own.
  agent: [],
  storage: ['core'],
  // The configuration file (its schema and its reading); sections of other areas import their zod schemas here.
  config: ['core', 'lib', 'policy', 'notify'],
  services: ['core', 'lib', 'notify', 'matching', 'policy', 'distros', 'lifecycle', 'executor', 'inventory', 'feeds', 'repos', 'images', 'storage', 'config'],
  api: ['core', 'lib', 'services', 'config'],
  cli: ['core', 'lib', 'distros', 'inventory', 'policy', 'services', 'api', 'config'],
};
// src/version.ts (the package version) is a leaf anyone may read.
const LEAVES = ['^src/version\\.ts$'];

const folderRules = Object.entries(ALLOWED).map(([folder, allowed]) => ({
  name: `${folder}-imports-only-${allowed.length === 0 ? 'itself' : allowed.join('-')}`,
  comment: `src/${folder} may import ${allowed.length === 0 ? 'nothing else of ours' : allowed.map((a) => `src/${a}`).join(', ')} (ALLOWED in .dependency-cruiser.cjs).`,
  severity: 'error',
  from: { path: layer(folder) },
  to: { path: '^src/', pathNot: [layer(folder), ...allowed.map(layer), ...(folder === 'core' ? [] : LEAVES)] },
}));

module.exports = {
  forbidden: [
    ...folderRules,
    {
      name: 'folder-has-a-rule',
      comment: 'Every folder under src/ has its line in ALLOWED (.dependency-cruiser.cjs): say what a new folder may import.',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: Object.keys(ALLOWED).map(layer) },
      to: {},
    },
    {
      name: 'storage-through-its-index',
      comment: 'Outside storage, only src/storage/index.ts is imported: the Kysely handle (kx) and the schema stay inside.',
      severity: 'error',
      from: { path: '^src/', pathNot: layer('storage') },
      to: { path: layer('storage'), pathNot: '^src/storage/index\\.ts$' },
    },
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
