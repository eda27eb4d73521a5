// Lint: typed rules that catch the bugs load tools suffer from (floating promises, unawaited work)
// and keep type-only imports explicit (verbatimModuleSyntax).
import tseslint from 'typescript-eslint';

const NO_ENUM = { selector: 'TSEnumDeclaration', message: 'Use an `as const` object instead of enum.' };

// The store owns its schema: outside model/ nothing reaches into a database handle or prepares SQL
// (imports of better-sqlite3 are checked by dependency-cruiser, .dependency-cruiser.cjs). Test
// helpers and benchmarks may read the file directly as an independent oracle / reference.
const SQL_ONLY_IN_MODEL = [
  { selector: "MemberExpression[object.type='MemberExpression'][object.property.name='db']", message: 'Only model/ touches the store’s database handle; use the store’s API (model/store.ts) or a test helper.' },
  { selector: "CallExpression[callee.property.name='prepare']", message: 'SQL lives in model/; add a method to the store (model/store.ts) or a test helper.' },
];
export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', '.cache/**', 'out/**', 'reports/**', '.stryker-tmp/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', NO_ENUM],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['model/**', 'test/helpers/**', 'bench/**'],
    rules: { 'no-restricted-syntax': ['error', NO_ENUM, ...SQL_ONLY_IN_MODEL] },
  },
);
