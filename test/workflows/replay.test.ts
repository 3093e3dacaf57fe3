// Histories recorded from real runs (test/histories, `npm run record:histories`) replay on
// the workflow code under test, and the workflow bundle holds no catalog data
// (docs/releasing.md).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { CATALOG } from '../../src/catalog';
import { workflowBundle } from '../support/harness';
import { decodeHistory, readScenarios } from '../support/histories';

/** The scenarios CI must replay; a missing one is a failure, not a skip. */
const REQUIRED = ['full', 'in-flight', 'incremental', 'backfill', 'accounts', 'continue-as-new', 'forbidden', 'cancelled', 'report-windows', 'fan-outs'];

describe('replay of recorded histories', () => {
  it('every recorded history of a real run replays on this release without non-determinism', async () => {
    const scenarios = readScenarios();
    assert.deepEqual(REQUIRED.filter((n) => !scenarios.some((s) => s.scenario === n)), [], 'recorded scenarios missing from test/histories');
    const bundle = await workflowBundle();
    let replayed = 0;
    const failures: string[] = [];
    for (const s of scenarios) {
      const histories = s.histories.map((h) => ({ workflowId: h.workflowId, history: decodeHistory(h.history) }));
      assert.ok(histories.length > 0, `${s.scenario}: no histories`);
      for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
        replayed++;
        if (result.error) failures.push(`${s.scenario} ${result.workflowId}: ${result.error.message}`);
      }
    }
    assert.deepEqual(failures, [], 'histories that no longer replay (see docs/releasing.md)');
    assert.ok(replayed >= REQUIRED.length * 2, `replayed ${replayed} executions`);
  });

  it('the workflow bundle holds no catalog data: a release that changes the catalog cannot change a replay', async () => {
    const { code } = await workflowBundle();
    for (const spec of CATALOG.filter((r) => r.description.length > 12)) {
      assert.ok(!code.includes(spec.description), `the bundle contains the catalog entry of ${spec.name}`);
    }
  });
});
