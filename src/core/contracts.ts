// The names that workflows, the CLI, schedules and tests share: workflow types, workflow
// ids, query names, search attribute names. Pure (no imports with side effects): the
// workflow bundle imports it, and so does every client that talks to a running sync.
import type { ResourceProgress, SyncMode } from './types';

/** Workflow types registered by the worker (`temporal workflow start --type …`). */
export const WORKFLOW_TYPES = {
  harvestSync: 'harvestSync',
  syncAccount: 'syncAccount',
  syncResource: 'syncResource',
} as const;

/** Queries every harvest-sync workflow answers. */
export const QUERY_NAMES = {
  /** `SyncProgress` of `harvestSync` / `syncAccount`, `ResourceProgress` of `syncResource`. */
  progress: 'progress',
} as const;

/** Custom search attributes (registered in the namespace by the worker or `harvest-sync server`). */
export const SEARCH_ATTRIBUTE_NAMES = {
  accounts: 'HarvestAccounts',
  mode: 'HarvestSyncMode',
} as const;

/**
 * Workflow id of an account's sync: one per task queue (one deployment), account and
 * kind. Backfills have their own, so a long backfill does not hold up scheduled syncs;
 * they never write cursors, so the two cannot conflict.
 */
export function accountWorkflowId(taskQueue: string, accountId: string, mode: SyncMode): string {
  return `${taskQueue}/${accountId}/${mode === 'backfill' ? 'backfill' : 'sync'}`;
}

/** Workflow id of the child that syncs `resource` within the account sync `accountSyncId`. */
export function resourceWorkflowId(accountSyncId: string, resource: string): string {
  return `${accountSyncId}/${resource}`;
}

/** Id of the Temporal schedule of one account (one per task queue and account). */
export function scheduleIdFor(taskQueue: string, accountId: string): string {
  return `${taskQueue}-${accountId}`;
}

export interface AccountSyncRef {
  accountId: string;
  /** Workflow id of the account's `syncAccount` (it holds the per-resource progress). */
  workflowId: string;
  state: 'running' | 'done' | 'failed' | 'skipped' | 'cancelled';
}

/** What the `progress` query of `harvestSync` and `syncAccount` answers. */
export interface SyncProgress {
  syncId: string;
  mode: SyncMode;
  startedAt: string;
  resources: ResourceProgress[];
  /** `harvestSync`: the account syncs it started. */
  accountSyncs?: AccountSyncRef[];
}
