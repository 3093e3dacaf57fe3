import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of src/, top to bottom (docs/architecture.md). A module imports only from
// layers below its own, or from its own folder.
const LAYERS = [
  ['cli'],
  ['worker'],
  ['activities'],
  ['harvest', 'temporal'],
  ['pacing'],
  ['workflows', 'clickhouse'],
  ['core'],
  ['config', 'catalog'],
];

// What the workflow bundle contains must stay deterministic: the workflows and everything
// they import (the core, the catalog's types). No I/O, no Node modules (type imports are fine).
const DETERMINISTIC = {
  group: ['node:*', 'undici', '@clickhouse/*', 'chdb*', 'fs', 'path', 'os', 'http', 'https', 'net', 'child_process', 'crypto', 'worker_threads', 'dns', 'tls', 'zlib'],
  allowTypeImports: true,
  message: 'Workflow code (and what it imports) must stay deterministic: no I/O or Node modules.',
};

// ClickHouse's libraries stay behind the store (src/clickhouse/port.ts): the rest of src/
// sees classified errors and typed calls, never a client.
const STORE_LIBRARIES = {
  group: ['@clickhouse/*', 'chdb', 'chdb/*'],
  message: 'ClickHouse is reached through the store (src/clickhouse/port.ts, openClickHouse); its libraries stay in src/clickhouse.',
};

/** Relative imports that reach folder `name` of src/ from any depth: '../name', '../../name/x'. */
const reaching = (names) => `^(\\.\\./)+(${names.join('|')})(/.*)?$`;

/** The layer rule for the folders of one layer: nothing from its own layer's other folders or above. */
function layerRule(index) {
  const rules = [];
  for (const folder of LAYERS[index]) {
    const upward = LAYERS.slice(0, index + 1).flat().filter((f) => f !== folder);
    // Workflows take the activities' signatures as types (the SDK's proxyActivities), nothing else.
    const typesOnly = folder === 'workflows' ? ['activities'] : [];
    rules.push({
      files: [`src/${folder}/**/*.ts`],
      rules: {
        'no-restricted-imports': ['error', {
          patterns: [
            { regex: reaching(upward.filter((f) => !typesOnly.includes(f))), message: `src/${folder} sits in layer ${index + 1} of docs/architecture.md: it may import only from the layers below it.` },
            ...(typesOnly.length ? [{ regex: reaching(typesOnly), allowTypeImports: true, message: 'Workflows import the activities as types only (proxyActivities).' }] : []),
            { regex: '^(\\.\\./)+fake-harvest(/.*)?$', message: 'The product does not import the fake Harvest (only `demo` does).' },
            ...(['workflows', 'core', 'catalog'].includes(folder) ? [DETERMINISTIC] : folder === 'clickhouse' ? [] : [STORE_LIBRARIES]),
            ...(folder === 'workflows'
              ? [{ regex: reaching(['catalog']), allowTypeImports: true, message: 'Workflows must not read the catalog (replay safety): take the spec from the input or an activity result; see docs/releasing.md.' }]
              : []),
          ],
        }],
      },
    });
  }
  return rules;
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.venv/', '.harvest-sync/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...LAYERS.flatMap((_, i) => layerRule(i)),
  {
    // `demo` serves the fake Harvest: the one product module that imports it.
    files: ['src/cli/demo.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: reaching(LAYERS[0].filter((f) => f !== 'cli')), message: 'layer rule' }] }] },
  },
  {
    files: ['fake-harvest/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+src(/.*)?$', message: 'The fake Harvest is a package of its own: it does not import harvest-sync.' }] }],
    },
  },
);
