// Lint configuration: typescript-eslint's recommended rules, plus the house rules from
// shared STYLE.md that a linter can check (no console in library code).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.rampart-demo/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/cli/**', 'bench/**', 'examples/**', 'test/**', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
);
