import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.venv/', '.harvest-sync/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'undici', '@clickhouse/*', 'chdb*', 'fs', 'path', 'os', 'http', 'https', 'net', 'child_process', 'crypto', '../activities', '../activities/*', '../clickhouse/*', '../harvest/client*'], allowTypeImports: true, message: 'Workflows must stay deterministic: no I/O or Node modules.' },
          // A release may change the catalog while syncs run: workflows get it from history.
          { group: ['../harvest/catalog', '../harvest/catalog/*'], allowTypeImports: true, message: 'Workflows must not read the catalog (replay safety): take the spec from the input or an activity result; see docs/releasing.md.' },
        ],
      }],
    },
  },
);
