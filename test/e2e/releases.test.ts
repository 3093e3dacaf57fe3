// Replay-safe releases: the recorded histories of real runs replay on this code, the
// workflow bundle carries no catalog, and a sync started under one catalog finishes exactly
// on a worker whose catalog changed (one more resource, one changed dependency).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateAccount, startFakeHarvest } from '../../fake-harvest/src';
import { CATALOG, getResource, resolveSelection, type ResourceSpec } from '../../src/catalog';
import { createSyncWorker } from '../../src/worker/worker';
import type { SyncSummary } from '../../src/core/types';
import { PROJECT_ROOT, query, temporalEnv, testConfig, unique, workflowBundle } from '../support/harness';
import { sourceWorkflowBundle } from '../../src/worker/workflow-bundle';
import { assertTablesMatchFake } from '../support/assertions';

describe('replay-safe releases', () => {
  it('drill: a sync started on worker A finishes exactly on worker B whose catalog has one more resource and one changed dependency', async () => {
    const env = await temporalEnv();
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 131, timeEntries: 9000, users: 12 }), rateLimit: false });
    const catalog = CATALOG as ResourceSpec[];
    const expenses = getResource('expenses');
    const originalDeps = expenses.dependsOn;
    const originalSelection = resolveSelection();
    try {
      const ids = unique('drill');
      const slow = testConfig(fake, ids, { HARVEST_REQUESTS_PER_SECOND: '4' });
      const bundle = await workflowBundle();
      const workflowId = `drill-${Date.now()}`;

      // Worker A (this release's catalog) starts the sync; it stops once time entries are under way.
      const a = await createSyncWorker(slow.cfg, { connection: env.nativeConnection, workflowBundle: bundle, identity: 'worker-A' });
      const runningA = a.worker.run();
      const handle = await env.client.workflow.start('harvestSync', { taskQueue: ids.taskQueue, workflowId, args: [{}] });
      const deadline = Date.now() + 90_000;
      while (fake.requests.filter((r) => r.path === '/v2/time_entries').length < 2) {
        assert.ok(Date.now() < deadline, 'time entries never started');
        await new Promise((r) => setTimeout(r, 100));
      }
      a.worker.shutdown();
      await runningA;
      await a.release();
      const beforeB = fake.requests.length;

      // The next release: one more resource, and expenses now wait for time entries.
      catalog.push({ ...getResource('tasks'), name: 'drill_tasks', description: 'drill: a resource added by the next release', dependsOn: [] });
      expenses.dependsOn = [...originalDeps, 'time_entries'];
      assert.notDeepEqual(resolveSelection(), originalSelection);

      const fast = testConfig(fake, ids);
      const b = await createSyncWorker(fast.cfg, { connection: env.nativeConnection, workflowBundle: bundle, identity: 'worker-B' });
      const summary = (await b.worker.runUntil(() => handle.result())) as SyncSummary;
      await b.release();
      assert.ok(fake.requests.length > beforeB, 'worker B did the rest');
      assert.ok(summary.resources.every((r) => r.state === 'done'), JSON.stringify(summary.resources.filter((r) => r.state !== 'done')));
      // The running sync kept the graph it was planned with: the new resource is not part of it.
      assert.deepEqual(summary.resources.map((r) => r.resource), originalSelection);
      const [{ n }] = await query<{ n: number }>(`SELECT count() AS n FROM ${ids.database}.drill_tasks`);
      assert.equal(n, 0, 'worker B created the new table, the old sync did not read it');

      catalog.pop();
      expenses.dependsOn = originalDeps;
      await assertTablesMatchFake(ids.database, fake);
    } finally {
      if (catalog[catalog.length - 1].name === 'drill_tasks') catalog.pop();
      expenses.dependsOn = originalDeps;
      await fake.close();
    }
  });
});

describe('workflow bundle from source', () => {
  it('is made once per source version by a child process, cached, and holds the workflows', async () => {
    const fallback = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-fallback-'));
    const first = await sourceWorkflowBundle(fallback, path.join(PROJECT_ROOT, 'src'));
    assert.ok('codePath' in first && first.codePath, 'a bundle file');
    const file = (first as { codePath: string }).codePath;
    assert.match(path.basename(file), /^workflows-[0-9a-f]{16}\.js$/);
    const code = fs.readFileSync(file, 'utf8');
    for (const wf of ['harvestSync', 'syncAccount', 'syncResource', 'harvestPacer']) assert.ok(code.includes(wf), `the bundle holds ${wf}`);
    const before = fs.statSync(file).mtimeMs;
    const again = await sourceWorkflowBundle(fallback, path.join(PROJECT_ROOT, 'src'));
    assert.deepEqual(again, first, 'the same sources give the same file');
    assert.equal(fs.statSync(file).mtimeMs, before, 'read, not made again');
    assert.equal(fs.readdirSync(fallback).length, 0, 'node_modules/.cache was writable: nothing in the fallback');
  });
});
