import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// What the workflow bundle contains must stay deterministic: the workflows and everything
// they import (src/sync, the catalog, src/contracts.ts). No I/O, no Node modules, no
// activities implementation (type imports are fine: `import type * as activities`).
const DETERMINISTIC = {
  group: ['node:*', 'undici', '@clickhouse/*', 'chdb*', 'fs', 'path', 'os', 'http', 'https', 'net', 'child_process', 'crypto', 'worker_threads', 'dns', 'tls', 'zlib'],
  allowTypeImports: true,
  message: 'Workflow code (and what it imports) must stay deterministic: no I/O or Node modules.',
};
const IO_MODULES = 'activities|clickhouse|harvest/client|harvest/auth|client|auth|codec|config|observability|temporal|namespace|worker|session|schedules|sandbox|cli|demo';
const NO_IO_MODULES = {
  // Relative imports from any depth: '../activities', '../../clickhouse/store', '../client'.
  // (src/workflows/proxies.ts is the workflow side's proxy of them.)
  regex: `^(\\.\\./)+(${IO_MODULES})(/.*)?$`,
  allowTypeImports: true,
  message: 'Workflow code (and what it imports) must not import activities, ClickHouse, the Harvest client or other I/O modules.',
};

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
    files: ['src/sync/**/*.ts', 'src/harvest/catalog*.ts', 'src/harvest/catalog/**/*.ts', 'src/contracts.ts'],
    rules: {
      // Here './x' too: these files sit beside the I/O modules (src/contracts.ts next to src/config).
      'no-restricted-imports': ['error', { patterns: [DETERMINISTIC, { ...NO_IO_MODULES, regex: `^(\\.\\.?/)+(${IO_MODULES})(/.*)?$` }] }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          DETERMINISTIC,
          NO_IO_MODULES,
          // A release may change the catalog while syncs run: workflows get it from history.
          { group: ['../harvest/catalog', '../harvest/catalog/*'], allowTypeImports: true, message: 'Workflows must not read the catalog (replay safety): take the spec from the input or an activity result; see docs/releasing.md.' },
        ],
      }],
    },
  },
);
