// Worker Versioning on the dev server: a sync started on build A finishes on A while build
// B, made current when its worker starts, takes the new syncs; then A drains. The pacer
// moves to the newest build.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { generateAccount, startFakeHarvest } from '../../fake-harvest/src';
import { createSyncWorker } from '../../src/worker/worker';
import { accountWorkflowId, resourceWorkflowId } from '../../src/core/contracts';
import { temporalEnv, testConfig, unique, workflowBundle } from '../support/harness';
import type { SyncSummary } from '../../src/core/types';

const { VERSIONING_BEHAVIOR_PINNED } = temporal.api.enums.v1.VersioningBehavior;
const DRAINED = temporal.api.enums.v1.VersionDrainageStatus.VERSION_DRAINAGE_STATUS_DRAINED;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('releases: Worker Versioning', () => {
  it('a sync started on build A finishes on A while build B takes new syncs; then A drains', async () => {
    const env = await temporalEnv();
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 211, timeEntries: 3000, users: 3 }), rateLimit: false });
    try {
      const ids = unique('versions');
      // Slow enough that the first sync is still listing when B arrives.
      const { cfg } = testConfig(fake, ids, { HARVEST_REQUESTS_PER_SECOND: '5', HARVEST_PER_PAGE: '100' });
      const bundle = await workflowBundle();
      const deploymentName = cfg.temporal.deployment!;
      const a = await createSyncWorker(cfg, { connection: env.nativeConnection, workflowBundle: bundle, buildId: 'A', identity: 'worker-A' });
      const runningA = a.worker.run();
      await a.worker.ready();
      const first = await env.client.workflow.start('harvestSync', { taskQueue: ids.taskQueue, workflowId: `first-${ids.taskQueue}`, args: [{ resources: ['time_entries'] }] });
      await until('the first sync to list time entries', async () => (fake.requests.filter((r) => r.path === '/v2/time_entries').length >= 2 ? true : undefined));

      const b = await createSyncWorker(cfg, { connection: env.nativeConnection, workflowBundle: bundle, buildId: 'B', identity: 'worker-B' });
      const runningB = b.worker.run();
      await b.worker.ready();
      const second = await env.client.workflow.start('harvestSync', {
        taskQueue: ids.taskQueue, workflowId: `second-${ids.taskQueue}`, args: [{ resources: ['clients'], mode: 'backfill', since: '2020-01-01' }],
      });
      const secondSummary = (await second.result()) as SyncSummary;
      assert.equal(secondSummary.status, 'succeeded');
      const firstSummary = (await first.result()) as SyncSummary;
      assert.equal(firstSummary.status, 'succeeded');
      assert.ok(fake.data.timeEntries.length > 0 && firstSummary.resources[0].rows >= fake.data.timeEntries.length);

      // Where each ran: the first sync and its children on A, pinned; the second on B.
      const versionOf = async (workflowId: string) => (await env.client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.versioningInfo;
      const lane = accountWorkflowId(ids.taskQueue, cfg.harvest!.accounts === 'all' ? '' : cfg.harvest!.accounts[0], 'incremental');
      for (const id of [first.workflowId, lane, resourceWorkflowId(lane, 'time_entries')]) {
        const v = await versionOf(id);
        assert.equal(v?.deploymentVersion?.buildId, 'A', `${id} ran on ${v?.deploymentVersion?.buildId}`);
        assert.equal(v?.behavior, VERSIONING_BEHAVIOR_PINNED);
      }
      assert.equal((await versionOf(second.workflowId))?.deploymentVersion?.buildId, 'B');
      const deployment = await env.client.workflowService.describeWorkerDeployment({ namespace: 'default', deploymentName });
      assert.equal(deployment.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId, 'B');

      // Nothing pinned to A is open any more: A drains, and may be stopped.
      await until('build A to drain', async () => {
        const info = await env.client.workflowService.describeWorkerDeploymentVersion({ namespace: 'default', deploymentVersion: { deploymentName, buildId: 'A' } });
        return info.workerDeploymentVersionInfo?.drainageInfo?.status === DRAINED ? true : undefined;
      });
      a.worker.shutdown();
      await runningA;
      b.worker.shutdown();
      await runningB;
      await a.release();
      await b.release();
    } finally {
      await fake.close();
    }
  });
});
