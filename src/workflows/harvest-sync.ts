// The `harvestSync` workflow: one sync of one Harvest account. It plans each resource's
// cursor, then runs the dependency graph: a resource starts as a child workflow as soon
// as every resource it depends on finished in this run; independent ones run in parallel.
import {
  ApplicationFailure,
  defineQuery,
  executeChild,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { getResource, resolveSelection, resourceNames } from '../harvest/catalog';
import { planCursor, validateSyncInput } from '../sync/plan';
import type { ResourceProgress, ResourceSyncInput, SyncInput, SyncSummary } from '../sync/types';
import { storeActivities } from './activities';
import { syncResource } from './sync-resource';

export interface SyncProgress {
  syncId: string;
  mode: 'incremental' | 'full';
  startedAt: string;
  resources: ResourceProgress[];
}

export const syncProgressQuery = defineQuery<SyncProgress>('progress');

/** Id of the child workflow that syncs `resource` within sync `syncId` (the CLI queries it). */
export function resourceWorkflowId(syncId: string, resource: string): string {
  return `${syncId}/${resource}`;
}

export async function harvestSync(rawInput?: SyncInput): Promise<SyncSummary> {
  const problems = validateSyncInput(rawInput, resourceNames());
  if (problems.length > 0) {
    throw ApplicationFailure.nonRetryable(`invalid harvestSync input: ${problems.join('; ')}`, 'InvalidInput');
  }
  const input: SyncInput = rawInput ?? {};
  const mode = input.mode ?? 'incremental';
  const info = workflowInfo();
  const syncId = info.workflowId;
  const startedAt = info.runStartTime;
  const selected = resolveSelection(input.resources);

  const progress = new Map<string, ResourceProgress>();
  for (const name of selected) {
    progress.set(name, {
      resource: name, state: 'pending', pages: 0, rows: 0, typeMismatches: 0,
      updatedSince: null, committedCursor: null, newestUpdatedAt: null, continuedAsNew: 0,
    });
  }
  setHandler(syncProgressQuery, () => ({ syncId, mode, startedAt: startedAt.toISOString(), resources: [...progress.values()] }));

  await storeActivities.ensureSchema();
  const state = await storeActivities.loadSyncState();

  const finished = new Map<string, Promise<boolean>>();
  const run = (name: string): Promise<boolean> => {
    let p = finished.get(name);
    if (!p) {
      p = runResource(name);
      finished.set(name, p);
    }
    return p;
  };
  const runResource = async (name: string): Promise<boolean> => {
    const spec = getResource(name);
    const depsOk = await Promise.all(spec.dependsOn.filter((d) => progress.has(d)).map(run));
    const entry = progress.get(name)!;
    if (!depsOk.every(Boolean)) {
      entry.state = 'skipped';
      entry.error = `not started: ${spec.dependsOn.filter((d) => progress.get(d)?.state !== 'done').join(', ')} failed`;
      return false;
    }
    const plan = planCursor({
      mode,
      since: input.since,
      committed: state.cursors[name],
      startDate: state.startDate,
      incremental: spec.incremental !== null,
      runStartedAt: startedAt,
    });
    entry.state = 'running';
    entry.updatedSince = plan.updatedSince;
    const childInput: ResourceSyncInput = {
      syncId,
      resource: name,
      updatedSince: plan.updatedSince,
      commitCursor: plan.commit,
      historyLimit: Math.max(20, input.historyLimit ?? 5000),
      concurrency: Math.min(16, input.concurrency ?? 4),
    };
    try {
      const result = await executeChild(syncResource, {
        workflowId: resourceWorkflowId(syncId, name),
        args: [childInput],
      });
      progress.set(name, result);
      return true;
    } catch (err) {
      entry.state = 'failed';
      entry.error = rootMessage(err);
      return false;
    }
  };
  await Promise.all(selected.map(run));

  const resources = [...progress.values()];
  const failed = resources.filter((r) => r.state === 'failed');
  if (failed.length > 0) {
    const skipped = resources.filter((r) => r.state === 'skipped').map((r) => r.resource);
    throw ApplicationFailure.nonRetryable(
      `harvest sync failed for ${failed.map((r) => `${r.resource}: ${r.error}`).join('; ')}` +
        (skipped.length ? ` (not started: ${skipped.join(', ')})` : ''),
      'SyncFailed',
      { resources },
    );
  }
  return {
    syncId,
    accountId: state.accountId,
    mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    resources,
  };
}

/** The innermost failure message (child → activity → Harvest's answer). */
function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let msg = String(e?.message ?? err);
  while (e && e.cause) {
    e = e.cause as { message?: string; cause?: unknown };
    if (e.message) msg = e.message;
  }
  return msg;
}
