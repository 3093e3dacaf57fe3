// The ESLint guard that keeps workflow code deterministic covers the workflows and what
// they import (src/sync, the catalog, src/contracts.ts), with the real eslint.config.mjs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.join(__dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint: workflow code stays deterministic', () => {
  const forbidden: Array<[string, string]> = [
    ['src/workflows/x.ts', "import { createActivities } from '../activities';"],
    ['src/workflows/x.ts', "import { fetchPage } from '../activities/index';"],
    ['src/workflows/x.ts', "import * as fs from 'node:fs';"],
    ['src/workflows/x.ts', "import { CATALOG } from '../harvest/catalog';"],
    ['src/sync/x.ts', "import { createActivities } from '../activities';"],
    ['src/sync/x.ts', "import { request } from 'undici';"],
    ['src/sync/x.ts', "import { openClickHouse } from '../clickhouse/connect';"],
    ['src/harvest/catalog/x.ts', "import { HarvestClient } from '../client';"],
    ['src/harvest/catalog/x.ts', "import { createActivities } from '../../activities';"],
    ['src/harvest/catalog/x.ts', "import * as path from 'path';"],
    ['src/contracts.ts', "import { loadConfig } from './config';"],
    ['src/sync/x.ts', "import { HarvestClient } from '../harvest/client';"],
  ];
  for (const [file, code] of forbidden) {
    it(`refuses ${code} in ${file}`, async () => {
      assert.equal((await restricted(file, `${code}\nexport const x = 1;\n`)).length, 1, `${file}: ${code}`);
    });
  }

  it('allows type imports, the workflow API, the pure modules and the workflows\' activity proxies', async () => {
    const ok = [
      "import type * as activities from '../activities';",
      "import { proxyActivities } from '@temporalio/workflow';",
      "import { storeActivities } from './activities';",
      "import { planCursor } from '../sync/plan';",
      "import { QUERY_NAMES } from '../contracts';",
      "import type { ResourceSpec } from '../harvest/catalog';",
    ].join('\n');
    assert.deepEqual(await restricted('src/workflows/x.ts', `${ok}\nexport const x = 1;\n`), []);
  });
});
