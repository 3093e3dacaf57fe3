// Plain-JSON shapes that cross the workflow/activity boundary. Nothing here may carry a
// credential: Temporal stores every input and result in its history.
import type { ResourceSpec } from '../catalog';

/**
 * What a workflow may know of a catalog entry. Workflows never read the catalog module
 * (a release may change it while a sync runs): the account sync gets these from an
 * activity, so they are in its history, and hands each resource child its own.
 */
export type WorkflowSpec = Pick<ResourceSpec, 'name' | 'paging' | 'incremental' | 'dateRange' | 'parent' | 'changeSignals' | 'report' | 'dependsOn'> & {
  /** Reports: the key (whether its rows are per project decides what a limited token may write). */
  key?: string[];
};

/** Failure type of a 403 from Harvest: the resource is skipped unless the run is strict. */
export const FORBIDDEN_FAILURE = 'Harvest.forbidden';

export type SyncMode = 'incremental' | 'full' | 'backfill';

/** Input of the `harvestSync` workflow, as typed into `temporal workflow start --input`. */
export interface SyncInput {
  /** One account of HARVEST_ACCOUNT_ID; unset: every configured account (each its own sync). */
  accountId?: string;
  resources?: string[];
  /**
   * incremental (default): from the committed cursors. full: everything, and deletes.
   * backfill: re-read history from `since` (to `until`) without touching the cursors.
   */
  mode?: SyncMode;
  /** ISO date or timestamp: read records updated since then (instead of the committed cursor). */
  since?: string;
  /** Backfills: last day of history to re-read (time entries, expenses, invoices, estimates, reports). */
  until?: string;
  /** Fail the run when a resource answers 403 (default: skip it with a warning). */
  strict?: boolean;
  /**
   * Periodic full reconciliation, per resource ("7d", "12h", "90m"; schedules default to
   * 7d): in an incremental run, every resource whose last complete full reconciliation is
   * older than this (or that never had one) is listed in full and its deletions marked; the
   * others are read incrementally. A resource skipped (403), failed or unstable stays due.
   */
  fullEvery?: string;
  /** Advanced: event count after which a resource workflow continues as new (default 5000). */
  historyLimit?: number;
  /** Advanced: requests of one resource in flight, fixed (default: at least 8, sized by latency up to 24). */
  concurrency?: number;
  /**
   * Advanced: seconds one page or record activity may run (start-to-close, default 180).
   * A page never waits long for Harvest's budget inside its activity (docs/pacing.md).
   */
  pageTimeout?: number;
}

/**
 * Whose token this is and what it may see (`/users/me`, read at the start of each account
 * sync; the result is in history). Below Administrator, Harvest's lists answer 200 with
 * only part of the account, so absence from a listing is not deletion.
 */
export interface TokenReach {
  userId: number;
  /** Harvest's `access_roles` of the token's user (`administrator`, `manager`, `member`, …). */
  accessRoles: string[];
  role: 'administrator' | 'manager' | 'member';
  /** Below Administrator: users whose records the token sees (its own; a Manager's teammates too). */
  userIds?: number[];
  /** Managers: the projects they manage (Harvest shows their records too). */
  projectIds?: number[];
}

/**
 * Harvest's clock, read from the `Date` header of an answer: the workflow compares it with
 * its own (Temporal's) clock, which the cursors come from (see harvestClockLag).
 */
export interface HarvestClockReading {
  /** Harvest's `Date` header (ms since epoch; whole seconds). */
  harvestDateMs: number;
  /** How long before the activity returned that answer arrived (a duration: no clock offset in it). */
  ageMs: number;
}

/** readTokenReach's answer: the reach, and Harvest's clock as its first answer told it. */
export type TokenReachReading = TokenReach & { clock?: HarvestClockReading };

/** markDeleted's answer when it was given a TokenReach (older runs got a plain count). */
export interface DeletionResult {
  deleted: number;
  /** Why marking was skipped, or how it was narrowed, under a token below Administrator. */
  note?: string;
}

/** listParentIds' answer (older runs got a plain id array). */
export interface ParentChunk {
  ids: number[];
  /** Ids in this chunk asked only because their parent is still active (see `recheck` in the catalog). */
  rechecked: number;
}

export interface SyncState {
  accountId: string;
  /** Committed cursor per resource (ISO). */
  cursors: Record<string, string>;
  /** HARVEST_START_DATE, if configured (ISO). */
  startDate: string | null;
  /** Per resource: start of the run that last completed its full reconciliation (ISO). */
  fullAt: Record<string, string>;
  /**
   * Start of the last full run of every resource, as releases before per-resource marks
   * recorded it (ISO), if any: it stands for every resource without a mark of its own.
   */
  lastFullAt: string | null;
}

/** What an account sync works from (one activity result, so replay never reads the catalog). */
export interface AccountSyncPlan extends SyncState {
  /** The selected resources with their dependencies, in catalog order. */
  resources: WorkflowSpec[];
  /** Resources whose writes make report windows stale (time entries, expenses): noted when they end. */
  windowInputs?: string[];
  /** Reports the sync audits itself against (their windows are compared with the entries once read). */
  auditedReports?: string[];
  /** Per resource (time entries, expenses): date ranges to list again in full, where the last audit disagreed. */
  reread?: Record<string, Array<{ from: string; to: string }>>;
}

/**
 * Pseudo-resource of `_sync_state`: `__full_sync:<resource>` holds the start of the run that
 * last completed that resource's full reconciliation; `__full_sync` alone is the older
 * account-wide mark (a full run of every resource).
 */
export const FULL_SYNC_MARK = '__full_sync';

export interface PageRequest {
  accountId: string;
  syncId: string;
  resource: string;
  /** Reports under a token below Administrator: only the rows of projects it manages are stored. */
  reach?: TokenReach;
  /** null: the resource's first page (or page `page`), built from `updatedSince` and `parentId`. */
  url: string | null;
  /** Page number of a page-numbered list, read in parallel once the first page told the count. */
  page?: number;
  /** Windowed reports: the window this page belongs to. */
  window?: { from: string; to: string };
  parentId?: number;
  updatedSince: string | null;
  /** Dated lists: Harvest's from/to filter on the record date (YYYY-MM-DD; either side may be open). */
  range?: DateRange;
}

/** Days of a record date, both ends inclusive; an end left out is open. */
export interface DateRange {
  from?: string;
  to?: string;
}

/**
 * Dated lists: the record dates of a page. Harvest sorts these lists by that date, newest
 * first: every record of the request's range dated after `oldest` is on this page.
 */
export interface PageDates {
  newest: string;
  oldest: string;
  /** Records on the page dated after `oldest`. */
  newerThanOldest: number;
  /** The page is in Harvest's documented order (dates never increase). */
  ordered: boolean;
}

export interface PageResult {
  next: string | null;
  rows: number;
  /** HTTP requests this page took, failed attempts included, and how many were answered 429. */
  requests: number;
  rateLimited: number;
  maxUpdatedAt: string | null;
  typeMismatches: number;
  /** Page-numbered lists: `total_pages` of the envelope. */
  totalPages?: number;
  /** Page-numbered lists: `total_entries` of the envelope (a change between pages of one pass means the list shifted). */
  totalEntries?: number;
  /** The parent no longer exists in Harvest (404 on a per-parent path): nothing to read. */
  parentGone?: boolean;
  /**
   * How long the page held its lane: the activity's time less its waits for a pacing slot
   * (Harvest's latency plus storing the page). Sizes the pages in flight.
   */
  busyMs?: number;
  /** Dated lists: the dates of the page's records (absent when it has none). */
  dates?: PageDates;
  /**
   * Set when the page was not read: Harvest's budget has no slot for it soon (or Harvest
   * answered 429). The workflow waits until then (ms epoch, a durable timer) and asks
   * again; `requests`/`rateLimited` still count what was sent. Every other field is empty.
   */
  waitUntil?: number;
}

export type ResourceState = 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'cancelled';

export interface ResourceProgress {
  resource: string;
  state: ResourceState;
  pages: number;
  rows: number;
  /** Requests sent to Harvest (retries included) and the 429 answers among them. */
  requests: number;
  rateLimited: number;
  typeMismatches: number;
  /** Where the resource stands: next page, parent, report window. */
  position?: string;
  /** Pages this listing is expected to take, once its first answer told (for progress bars). */
  expectedPages?: number;
  /** Dated lists: date windows asked, rounds that listed what changed meanwhile, and paged windows read again. */
  dateWindows?: number;
  catchUpRounds?: number;
  windowsReread?: number;
  /** Most requests this resource had in flight at once. */
  mostInFlight?: number;
  /**
   * Times a page or record waited in the workflow for Harvest's budget (no slot soon, or a
   * 429), and until when the latest such wait lasts (ISO; gone once a page came after it).
   */
  pacingWaits?: number;
  waitingUntil?: string;
  /** Filled by the CLI from Temporal: the last failure of a page being retried. */
  retrying?: string;
  /** Fan-out resources: parents whose pages are all read, and parents that were gone. */
  parentsDone?: number;
  parentsGone?: number;
  /** Lower bound (`updated_since`) this run reads from; null = everything. */
  updatedSince: string | null;
  /** Cursor committed at the end, or null when this run does not move it. */
  committedCursor: string | null;
  /**
   * A finished resource's cursor, committed by the account sync once its graph ended
   * (never when the sync was cancelled).
   */
  pendingCursor?: string | null;
  newestUpdatedAt: string | null;
  continuedAsNew: number;
  /** Records marked `_deleted = 1` after a complete listing. */
  deleted?: number;
  /**
   * Page-numbered lists (see docs/listings.md): listing passes read, and passes in which
   * `total_entries` changed between pages (records created or deleted meanwhile).
   */
  passes?: number;
  shifts?: number;
  /** The listing still shifted on its last pass: no deletions marked, no cursor committed. */
  unstable?: boolean;
  /**
   * Full reconciliations of page-numbered lists: live rows this sync did not see, how many
   * Harvest confirmed alive (re-stored) or gone (marked deleted), and how many were left
   * unconfirmed (over the budget, or not readable) and stay live until a later run.
   */
  deletionCandidates?: number;
  confirmedAlive?: number;
  confirmedGone?: number;
  unconfirmed?: number;
  /**
   * This run lists the resource in full and marks what it did not see as deleted (mode
   * full, a first run, a resource without `updated_since`, or `fullEvery` found it due).
   */
  full?: boolean;
  /** The full reconciliation completed (done, listing held still): the reference point of `fullEvery`. */
  reconciled?: boolean;
  /** Fan-out resources: whether only parents that may have changed were asked. */
  changedParentsOnly?: boolean;
  /** Incremental fan-outs: parents asked again only because they are still active (within the catalog's budget). */
  recheckedParents?: number;
  error?: string;
  /** Why a resource was skipped without failing the run (403). */
  warning?: string;
}

export interface ResourceSyncInput {
  accountId: string;
  syncId: string;
  resource: string;
  /** The resource's catalog entry as the account sync planned it (from its history). */
  spec: WorkflowSpec;
  updatedSince: string | null;
  commitCursor: string | null;
  /** Fan-out: ask only the parents the change signals name for this sync. */
  changedOnly: boolean;
  /** The listing is complete (everything, all parents): mark what it did not see as deleted. */
  markDeletions: boolean;
  /** Windowed reports: re-read every window (full and first runs), not just changed ones. */
  allWindows: boolean;
  /** Backfills: date range of date-ranged lists and report windows. */
  range?: DateRange;
  /**
   * Date-ranged lists: ranges to list in full (from/to, without updated_since) besides the
   * normal listing: the windows whose report disagreed with the synced entries.
   */
  reread?: DateRange[];
  /** When the account sync began (ISO): rows another sync wrote after it are not its deletions. */
  runStartedAt: string;
  /** How far Harvest's clock is behind Temporal's (ms, at least 0): what changed meanwhile is read back that much further. */
  harvestLagMs?: number;
  /** Set when the token is below Administrator: deletion marking is narrowed to what it sees, or skipped. */
  reach?: TokenReach;
  historyLimit: number;
  /** Start-to-close timeout (seconds) of the page and record activities (default 180). */
  pageTimeout?: number;
  /** Requests in flight of this resource (the fixed number, or the least when `inFlight` is set). */
  concurrency: number;
  /**
   * Set when the sync was not given a fixed concurrency: the requests in flight follow the
   * budget's rate × how long a page holds its lane, between `concurrency` and `max`.
   */
  inFlight?: { max: number; requestsPerSecond: number };
  /** Page-numbered lists: passes read at most while the list keeps shifting (default 3). */
  listingPasses?: number;
  /** Full reconciliations of page-numbered lists: deletion candidates confirmed one by one at most (default 500). */
  confirmBudget?: number;
  /** Carried across continue-as-new. */
  carry?: ResourceCarry;
}

export interface ResourceCarry {
  progress: ResourceProgress;
  /** A top-level listing that follows links.next: where it stands. */
  listing?: ListingState;
  /** Dated lists: the date windows still to read. */
  dated?: DatedState;
  /** Fan-outs: parents up to this id are done. */
  afterParentId?: number;
  /** Windowed reports: windows still to read. */
  windows?: Array<{ from: string; to: string }>;
  /** A listing ended unstable: the resource marks nothing and commits nothing. */
  unstable?: boolean;
  /** Moving average of the pages' `busyMs` (sizes the requests in flight). */
  busyMs?: number;
  /** The `reread` range being listed (index), once the normal listing ended. */
}

/** One listing that follows links.next, in passes while its `total_entries` changes. */
export interface ListingState {
  /** The next link; null before the first page. */
  next: string | null;
  pass: number;
  /** `total_entries` of the pass's first page. */
  total?: number;
  shifted: boolean;
  /** Pages read in this pass (a links.next that never ends is a Harvest defect). */
  pages: number;
  /** `total_pages` of the pass's first page. */
  totalPages?: number;
}

/** A range of record dates, asked as one request, and what is known of it. */
export interface DateWindow {
  from?: string;
  to?: string;
  /** Records in it, when an earlier answer told. */
  count?: number;
  /** Records per day seen next to it (sizes its pieces). */
  perDay?: number;
  /** Its own `updated_since` (null: every record of its dates), else the round's. */
  since?: string | null;
  /** Read as snapshots only, never by page number (a paged window an edit disturbed). */
  chain?: true;
  /** The page before it was a whole page of one day. */
  crowded?: true;
}

/** A window of a dense dated list read by page number, then checked (src/sync/date-windows.ts). */
export interface PagedWindow {
  id: number;
  from?: string;
  to?: string;
  /** `updated_since` of its requests (null: every record of its dates). */
  since: string | null;
  /** The next page to ask (1: not started). */
  nextPage: number;
  /** Pages answered. */
  answered: number;
  /** `total_pages` and `total_entries` of its first page. */
  totalPages?: number;
  total?: number;
  /** A later page told another total: read again. */
  shifted: boolean;
  /** When its first page was asked (workflow time, ISO): edits from then on may have disturbed it. */
  readAt: string;
}

/**
 * A dated listing in date windows (src/sync/date-windows.ts, docs/listings.md). Round 0 is
 * the listing itself; each later round lists what was updated since the previous began.
 */
export interface DatedState {
  /** Snapshot windows to ask. */
  queue: DateWindow[];
  /** Paged windows being read. */
  paged: PagedWindow[];
  /** Paged windows read in this round, checked once the next round's listing is stored. */
  read: PagedWindow[];
  /** Paged windows of the previous round to check now. */
  toCheck: PagedWindow[];
  nextPaged: number;
  round: number;
  /** `updated_since` of this round's requests. */
  since: string | null;
  /** When this round began (workflow time, ISO). */
  roundStartedAt: string;
  /** Snapshot answers in this round: one is a snapshot of the whole listing. */
  answers: number;
  /** Harvest's page size, as full pages tell. */
  pageSize: number;
  /** Paged windows whose total changed while read. */
  shifted?: number;
}

/** One deletion candidate confirmed with Harvest (`GET /<resource>/{id}`). */
export interface RecordCheck {
  /** alive: Harvest has it (and it was stored); gone: 404; unknown: not readable now (403, …). */
  state: 'alive' | 'gone' | 'unknown';
  requests: number;
  rateLimited: number;
  /**
   * Set when the record was not asked (state `unknown`): Harvest's budget has no slot for it
   * soon, or Harvest answered 429. The workflow waits until then (ms epoch) and asks again.
   */
  waitUntil?: number;
}

/** Live rows of a resource a full listing did not see (ids as strings: UInt64). */
export interface DeletionCandidates {
  total: number;
  ids: string[];
  /** Under a token below Administrator: how the candidates were narrowed, or why there are none. */
  note?: string;
}

/** What started a sync: a Temporal schedule, or a person/script (CLI, `temporal workflow start`, UI). */
export interface SyncOrigin {
  workflowId: string;
  runId: string;
  trigger: 'schedule' | 'manual';
  scheduleId: string;
}

/** Input of one account's sync (`syncAccount`, started by `harvestSync`). */
export interface AccountSyncInput extends SyncInput {
  accountId: string;
  origin: SyncOrigin;
  /** The namespace has harvest-sync's search attributes (the worker registered them). */
  searchAttributes?: boolean;
}

export type SyncStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** One row of the `_sync_runs` log. */
export interface SyncRunRecord {
  accountId: string;
  runId: string;
  workflowId: string;
  mode: SyncMode;
  trigger: 'schedule' | 'manual';
  scheduleId: string;
  startedAt: string;
  finishedAt: string | null;
  status: SyncStatus;
  error: string;
  resources: ResourceProgress[];
  /** The token's user and access roles (`/users/me`), once read. */
  token?: Pick<TokenReach, 'userId' | 'accessRoles' | 'role'>;
}

export interface SyncSummary {
  syncId: string;
  accountId: string;
  mode: SyncMode;
  status?: SyncStatus;
  /** Skipped: another sync of the account (this workflow id) was running. */
  skippedBecause?: string;
  startedAt: string;
  finishedAt: string;
  resources: ResourceProgress[];
  /** The token's user and access roles (`/users/me`). */
  token?: Pick<TokenReach, 'userId' | 'accessRoles' | 'role'>;
  /**
   * `fullEvery` found resources due: those listed in full this run, and those of them whose
   * reconciliation completed (the others stay due for the next run).
   */
  fullEvery?: FullEveryOutcome;
  /** Report windows this run read whose totals disagree with the synced entries (see AuditOutcome). */
  audit?: AuditOutcome;
  /**
   * Several accounts: one short summary per account (its totals; `resources` is then
   * empty, so the result stays small whatever the number of accounts). Each account's
   * per-resource progress is the result of its own `syncAccount` run (`workflowId`, `runId`).
   */
  accounts?: AccountSummary[];
  /** Totals over every resource. */
  totals?: SyncTotals;
}

/**
 * The sync's audit of the report windows it read (report_time_projects and
 * report_expenses_projects against the synced entries): the windows whose totals
 * disagree, their entries re-read by the next run; `flagged` once they disagreed twice in a row.
 */
export interface AuditOutcome {
  disagreeing: Array<{ report: string; from: string; to: string; projects: number; flagged: boolean }>;
}

export interface FullEveryOutcome {
  due: string[];
  reconciled: string[];
}

export interface SyncTotals {
  rows: number;
  pages: number;
  requests: number;
  rateLimited: number;
  deleted: number;
  /** Resources that failed or were skipped. */
  failed: string[];
  skipped: string[];
}

export interface AccountSummary {
  accountId: string;
  status: SyncStatus;
  skippedBecause?: string;
  error?: string;
  /** The account's `syncAccount` run, whose result holds the per-resource progress. */
  workflowId: string;
  runId?: string;
  totals: SyncTotals;
  /** The token's user and access roles (`/users/me`). */
  token?: Pick<TokenReach, 'userId' | 'accessRoles' | 'role'>;
}
