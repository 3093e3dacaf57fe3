// The ESLint rules of eslint.config.mjs, with planted imports: the layers of src/ import
// only downward (docs/architecture.md), workflow code stays deterministic, ClickHouse's
// libraries stay behind the store, the fake Harvest stays a package of its own.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.join(__dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const x = 1;\n`, { filePath: path.join(ROOT, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint: the layers, determinism, the fake Harvest', () => {
  const forbidden: Array<[string, string]> = [
    // Back up the layers.
    ['src/core/x.ts', "import { createActivities } from '../activities';"],
    ['src/core/x.ts', "import { openClickHouse } from '../clickhouse/connect';"],
    ['src/core/x.ts', "import { HarvestClient } from '../harvest/client';"],
    ['src/catalog/x.ts', "import { planCursor } from '../core/plan';"],
    ['src/clickhouse/x.ts', "import { HarvestClient } from '../harvest/client';"],
    ['src/clickhouse/deep/x.ts', "import { createActivities } from '../../activities';"],
    ['src/harvest/x.ts', "import { connectNative } from '../temporal/connection';"],
    ['src/activities/x.ts', "import { runWorker } from '../worker/worker';"],
    ['src/worker/x.ts', "import { main } from '../cli/main';"],
    ['src/pacing/x.ts', "import { HarvestClient } from '../harvest/client';"],
    // Workflow code: deterministic, no catalog, activities as types only.
    ['src/workflows/x.ts', "import { createActivities } from '../activities';"],
    ['src/workflows/readers/x.ts', "import { fetchPage } from '../../activities/index';"],
    ['src/workflows/x.ts', "import * as fs from 'node:fs';"],
    ['src/workflows/x.ts', "import { CATALOG } from '../catalog';"],
    ['src/core/x.ts', "import { request } from 'undici';"],
    ['src/catalog/x.ts', "import * as path from 'path';"],
    // ClickHouse's libraries stay behind the store.
    ['src/activities/x.ts', "import { createClient } from '@clickhouse/client';"],
    ['src/cli/x.ts', "import { createChdbConnection } from 'chdb/connection';"],
    ['src/worker/x.ts', "import type { ClickHouseClient } from '@clickhouse/client';"],
    // The fake Harvest and the product stay apart (only `demo` serves it).
    ['src/activities/x.ts', "import { startFakeHarvest } from '../../fake-harvest/src';"],
    ['fake-harvest/src/x.ts', "import { CATALOG } from '../../src/catalog';"],
  ];
  for (const [file, code] of forbidden) {
    it(`refuses ${code} in ${file}`, async () => {
      assert.equal((await restricted(file, code)).length, 1, `${file}: ${code}`);
    });
  }

  it('allows what runs downward: type imports of the activities, the workflow API, the core and the catalog\'s types', async () => {
    const ok = [
      "import type * as activities from '../activities';",
      "import { proxyActivities } from '@temporalio/workflow';",
      "import { controlActivities } from './proxies';",
      "import { planCursor } from '../core/plan';",
      "import { QUERY_NAMES } from '../core/contracts';",
      "import type { ResourceSpec } from '../catalog';",
    ].join('\n');
    assert.deepEqual(await restricted('src/workflows/x.ts', ok), []);
    assert.deepEqual(await restricted('src/activities/x.ts', "import { HarvestClient } from '../harvest/client';\nimport { storePage } from '../clickhouse/store';"), []);
    assert.deepEqual(await restricted('src/cli/demo.ts', "import { startFakeHarvest } from '../../fake-harvest/src';"), []);
    assert.deepEqual(await restricted('src/clickhouse/server.ts', "import { createClient } from '@clickhouse/client';"), []);
  });
});
