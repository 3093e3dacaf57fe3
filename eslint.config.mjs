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
        patterns: [{ group: ['node:*', 'undici', '@clickhouse/*', 'chdb*', 'fs', 'path', 'os', 'http', 'https', 'net', 'child_process', 'crypto', '../activities/*', '../clickhouse/*', '../harvest/client*'], allowTypeImports: true, message: 'Workflows must stay deterministic: no I/O or Node modules.' }],
      }],
    },
  },
);
