// The house rules, checked by `npm run lint` (depcruise) instead of remembered:
//   - no import cycles;
//   - the three stages (generator/, receiver/, analyzer/) never import each other: they meet only
//     over OTLP and SQLite;
//   - model/ is the floor: it imports nothing above it;
//   - the SQLite schema lives in model/: only model/ opens better-sqlite3 (test helpers and
//     benchmarks use it as an independent oracle / reference). Member access to `.db` and
//     `.prepare(` outside model/ is caught by eslint (eslint.config.js), which sees expressions.
//   - shipped code never imports a devDependency.

const STAGES = ['generator', 'receiver', 'analyzer'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules are one job split badly; move the shared part down.',
      from: {},
      to: { circular: true },
    },
    ...STAGES.map((stage) => ({
      name: `${stage}-stays-apart`,
      severity: 'error',
      comment: `${stage}/ must not import another stage; share through model/ instead.`,
      from: { path: `^${stage}/` },
      to: { path: `^(${STAGES.filter((s) => s !== stage).join('|')})/` },
    })),
    {
      name: 'model-is-the-floor',
      severity: 'error',
      comment: 'model/ holds the contracts every stage shares; it imports only model/, node: and packages.',
      from: { path: '^model/' },
      to: { path: '^(?!model/|node_modules/)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'sqlite-only-in-model',
      severity: 'error',
      comment: 'The store owns its schema: open the database through model/store.ts, not better-sqlite3.',
      from: { pathNot: ['^model/', '^test/helpers/', '^bench/'] },
      to: { path: '^node_modules/better-sqlite3/' },
    },
    {
      name: 'no-dev-dependency-in-shipped-code',
      severity: 'error',
      comment: 'Users install dependencies only; shipped code cannot import a devDependency.',
      from: { path: '^(analyzer|bin|cli|demo|generator|model|receiver)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
