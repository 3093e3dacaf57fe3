// The `harvestSync` workflow: one sync of one or several Harvest accounts. Each account
// is synced by a `syncAccount` child whose workflow id is fixed per account and kind
// (regular or backfill): Temporal allows one running workflow per id, so two regular
// syncs of an account never overlap, whatever started them (schedule, CLI, UI). A
// `syncAccount` plans each resource's cursor, then runs the dependency graph: a resource
// starts as a child workflow as soon as every resource it depends on finished in this
// run; independent ones run in parallel.
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  defineQuery,
  executeChild,
  log,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { getResource, resolveSelection, resourceNames } from '../harvest/catalog';
import { parseInterval, planCursor, validateSyncInput, type CursorPlan } from '../sync/plan';
import { ACCOUNTS_ATTRIBUTE, MODE_ATTRIBUTE } from '../sync/search-attributes';
import { rootMessage } from '../sync/failures';
import {
  FORBIDDEN_FAILURE,
  FULL_SYNC_MARK,
  type AccountSyncInput,
  type ResourceProgress,
  type ResourceSyncInput,
  type SyncInput,
  type SyncMode,
  type SyncOrigin,
  type SyncRunRecord,
  type SyncSummary,
} from '../sync/types';
import { storeActivities } from './activities';
import { syncResource } from './sync-resource';
export interface AccountSyncRef {
  accountId: string;
  /** Workflow id of the account's `syncAccount` (it holds the per-resource progress). */
  workflowId: string;
  state: 'running' | 'done' | 'failed' | 'skipped';
}

export interface SyncProgress {
  syncId: string;
  mode: SyncMode;
  startedAt: string;
  resources: ResourceProgress[];
  /** `harvestSync`: the account syncs it started. */
  accountSyncs?: AccountSyncRef[];
}

export const syncProgressQuery = defineQuery<SyncProgress>('progress');

/** Id of the child workflow that syncs `resource` within account sync `syncId` (the CLI queries it). */
export function resourceWorkflowId(syncId: string, resource: string): string {
  return `${syncId}/${resource}`;
}

/**
 * Workflow id of an account's sync: one per task queue (one deployment), account and
 * kind. Backfills have their own, so a long backfill does not hold up scheduled syncs;
 * they never write cursors, so the two cannot conflict.
 */
export function accountWorkflowId(taskQueue: string, accountId: string, mode: SyncMode): string {
  return `${taskQueue}/${accountId}/${mode === 'backfill' ? 'backfill' : 'sync'}`;
}

export async function harvestSync(rawInput?: SyncInput): Promise<SyncSummary> {
  const problems = validateSyncInput(rawInput, resourceNames());
  if (problems.length > 0) {
    throw ApplicationFailure.nonRetryable(`invalid harvestSync input: ${problems.join('; ')}`, 'InvalidInput');
  }
  const input: SyncInput = rawInput ?? {};
  const info = workflowInfo();
  const mode = input.mode ?? 'incremental';
  const startedAt = info.runStartTime.toISOString();
  const refs: AccountSyncRef[] = [];
  setHandler(syncProgressQuery, () => ({ syncId: info.workflowId, mode, startedAt, resources: [], accountSyncs: refs }));

  const { searchAttributes } = await storeActivities.ensureSchema();
  const accounts = input.accountId !== undefined ? [input.accountId] : await storeActivities.resolveAccounts();
  if (accounts.length === 0) throw ApplicationFailure.nonRetryable('the token reaches no Harvest account', 'NoAccounts');
  upsertMemo({ accounts, mode, resources: input.resources ?? 'all', ...(input.since ? { since: input.since } : {}), ...(input.until ? { until: input.until } : {}) });
  if (searchAttributes) upsertSearchAttributes([{ key: ACCOUNTS_ATTRIBUTE, value: accounts }, { key: MODE_ATTRIBUTE, value: mode }]);
  const scheduledBy = (info.searchAttributes?.TemporalScheduledById as string[] | undefined)?.[0];
  const origin: SyncOrigin = { workflowId: info.workflowId, runId: info.runId, trigger: scheduledBy ? 'schedule' : 'manual', scheduleId: scheduledBy ?? '' };

  for (const accountId of accounts) refs.push({ accountId, workflowId: accountWorkflowId(info.taskQueue, accountId, mode), state: 'running' });
  const results = await Promise.allSettled(
    refs.map(async (ref): Promise<SyncSummary> => {
      try {
        const summary = await executeChild(syncAccount, {
          workflowId: ref.workflowId,
          args: [{ ...input, accountId: ref.accountId, origin, searchAttributes }],
        });
        ref.state = 'done';
        return summary;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          ref.state = 'skipped';
          return skipAccount(ref, mode, origin, startedAt);
        }
        ref.state = 'failed';
        throw err;
      }
    }),
  );
  if (accounts.length === 1) {
    const only = results[0];
    if (only.status === 'fulfilled') return only.value;
    // The account sync's own failure (message, type, per-resource details) is the run's.
    const err = only.reason as Error;
    throw err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
  }
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`account ${accounts[i]}: ${rootMessage(r.reason)}`] : []));
  if (failed.length > 0) throw ApplicationFailure.nonRetryable(`harvest sync failed for ${failed.join('; ')}`, 'SyncFailed');
  const summaries = results.map((r) => (r as PromiseFulfilledResult<SyncSummary>).value);
  return {
    syncId: info.workflowId,
    accountId: accounts.join(','),
    mode,
    status: summaries.every((s) => s.status === 'skipped') ? 'skipped' : 'succeeded',
    startedAt,
    finishedAt: new Date().toISOString(),
    resources: summaries.flatMap((s) => s.resources.map((r) => ({ ...r, resource: `${s.accountId}/${r.resource}` }))),
    accounts: summaries,
  };
}

/** Another sync of the account holds its workflow id: this one does nothing, visibly. */
async function skipAccount(ref: AccountSyncRef, mode: SyncMode, origin: SyncOrigin, startedAt: string): Promise<SyncSummary> {
  const reason = `another ${mode === 'backfill' ? 'backfill' : 'sync'} of account ${ref.accountId} is running (workflow ${ref.workflowId})`;
  log.warn('account skipped: already being synced', { accountId: ref.accountId, workflowId: ref.workflowId });
  const finishedAt = new Date().toISOString();
  await storeActivities.recordRun({
    accountId: ref.accountId, runId: `${origin.runId}/${ref.accountId}`, workflowId: origin.workflowId, mode,
    trigger: origin.trigger, scheduleId: origin.scheduleId, startedAt, finishedAt, status: 'skipped', error: reason, resources: [],
  });
  return { syncId: origin.workflowId, accountId: ref.accountId, mode, status: 'skipped', skippedBecause: reason, startedAt, finishedAt, resources: [] };
}

/** One account: plan each resource's cursor, then run the dependency graph. */
export async function syncAccount(input: AccountSyncInput): Promise<SyncSummary> {
  let mode = input.mode ?? 'incremental';
  const info = workflowInfo();
  const laneId = info.workflowId;
  // What this run writes is tagged with it (`_sync_id`, `_sync_runs.run_id`): unique per run.
  const syncId = `${laneId}@${info.runId}`;
  const startedAt = info.runStartTime;
  const accountId = input.accountId;
  const selected = resolveSelection(input.resources);

  const progress = new Map<string, ResourceProgress>();
  for (const name of selected) {
    progress.set(name, {
      resource: name, state: 'pending', pages: 0, rows: 0, requests: 0, rateLimited: 0, typeMismatches: 0,
      updatedSince: null, committedCursor: null, newestUpdatedAt: null, continuedAsNew: 0,
    });
  }
  setHandler(syncProgressQuery, () => ({ syncId: laneId, mode, startedAt: startedAt.toISOString(), resources: [...progress.values()] }));
  upsertMemo({ accountId, mode, startedBy: input.origin.workflowId, trigger: input.origin.trigger });
  if (input.searchAttributes) upsertSearchAttributes([{ key: ACCOUNTS_ATTRIBUTE, value: [accountId] }, { key: MODE_ATTRIBUTE, value: mode }]);

  const record = (status: SyncRunRecord['status'], error = ''): Promise<void> =>
    storeActivities.recordRun({
      accountId, runId: syncId, workflowId: input.origin.workflowId, mode, trigger: input.origin.trigger, scheduleId: input.origin.scheduleId,
      startedAt: startedAt.toISOString(), finishedAt: status === 'running' ? null : new Date().toISOString(), status, error, resources: [...progress.values()],
    });
  await record('running');
  try {
    const summary = await runGraph();
    await record('succeeded');
    return summary;
  } catch (err) {
    // The failure is the run's result too: charted and alerted on next to the data.
    await record('failed', rootMessage(err));
    throw err;
  }

  async function runGraph(): Promise<SyncSummary> {
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
      const spec = getResource(name);
      plans.set(name, planCursor({
        mode,
        since: input.since,
        until: input.until,
        committed: state.cursors[name],
        startDate: state.startDate,
        incremental: spec.incremental !== null,
        dateRanged: spec.dateRange !== undefined,
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
    const backfillRange = mode === 'backfill' ? { from: new Date(input.since!).toISOString().slice(0, 10), ...(input.until ? { to: input.until.slice(0, 10) } : {}) } : undefined;

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
      const range = plan.range ?? (spec.report?.windowed ? backfillRange : undefined);
      const childInput: ResourceSyncInput = {
        accountId,
        syncId,
        resource: name,
        updatedSince: plan.updatedSince,
        commitCursor: plan.commit,
        changedOnly: onlyChanged,
        // Windowed reports replace window by window instead; a backfill lists only part of history.
        markDeletions: mode !== 'backfill' && plan.updatedSince === null && !onlyChanged && !spec.report?.windowed,
        allWindows: mode === 'full' || state.cursors[name] === undefined,
        ...(range ? { range } : {}),
        runStartedAt: startedAt.toISOString(),
        historyLimit: Math.max(20, input.historyLimit ?? 5000),
        // Pages in flight per resource: with window pacing a fresh window is spent at once.
        concurrency: Math.min(16, input.concurrency ?? (patched('pages-in-flight-8') ? 8 : 4)),
      };
      try {
        const result = await executeChild(syncResource, {
          workflowId: resourceWorkflowId(laneId, name),
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
      syncId: laneId,
      accountId: state.accountId,
      mode,
      status: 'succeeded',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      resources,
    };
  }
}

function failureTypes(err: unknown): string[] {
  const types: string[] = [];
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string') types.push(e.type);
  }
  return types;
}
