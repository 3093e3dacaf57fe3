// The `harvestSync` workflow: one sync of one Harvest account. It plans each resource's
// cursor, then runs the dependency graph: a resource starts as a child workflow as soon
// as every resource it depends on finished in this run; independent ones run in parallel.
import {
  ApplicationFailure,
  defineQuery,
  executeChild,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { getResource, resolveSelection, resourceNames } from '../harvest/catalog';
import { parseInterval, planCursor, validateSyncInput, type CursorPlan } from '../sync/plan';
import { FORBIDDEN_FAILURE, FULL_SYNC_MARK, type ResourceProgress, type ResourceSyncInput, type SyncInput, type SyncSummary } from '../sync/types';
import { storeActivities } from './activities';
import { syncResource } from './sync-resource';

export interface SyncProgress {
  syncId: string;
  mode: 'incremental' | 'full';
  startedAt: string;
  resources: ResourceProgress[];
  /** Several accounts: the workflow id of each account's sync (they hold the progress). */
  accountSyncs?: string[];
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
  if (input.accountId === undefined) {
    const accounts = await storeActivities.resolveAccounts();
    if (accounts.length === 0) throw ApplicationFailure.nonRetryable('the token reaches no Harvest account', 'NoAccounts');
    if (accounts.length > 1) return syncAccounts(input, accounts);
    return syncAccount({ ...input, accountId: accounts[0] });
  }
  return syncAccount({ ...input, accountId: input.accountId });
}

/** Workflow id of one account's sync within a sync of several accounts. */
export function accountWorkflowId(syncId: string, accountId: string): string {
  return `${syncId}/account-${accountId}`;
}

/** Several accounts: one child sync per account, each with its own cursors. */
async function syncAccounts(input: SyncInput, accounts: string[]): Promise<SyncSummary> {
  const info = workflowInfo();
  const mode = input.mode ?? 'incremental';
  const ids = accounts.map((a) => accountWorkflowId(info.workflowId, a));
  setHandler(syncProgressQuery, () => ({ syncId: info.workflowId, mode, startedAt: info.runStartTime.toISOString(), resources: [], accountSyncs: ids }));
  const results = await Promise.allSettled(
    accounts.map((accountId, i) => executeChild(harvestSync, { workflowId: ids[i], args: [{ ...input, accountId }] })),
  );
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`account ${accounts[i]}: ${rootMessage(r.reason)}`] : []));
  if (failed.length > 0) throw ApplicationFailure.nonRetryable(`harvest sync failed for ${failed.join('; ')}`, 'SyncFailed');
  const summaries = results.map((r) => (r as PromiseFulfilledResult<SyncSummary>).value);
  return {
    syncId: info.workflowId,
    accountId: accounts.join(','),
    mode,
    startedAt: info.runStartTime.toISOString(),
    finishedAt: new Date().toISOString(),
    resources: summaries.flatMap((s) => s.resources.map((r) => ({ ...r, resource: `${s.accountId}/${r.resource}` }))),
    accounts: summaries,
  };
}

/** One account: plan each resource's cursor, then run the dependency graph. */
async function syncAccount(input: SyncInput & { accountId: string }): Promise<SyncSummary> {
  let mode = input.mode ?? 'incremental';
  const info = workflowInfo();
  const syncId = info.workflowId;
  const startedAt = info.runStartTime;
  const accountId = input.accountId;
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
  const state = await storeActivities.loadSyncState({ accountId });
  const fullEvery = input.fullEvery ? parseInterval(input.fullEvery) : null;
  if (mode === 'incremental' && fullEvery !== null && input.since === undefined) {
    const due = state.lastFullAt === null || startedAt.getTime() - new Date(state.lastFullAt).getTime() >= fullEvery;
    if (due) {
      mode = 'full';
      log.info('periodic full reconciliation', { accountId, lastFullAt: state.lastFullAt, fullEvery: input.fullEvery });
    }
  }
  const plans = new Map<string, CursorPlan>();
  for (const name of selected) {
    plans.set(name, planCursor({
      mode,
      since: input.since,
      committed: state.cursors[name],
      startDate: state.startDate,
      incremental: getResource(name).incremental !== null,
      runStartedAt: startedAt,
    }));
  }
  // A fan-out asks only parents that may have changed when it has read before and every
  // change signal was read this run from no later than its own lower bound.
  const changedOnly = (name: string): boolean => {
    const spec = getResource(name);
    const since = mode === 'incremental' ? (input.since ?? state.cursors[name]) : undefined;
    if (!spec.parent || !spec.changeSignals || since === undefined) return false;
    return spec.changeSignals.every((sig) =>
      [sig.resource, sig.via?.resource].every((r) => {
        if (r === undefined) return true;
        const bound = plans.get(r)?.updatedSince;
        return bound === null || (bound !== undefined && bound <= new Date(since).toISOString());
      }),
    );
  };

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
      const missing = spec.dependsOn.filter((d) => progress.has(d) && progress.get(d)?.state !== 'done');
      entry.state = 'skipped';
      entry.warning = `not started: it needs ${missing.join(', ')}, which did not finish`;
      return false;
    }
    const plan = plans.get(name)!;
    const onlyChanged = changedOnly(name);
    entry.state = 'running';
    entry.updatedSince = plan.updatedSince;
    const childInput: ResourceSyncInput = {
      accountId,
      syncId,
      resource: name,
      updatedSince: plan.updatedSince,
      commitCursor: plan.commit,
      changedOnly: onlyChanged,
      // Windowed reports replace window by window instead.
      markDeletions: plan.updatedSince === null && !onlyChanged && !spec.report?.windowed,
      allWindows: mode === 'full' || state.cursors[name] === undefined,
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
      if (!input.strict && failureTypes(err).includes(FORBIDDEN_FAILURE)) {
        entry.state = 'skipped';
        entry.warning = `skipped: ${rootMessage(err)}`;
        log.warn('resource skipped: Harvest answered 403', { resource: name, message: entry.warning });
        return false;
      }
      entry.state = 'failed';
      entry.error = rootMessage(err);
      return false;
    }
  };
  await Promise.all(selected.map(run));

  const resources = [...progress.values()];
  const failed = resources.filter((r) => r.state === 'failed');
  if (failed.length > 0) {
    const skipped = resources.filter((r) => r.state === 'skipped' && r.warning?.startsWith('not started')).map((r) => r.resource);
    throw ApplicationFailure.nonRetryable(
      `harvest sync failed for ${failed.map((r) => `${r.resource}: ${r.error}`).join('; ')}` +
        (skipped.length ? ` (not started: ${skipped.join(', ')})` : ''),
      'SyncFailed',
      { resources },
    );
  }
  // A full run of every resource is the reference point of `fullEvery`.
  if (mode === 'full' && input.resources === undefined && resources.every((r) => r.state === 'done')) {
    await storeActivities.commitCursor({ accountId, resource: FULL_SYNC_MARK, cursor: startedAt.toISOString(), syncId });
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

function failureTypes(err: unknown): string[] {
  const types: string[] = [];
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string') types.push(e.type);
  }
  return types;
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
