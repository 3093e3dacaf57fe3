// The `harvestSync` workflow: one sync of one or several Harvest accounts, as started by a
// schedule, the CLI or the UI. Each account is synced by a `syncAccount` child
// (sync-account.ts) whose workflow id is fixed per account and kind (regular or backfill):
// Temporal allows one running workflow per id, so two regular syncs of an account never
// overlap; a sync that finds its account busy skips it, visibly.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  isCancellation,
  log,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { accountWorkflowId, type AccountSyncRef } from '../core/contracts';
import { validateSyncInput } from '../core/plan';
import { ACCOUNTS_ATTRIBUTE, MODE_ATTRIBUTE } from '../core/search-attributes';
import { rootMessage } from '../core/failures';
import { totalsOf } from '../core/summary';
import type { AccountSummary, AccountSyncInput, AuditOutcome, FullEveryOutcome, SyncInput, SyncMode, SyncOrigin, SyncSummary } from '../core/types';
import { controlActivities } from './proxies';
import { syncAccount, syncProgressQuery } from './sync-account';

export { accountWorkflowId, resourceWorkflowId, type AccountSyncRef, type SyncProgress } from '../core/contracts';
export { syncAccount, syncProgressQuery } from './sync-account';

export async function harvestSync(rawInput?: SyncInput): Promise<SyncSummary> {
  // The shape first (no activity needed); resource names once the worker told which exist.
  invalidIf(validateSyncInput(rawInput));
  const input: SyncInput = rawInput ?? {};
  const info = workflowInfo();
  const mode = input.mode ?? 'incremental';
  const startedAt = info.runStartTime.toISOString();
  const refs: AccountSyncRef[] = [];
  setHandler(syncProgressQuery, () => ({ syncId: info.workflowId, mode, startedAt, resources: [], accountSyncs: refs }));

  const { searchAttributes, resourceNames, taskQueue } = await controlActivities.ensureSchema();
  invalidIf(validateSyncInput(input, resourceNames));
  const accounts = input.accountId !== undefined ? [input.accountId] : await controlActivities.resolveAccounts();
  if (accounts.length === 0) throw ApplicationFailure.nonRetryable('the token reaches no Harvest account', 'NoAccounts');
  upsertMemo({ accounts, mode, resources: input.resources ?? 'all', ...(input.since ? { since: input.since } : {}), ...(input.until ? { until: input.until } : {}) });
  if (searchAttributes) upsertSearchAttributes([{ key: ACCOUNTS_ATTRIBUTE, value: accounts }, { key: MODE_ATTRIBUTE, value: mode }]);
  const scheduledBy = (info.searchAttributes?.TemporalScheduledById as string[] | undefined)?.[0];
  const origin: SyncOrigin = { workflowId: info.workflowId, runId: info.runId, trigger: scheduledBy ? 'schedule' : 'manual', scheduleId: scheduledBy ?? '' };

  for (const accountId of accounts) refs.push({ accountId, workflowId: accountWorkflowId(taskQueue, accountId, mode), state: 'running' });
  const memo = accountMemo(accounts.length);
  const results = await Promise.allSettled(refs.map((ref) => syncOneAccount(ref, { ...input, accountId: ref.accountId, origin, searchAttributes }, mode, startedAt, memo)));
  // A cancelled sync ends as cancelled, not as failed (each account logged `cancelled`).
  const cancelled = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && isCancellation(r.reason));
  if (cancelled && CancellationScope.current().consideredCancelled) throw cancelled.reason;
  if (accounts.length === 1) {
    const only = results[0];
    if (only.status === 'fulfilled') return only.value.summary;
    // The account sync's own failure (message, type, per-resource details) is the run's.
    const err = only.reason as Error;
    throw err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
  }
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`account ${accounts[i]}: ${rootMessage(r.reason)}`] : []));
  if (failed.length > 0) throw ApplicationFailure.nonRetryable(`harvest sync failed for ${failed.join('; ')}`, 'SyncFailed');
  const outcomes = results.map((r, i) => accountLine((r as PromiseFulfilledResult<AccountResult>).value, refs[i]));
  return {
    syncId: info.workflowId,
    accountId: accounts.join(','),
    mode,
    status: outcomes.every((s) => s.status === 'skipped') ? 'skipped' : 'succeeded',
    startedAt,
    finishedAt: new Date().toISOString(),
    resources: [],
    accounts: outcomes,
  };
}

function invalidIf(problems: string[]): void {
  if (problems.length > 0) throw ApplicationFailure.nonRetryable(`invalid harvestSync input: ${problems.join('; ')}`, 'InvalidInput');
}

interface AccountResult {
  summary: SyncSummary;
  runId?: string;
}

/** One account's sync as a child; a busy account (its workflow id taken) is skipped. */
async function syncOneAccount(ref: AccountSyncRef, input: AccountSyncInput, mode: SyncMode, startedAt: string, memo: (accountId: string, summary: SyncSummary) => void): Promise<AccountResult> {
  try {
    const child = await startChild(syncAccount, { workflowId: ref.workflowId, args: [input] });
    const summary = await child.result();
    ref.state = 'done';
    memo(ref.accountId, summary);
    return { summary, runId: child.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      ref.state = 'skipped';
      return { summary: await skipAccount(ref, mode, input.origin, startedAt) };
    }
    ref.state = isCancellation(err) ? 'cancelled' : 'failed';
    throw err;
  }
}

/**
 * What `harvest-sync status` shows of each account, kept in the memo as accounts finish:
 * whose token synced it, which resources `fullEvery` reconciled and which stay due (a run
 * of one account shows the mode it ran in), which report windows disagree with the entries.
 */
function accountMemo(accounts: number): (accountId: string, summary: SyncSummary) => void {
  const tokens: Record<string, NonNullable<SyncSummary['token']>> = {};
  const fullEvery: Record<string, FullEveryOutcome> = {};
  const audit: Record<string, AuditOutcome> = {};
  return (accountId, summary) => {
    if (summary.token) {
      tokens[accountId] = summary.token;
      upsertMemo({ tokens });
    }
    if (summary.fullEvery) {
      fullEvery[accountId] = summary.fullEvery;
      upsertMemo({ fullEvery, ...(accounts === 1 ? { mode: summary.mode } : {}) });
    }
    if (summary.audit) {
      audit[accountId] = summary.audit;
      upsertMemo({ audit });
    }
  };
}

/** One short line per account: the per-resource progress stays in each account's own result. */
function accountLine({ summary, runId }: AccountResult, ref: AccountSyncRef): AccountSummary {
  return {
    accountId: summary.accountId,
    status: summary.status ?? 'succeeded',
    ...(summary.skippedBecause ? { skippedBecause: summary.skippedBecause } : {}),
    workflowId: ref.workflowId,
    ...(runId ? { runId } : {}),
    totals: summary.totals ?? totalsOf(summary.resources),
    ...(summary.token ? { token: summary.token } : {}),
  };
}

/** Another sync of the account holds its workflow id: this one does nothing, visibly. */
async function skipAccount(ref: AccountSyncRef, mode: SyncMode, origin: SyncOrigin, startedAt: string): Promise<SyncSummary> {
  const reason = `another ${mode === 'backfill' ? 'backfill' : 'sync'} of account ${ref.accountId} is running (workflow ${ref.workflowId})`;
  log.warn('account skipped: already being synced', { accountId: ref.accountId, workflowId: ref.workflowId });
  const finishedAt = new Date().toISOString();
  await controlActivities.recordRun({
    accountId: ref.accountId, runId: `${origin.runId}/${ref.accountId}`, workflowId: origin.workflowId, mode,
    trigger: origin.trigger, scheduleId: origin.scheduleId, startedAt, finishedAt, status: 'skipped', error: reason, resources: [],
  });
  return { syncId: origin.workflowId, accountId: ref.accountId, mode, status: 'skipped', skippedBecause: reason, startedAt, finishedAt, resources: [], totals: totalsOf([]) };
}
