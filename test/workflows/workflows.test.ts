// The real workflows (harvestSync → syncAccount → syncResource children) on the test run's
// Temporal dev server, with a mocked activities object: no Harvest, no ClickHouse. Each
// mock records its calls, so the tests assert both on the result and on what the workflows
// asked for. (TestWorkflowEnvironment.createTimeSkipping() downloads a test server this
// machine cannot reach, so the local dev server of test/support/harness.ts runs them.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { temporalEnv, unique, workflowBundle } from '../support/harness';
import type { Activities } from '../../src/activities';
import { reportsTaskQueue, type ReportWindow } from '../../src/core/windows';
import { datesOf } from '../../src/core/date-windows';
import {
  FORBIDDEN_FAILURE,
  FULL_SYNC_MARK,
  type AccountSyncPlan,
  type PageRequest,
  type PageResult,
  type ResourceProgress,
  type SyncInput,
  type SyncRunRecord,
  type SyncSummary,
  type TokenReach,
  type WorkflowSpec,
} from '../../src/core/types';
import { fullMark, readSyncState } from '../../src/core/plan';

const ACCOUNT = '424242';
const ROWS_PER_PAGE = 7;

/** A top-level, link-paged resource (no parent, no report: only fetchPage is asked). */
function spec(name: string, dependsOn: string[] = [], incremental: WorkflowSpec['incremental'] = 'updated_since'): WorkflowSpec {
  return { name, paging: 'cursor', incremental, dependsOn };
}

interface MockOptions {
  resources: WorkflowSpec[];
  /** Pages per resource (default 1): page k links to page k+1 until the last. */
  pages?: Record<string, number>;
  /** Page-numbered resources: total pages told by page 1 (each page links to the next). */
  numbered?: Record<string, number>;
  /** Dated resources: records in it, one every third day (answers honour from/to and page, each held 30 ms). */
  dated?: Record<string, number>;
  /** Page-numbered resources whose total changes on every page (the listing never holds still). */
  shifting?: string[];
  /** Fan-outs: the parent ids listParentIds answers. */
  parents?: Record<string, number[]>;
  /** Resources whose last page links back to page 2. */
  loop?: string[];
  /** A resource whose every page fails with this. */
  fail?: Record<string, () => Error>;
  cursors?: Record<string, string>;
  lastFullAt?: string | null;
  /**
   * `_sync_state` as rows (resource → cursor), kept across runs: the plan reads it (through
   * the real readSyncState) and commitCursors writes into it. Overrides cursors/lastFullAt.
   */
  state?: Record<string, string>;
  /** The token's reach (default an Administrator's). */
  reach?: TokenReach;
  /** Windowed reports: the windows reportWindows answers, pages per window, and one whose total changes on every page. */
  windows?: { list: ReportWindow[]; pages: number; shifting?: string };
  /** How far Harvest's clock is behind this machine's, as its `Date` header tells (none: no header). */
  harvestBehindMs?: number;
}

interface Calls {
  fetchPage: PageRequest[];
  markDeleted: Array<{ resource: string; syncId: string }>;
  commitCursors: Array<{ accountId: string; cursors: Array<{ resource: string; cursor: string }>; checkedParents?: Array<{ resource: string; changedOnly: boolean }> }>;
  recordRun: SyncRunRecord[];
  planAccountSync: unknown[];
  replaceWindow: string[];
  /** Most report windows with a page request in flight at once. */
  mostWindowsInFlight: number;
  /** Page-numbered resources: most pages in flight at once. */
  mostInFlight: Record<string, number>;
  listParentIds: Array<{ resource: string; afterId: number; changedIn?: string }>;
  other: string[];
}

const pageOf = (url: string | null): number => (url === null ? 1 : Number(new URL(url).searchParams.get('page')));
const updatedAtOf = (page: number): string => new Date(Date.UTC(2026, 0, 1, 0, page)).toISOString();

function mockActivities(opts: MockOptions): { activities: Partial<Activities>; calls: Calls } {
  const calls: Calls = { fetchPage: [], markDeleted: [], commitCursors: [], recordRun: [], planAccountSync: [], replaceWindow: [], mostWindowsInFlight: 0, mostInFlight: {}, listParentIds: [], other: [] };
  const windowsInFlight = new Map<string, number>();
  const inFlight = new Map<string, number>();
  let shiftingTotal = 0;
  const unexpected = (name: string) => async (): Promise<never> => {
    calls.other.push(name);
    throw ApplicationFailure.nonRetryable(`mock: ${name} was not expected`, 'MockUnexpected');
  };
  const activities = {
    async ensureSchema() {
      // The task queue names the account lanes: each test's own, so tests run side by side.
      return { searchAttributes: false, resourceNames: opts.resources.map((r) => r.name), taskQueue: Context.current().info.taskQueue };
    },
    async resolveAccounts() {
      return [ACCOUNT];
    },
    async planAccountSync(req: { accountId: string; resources?: string[] }): Promise<AccountSyncPlan> {
      calls.planAccountSync.push(req);
      if (opts.state) {
        const names = resolve(opts.resources, req.resources);
        const { cursors, fullAt, lastFullAt } = readSyncState(opts.state);
        return { accountId: req.accountId, cursors, startDate: null, fullAt, lastFullAt, resources: opts.resources.filter((r) => names.has(r.name)) };
      }
      return { accountId: req.accountId, cursors: opts.cursors ?? {}, startDate: null, fullAt: {}, lastFullAt: opts.lastFullAt ?? null, resources: opts.resources };
    },
    async recordRun(run: SyncRunRecord) {
      calls.recordRun.push(run);
    },
    async readTokenReach(): Promise<TokenReach & { clock?: { harvestDateMs: number; ageMs: number } }> {
      const reach = opts.reach ?? { userId: 1, accessRoles: ['administrator'], role: 'administrator' as const };
      if (opts.harvestBehindMs === undefined) return reach;
      // Harvest answered 30 ms before the activity returned; its header keeps whole seconds.
      return { ...reach, clock: { harvestDateMs: Math.floor((Date.now() - 30 - opts.harvestBehindMs) / 1000) * 1000, ageMs: 30 } };
    },
    async fetchPage(req: PageRequest): Promise<PageResult> {
      calls.fetchPage.push(req);
      const failure = opts.fail?.[req.resource];
      if (failure) throw failure();
      const n = pageOf(req.url);
      if (req.window && opts.windows) {
        const from = req.window.from;
        windowsInFlight.set(from, (windowsInFlight.get(from) ?? 0) + 1);
        calls.mostWindowsInFlight = Math.max(calls.mostWindowsInFlight, windowsInFlight.size);
        await new Promise((r) => setTimeout(r, 40));
        const left = windowsInFlight.get(from)! - 1;
        if (left === 0) windowsInFlight.delete(from);
        else windowsInFlight.set(from, left);
        const last = opts.windows.pages;
        return {
          next: n < last ? `https://harvest.mock/v2/reports?page=${n + 1}` : null,
          rows: ROWS_PER_PAGE,
          requests: 1,
          rateLimited: 0,
          maxUpdatedAt: null,
          typeMismatches: 0,
          totalPages: last,
          totalEntries: from === opts.windows.shifting ? ++shiftingTotal : last * ROWS_PER_PAGE,
        };
      }
      const dated = opts.dated?.[req.resource];
      if (dated !== undefined) {
        // One record every third day back from 2026-11-30, newest first, as Harvest sorts them.
        const dates = Array.from({ length: dated }, (_, i) => new Date(Date.UTC(2026, 10, 30) - i * 3 * 86_400_000).toISOString().slice(0, 10))
          .filter((d) => (!req.range?.from || d >= req.range.from) && (!req.range?.to || d <= req.range.to));
        const page = req.page ?? 1;
        inFlight.set(req.resource, (inFlight.get(req.resource) ?? 0) + 1);
        calls.mostInFlight[req.resource] = Math.max(calls.mostInFlight[req.resource] ?? 0, inFlight.get(req.resource)!);
        await new Promise((r) => setTimeout(r, 30));
        inFlight.set(req.resource, inFlight.get(req.resource)! - 1);
        const items = dates.slice((page - 1) * ROWS_PER_PAGE, page * ROWS_PER_PAGE).map((spent_date) => ({ spent_date }));
        const totalPages = Math.max(1, Math.ceil(dates.length / ROWS_PER_PAGE));
        return { next: null, rows: items.length, requests: 1, rateLimited: 0, maxUpdatedAt: updatedAtOf(page), typeMismatches: 0, totalPages, totalEntries: dates.length, ...datesOf(items, 'spent_date') };
      }
      const numbered = opts.numbered?.[req.resource];
      if (numbered !== undefined) {
        // Harvest's page-numbered lists also link each page to the next.
        const page = req.page ?? (req.url === null ? 1 : pageOf(req.url));
        inFlight.set(req.resource, (inFlight.get(req.resource) ?? 0) + 1);
        calls.mostInFlight[req.resource] = Math.max(calls.mostInFlight[req.resource] ?? 0, inFlight.get(req.resource)!);
        await new Promise((r) => setTimeout(r, 30));
        inFlight.set(req.resource, inFlight.get(req.resource)! - 1);
        const totalEntries = opts.shifting?.includes(req.resource) ? ++shiftingTotal : numbered * ROWS_PER_PAGE;
        const next = page < numbered ? `https://harvest.mock/v2/${req.resource}?page=${page + 1}` : null;
        return { next, rows: ROWS_PER_PAGE, requests: 1, rateLimited: 0, maxUpdatedAt: updatedAtOf(page), typeMismatches: 0, totalPages: numbered, totalEntries };
      }
      const total = opts.pages?.[req.resource] ?? 1;
      // A resource whose last page links back to page 2: a links.next that never ends.
      const next = n < total ? n + 1 : opts.loop?.includes(req.resource) ? 2 : null;
      return {
        next: next === null ? null : `https://harvest.mock/v2/${req.resource}?page=${next}`,
        rows: ROWS_PER_PAGE,
        requests: 1,
        rateLimited: 0,
        maxUpdatedAt: updatedAtOf(n),
        typeMismatches: 0,
      };
    },
    async markDeleted(req: { resource: string; syncId: string }) {
      calls.markDeleted.push({ resource: req.resource, syncId: req.syncId });
      return { deleted: 3 };
    },
    async commitCursors(req: Calls['commitCursors'][number]) {
      calls.commitCursors.push(req);
      if (opts.state) for (const c of req.cursors) opts.state[c.resource] = c.cursor;
    },
    fetchRecord: unexpected('fetchRecord'),
    listParentIds: opts.parents
      ? async (req: { resource: string; afterId: number; limit: number; changedIn?: string }) => {
          calls.listParentIds.push(req);
          return { ids: (opts.parents![req.resource] ?? []).filter((id) => id > req.afterId).slice(0, req.limit), rechecked: 0 };
        }
      : unexpected('listParentIds'),
    deletionCandidates: unexpected('deletionCandidates'),
    reportWindows: opts.windows ? async () => opts.windows!.list : unexpected('reportWindows'),
    replaceWindow: opts.windows
      ? async (req: { window: ReportWindow }) => {
          calls.replaceWindow.push(req.window.from);
          return 0;
        }
      : unexpected('replaceWindow'),
  };
  return { activities: activities as unknown as Partial<Activities>, calls };
}

/** The selected resources with everything they depend on (what planAccountSync selects from the catalog). */
function resolve(all: WorkflowSpec[], selected?: string[]): Set<string> {
  const names = new Set(selected ?? all.map((r) => r.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of all) {
      if (!names.has(r.name)) continue;
      for (const d of r.dependsOn) if (!names.has(d)) grew = names.add(d) !== undefined;
    }
  }
  return names;
}

interface Outcome {
  summary?: SyncSummary;
  error?: ApplicationFailure;
  /** The harvestSync workflow (its memo is what `harvest-sync status` shows). */
  workflowId: string;
}

/** One harvestSync of the account on a worker running the mocks. */
async function sync(mock: { activities: Partial<Activities> }, input: SyncInput): Promise<Outcome> {
  const env = await temporalEnv();
  const { taskQueue } = unique('wf');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: mock.activities });
  // Report pages run on their own task queue (paced for the reports budget).
  const reports = await Worker.create({ connection: env.nativeConnection, taskQueue: reportsTaskQueue(taskQueue), activities: mock.activities });
  return reports.runUntil(() => worker.runUntil(async () => {
    const workflowId = `wf-${taskQueue}`;
    const handle = await env.client.workflow.start('harvestSync', { taskQueue, workflowId, args: [{ accountId: ACCOUNT, ...input }] });
    try {
      return { summary: (await handle.result()) as SyncSummary, workflowId };
    } catch (err) {
      assert.ok(err instanceof WorkflowFailedError, `unexpected error ${String(err)}`);
      assert.ok(err.cause instanceof ApplicationFailure, `failure without an application cause: ${String(err.cause)}`);
      return { error: err.cause, workflowId };
    }
  }));
}

const byName = (resources: ResourceProgress[]): Record<string, ResourceProgress> => Object.fromEntries(resources.map((r) => [r.resource, r]));
const fetchedResources = (calls: Calls): string[] => [...new Set(calls.fetchPage.map((c) => c.resource))].sort();
/** The per-resource progress a failed account sync carries in its failure's details. */
const failedResources = (error: ApplicationFailure | undefined): Record<string, ResourceProgress> => {
  const details = error?.details?.[0] as { resources?: ResourceProgress[] } | undefined;
  assert.ok(details?.resources, 'the failure carries the per-resource progress');
  return byName(details.resources);
};

// The tests share the dev server but not a task queue: they run side by side.
describe('workflows (mocked activities)', { concurrency: 4 }, () => {
  it('a resource failing non-retryably fails; what depends on it (directly or not) is skipped naming it; the rest is done', async () => {
    const mock = mockActivities({
      resources: [spec('clients'), spec('projects', ['clients']), spec('tasks'), spec('assignments', ['projects', 'tasks'])],
      fail: { clients: () => ApplicationFailure.nonRetryable('Harvest answered 422 for clients', 'Harvest.client') },
    });
    const { summary, error } = await sync(mock, {});
    assert.equal(summary, undefined);
    assert.equal(error?.type, 'SyncFailed');
    assert.match(error!.message, /harvest sync failed for clients: Harvest answered 422 for clients/);
    assert.match(error!.message, /\(not started: projects, assignments\)/);
    const r = failedResources(error);
    assert.equal(r.clients.state, 'failed');
    assert.match(r.clients.error ?? '', /422/);
    assert.equal(r.projects.state, 'skipped');
    assert.equal(r.projects.warning, 'not started: it needs clients, which did not finish');
    assert.equal(r.assignments.state, 'skipped');
    assert.equal(r.assignments.warning, 'not started: it needs projects, which did not finish');
    assert.equal(r.tasks.state, 'done');
    assert.equal(r.tasks.rows, ROWS_PER_PAGE);
    // Non-retryable: one attempt; the skipped ones never asked Harvest.
    assert.deepEqual(mock.calls.fetchPage.map((c) => c.resource).sort(), ['clients', 'tasks']);
    // Only the finished resource's cursor moves (its first run reconciled it); the run log says failed.
    assert.equal(mock.calls.commitCursors.length, 1);
    assert.deepEqual(mock.calls.commitCursors[0].cursors.map((c) => c.resource), ['tasks', fullMark('tasks')]);
    assert.equal(mock.calls.recordRun.at(-1)?.status, 'failed');
    assert.deepEqual(mock.calls.other, []);
  });

  it('a 403 skips the resource (and its dependents) with a warning; the run succeeds', async () => {
    const mock = mockActivities({
      resources: [spec('invoices'), spec('invoice_payments', ['invoices']), spec('users')],
      fail: { invoices: () => ApplicationFailure.create({ message: 'Harvest answered 403 for invoices', type: FORBIDDEN_FAILURE, nonRetryable: true }) },
    });
    const { summary, error } = await sync(mock, {});
    assert.equal(error, undefined);
    assert.equal(summary?.status, 'succeeded');
    const r = byName(summary!.resources);
    assert.equal(r.invoices.state, 'skipped');
    assert.match(r.invoices.warning ?? '', /^skipped: .*403 for invoices/);
    assert.equal(r.invoice_payments.state, 'skipped');
    assert.equal(r.invoice_payments.warning, 'not started: it needs invoices, which did not finish');
    assert.equal(r.users.state, 'done');
    assert.deepEqual(summary!.totals?.skipped.sort(), ['invoice_payments', 'invoices']);
    assert.deepEqual(summary!.totals?.failed, []);
    assert.deepEqual(fetchedResources(mock.calls), ['invoices', 'users']);
    assert.deepEqual(mock.calls.commitCursors.flatMap((c) => c.cursors.map((x) => x.resource)), ['users', fullMark('users')]);
    assert.equal(mock.calls.recordRun.at(-1)?.status, 'succeeded');
  });

  it('with strict: true a 403 fails the sync', async () => {
    const mock = mockActivities({
      resources: [spec('invoices'), spec('users')],
      fail: { invoices: () => ApplicationFailure.create({ message: 'Harvest answered 403 for invoices', type: FORBIDDEN_FAILURE, nonRetryable: true }) },
    });
    const { summary, error } = await sync(mock, { strict: true });
    assert.equal(summary, undefined);
    assert.equal(error?.type, 'SyncFailed');
    assert.match(error!.message, /harvest sync failed for invoices: .*403/);
    const r = failedResources(error);
    assert.equal(r.invoices.state, 'failed');
    assert.equal(r.invoices.warning, undefined);
    assert.equal(r.users.state, 'done');
    assert.equal(mock.calls.recordRun.at(-1)?.status, 'failed');
  });

  it('continue-as-new carries the listing: every page read once, counts summed', async () => {
    const PAGES = 15;
    const mock = mockActivities({ resources: [spec('time_entries'), spec('clients')], pages: { time_entries: PAGES } });
    const { summary, error } = await sync(mock, { historyLimit: 20 });
    assert.equal(error, undefined);
    const r = byName(summary!.resources);
    const te = r.time_entries;
    assert.equal(te.state, 'done');
    assert.ok(te.continuedAsNew > 0, `continuedAsNew ${te.continuedAsNew}`);
    // Each run of the child reads a handful of pages under a 20-event history.
    assert.ok(te.continuedAsNew >= 3, `continuedAsNew ${te.continuedAsNew} for ${PAGES} pages`);
    assert.equal(te.pages, PAGES);
    assert.equal(te.rows, PAGES * ROWS_PER_PAGE);
    assert.equal(te.requests, PAGES);
    assert.equal(te.newestUpdatedAt, updatedAtOf(PAGES));
    const pagesAsked = mock.calls.fetchPage.filter((c) => c.resource === 'time_entries').map((c) => pageOf(c.url));
    assert.deepEqual(pagesAsked, Array.from({ length: PAGES }, (_, i) => i + 1));
    assert.equal(r.clients.continuedAsNew, 0);
    assert.equal(summary!.totals?.rows, (PAGES + 1) * ROWS_PER_PAGE);
    assert.equal(summary!.totals?.pages, PAGES + 1);
  });

  it('report windows are read four at a time; a window whose total never holds keeps its rows, the rest are replaced', async () => {
    const list: ReportWindow[] = Array.from({ length: 6 }, (_, i) => ({ from: `${2020 + i}-01-01`, to: `${2020 + i}-12-31` }));
    const report: WorkflowSpec = { name: 'report_time_clients', paging: 'page', incremental: null, dependsOn: [], report: { windowed: true } };
    const mock = mockActivities({ resources: [report], windows: { list, pages: 3, shifting: '2022-01-01' } });
    const { summary, error } = await sync(mock, { mode: 'full' });
    assert.equal(error, undefined);
    const r = byName(summary!.resources).report_time_clients;
    assert.equal(r.state, 'done');
    assert.equal(mock.calls.mostWindowsInFlight, 4, 'four windows side by side');
    // Every window but the shifting one was replaced; the shifting one was read in every pass allowed.
    assert.deepEqual(mock.calls.replaceWindow.sort(), list.map((w) => w.from).filter((f) => f !== '2022-01-01'));
    const shiftingReads = mock.calls.fetchPage.filter((c) => c.window?.from === '2022-01-01').length;
    // Passes 1 and 2 stop at the first page whose total differs (page 2); the last pass reads on to the end.
    assert.equal(shiftingReads, 2 + 2 + 3);
    assert.equal(r.unstable, true);
    assert.match(r.warning ?? '', /kept changing/);
    assert.equal(r.pages, 5 * 3 + shiftingReads);
    assert.equal(r.expectedPages, 6 * 3);
    assert.deepEqual(mock.calls.markDeleted, []);
  });

  it('fullEvery promotes an incremental run to full when the last full run is older', async () => {
    const cursor = '2026-11-01T00:00:00.000Z';
    const mock = mockActivities({
      resources: [spec('clients'), spec('roles', [], null)],
      cursors: { clients: cursor, roles: cursor },
      lastFullAt: '2020-01-01T00:00:00.000Z',
    });
    const { summary, error } = await sync(mock, { fullEvery: '7d' });
    assert.equal(error, undefined);
    assert.equal(summary?.mode, 'full');
    const r = byName(summary!.resources);
    // Full: everything listed (no lower bound), so absence is deletion.
    assert.deepEqual(mock.calls.fetchPage.map((c) => [c.resource, c.updatedSince]).sort(), [['clients', null], ['roles', null]]);
    assert.deepEqual(mock.calls.markDeleted.map((c) => c.resource).sort(), ['clients', 'roles']);
    assert.equal(r.clients.deleted, 3);
    assert.equal(r.clients.updatedSince, null);
    // Each reconciled resource is its own reference point of fullEvery.
    assert.equal(mock.calls.commitCursors.length, 1);
    const committed = mock.calls.commitCursors[0].cursors;
    assert.deepEqual(committed.map((c) => c.resource).sort(), ['clients', 'roles', fullMark('clients'), fullMark('roles')].sort());
    assert.equal(committed.find((c) => c.resource === fullMark('clients'))?.cursor, summary!.startedAt);
    assert.deepEqual(summary!.fullEvery, { due: ['clients', 'roles'], reconciled: ['clients', 'roles'] });
    assert.ok(r.clients.full && r.clients.reconciled);
    assert.equal(mock.calls.recordRun.at(-1)?.mode, 'full');
  });

  it('fullEvery leaves the run incremental when the last full run is recent', async () => {
    const cursor = '2026-11-01T00:00:00.000Z';
    const mock = mockActivities({
      resources: [spec('clients')],
      cursors: { clients: cursor },
      lastFullAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
    const { summary, error } = await sync(mock, { fullEvery: '7d' });
    assert.equal(error, undefined);
    assert.equal(summary?.mode, 'incremental');
    assert.deepEqual(mock.calls.fetchPage.map((c) => c.updatedSince), [cursor]);
    assert.deepEqual(mock.calls.markDeleted, []);
    assert.deepEqual(mock.calls.commitCursors.flatMap((c) => c.cursors.map((x) => x.resource)), ['clients']);
    assert.equal(summary!.fullEvery, undefined);
  });

  it('every account sync reads the token reach and sizes its pages in flight without patches', async () => {
    const mock = mockActivities({ resources: [{ name: 'time_entries', paging: 'page', incremental: 'updated_since', dateRange: 'spent_date', dependsOn: [] }], dated: { time_entries: 100 * ROWS_PER_PAGE }, cursors: { time_entries: '2026-11-01T00:00:00.000Z' } });
    const { summary, error } = await sync(mock, {});
    assert.equal(error, undefined);
    // The token's user is in the result (and the memo `harvest-sync status` reads).
    assert.deepEqual(summary?.token, { userId: 1, accessRoles: ['administrator'], role: 'administrator' });
    // Date windows: every record read (30 pages' worth), pieces cut to keep the lanes busy.
    const te = byName(summary!.resources).time_entries;
    assert.ok(te.pages >= 100 && te.rows >= 100 * ROWS_PER_PAGE, `${te.pages} pages, ${te.rows} rows`);
    // Eight pages in flight: the least when sized by latency (the mock reports no busy time).
    assert.equal(mock.calls.mostInFlight.time_entries, 8);
    const env = await temporalEnv();
    const history = await env.client.workflow.getHandle(summary!.syncId).fetchHistory();
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    assert.deepEqual(markers, [], 'the account sync records no patch markers');
  });

  it('fullEvery with resources: the first run reconciles the selection, the second is incremental, an unselected resource stays due', async () => {
    const state: Record<string, string> = {};
    const resources = [spec('clients'), spec('projects', ['clients']), spec('tasks')];
    const first = mockActivities({ resources, state });
    const one = await sync(first, { fullEvery: '7d', resources: ['projects'] });
    assert.equal(one.error, undefined);
    assert.equal(one.summary?.mode, 'full');
    assert.deepEqual(first.calls.fetchPage.map((c) => [c.resource, c.updatedSince]).sort(), [['clients', null], ['projects', null]]);
    assert.deepEqual(first.calls.markDeleted.map((c) => c.resource).sort(), ['clients', 'projects']);
    assert.deepEqual(Object.keys(state).sort(), ['clients', 'projects', fullMark('clients'), fullMark('projects')].sort());
    assert.equal(first.calls.recordRun.at(-1)?.mode, 'full');
    assert.deepEqual(first.calls.recordRun.at(-1)?.resources.filter((r) => r.reconciled).map((r) => r.resource).sort(), ['clients', 'projects']);

    const second = mockActivities({ resources, state });
    const before = { ...state };
    const two = await sync(second, { fullEvery: '7d', resources: ['projects'] });
    assert.equal(two.error, undefined);
    assert.equal(two.summary?.mode, 'incremental', 'both were reconciled minutes ago');
    assert.equal(two.summary?.fullEvery, undefined);
    assert.deepEqual(second.calls.fetchPage.map((c) => [c.resource, c.updatedSince]).sort(), [['clients', before.clients], ['projects', before.projects]]);
    assert.deepEqual(second.calls.markDeleted, []);
    assert.deepEqual(second.calls.commitCursors.flatMap((c) => c.cursors.map((x) => x.resource)).sort(), ['clients', 'projects']);
    assert.equal(second.calls.recordRun.at(-1)?.mode, 'incremental');

    // All resources: only tasks (never reconciled) is listed in full.
    const third = mockActivities({ resources, state });
    const three = await sync(third, { fullEvery: '7d' });
    assert.equal(three.error, undefined);
    assert.equal(three.summary?.mode, 'incremental');
    assert.deepEqual(three.summary?.fullEvery, { due: ['tasks'], reconciled: ['tasks'] });
    assert.deepEqual(third.calls.fetchPage.map((c) => [c.resource, c.updatedSince === null]).sort(), [['clients', false], ['projects', false], ['tasks', true]]);
    assert.deepEqual(third.calls.markDeleted.map((c) => c.resource), ['tasks']);
    const r = byName(three.summary!.resources);
    assert.equal(r.tasks.full, true);
    assert.equal(r.clients.full, undefined);
  });

  it('fullEvery under a Member token: a resource answering 403 stays due alone; the others alternate', async () => {
    const state: Record<string, string> = {};
    const resources = [spec('clients'), spec('roles', [], null), spec('time_entries')];
    const reach: TokenReach = { userId: 7, accessRoles: ['member'], role: 'member', userIds: [7] };
    const forbidden = { clients: () => ApplicationFailure.create({ message: 'Harvest answered 403 for clients', type: FORBIDDEN_FAILURE, nonRetryable: true }) };
    const first = mockActivities({ resources, state, reach, fail: forbidden });
    const one = await sync(first, { fullEvery: '7d' });
    assert.equal(one.error, undefined);
    assert.equal(one.summary?.mode, 'full');
    assert.deepEqual(one.summary?.fullEvery, { due: ['clients', 'roles', 'time_entries'], reconciled: ['roles', 'time_entries'] });
    // What `harvest-sync status` reads: the mode the run ran in, and what stays due.
    const memo = (await (await temporalEnv()).client.workflow.getHandle(one.workflowId).describe()).memo as { mode?: string; fullEvery?: Record<string, unknown> };
    assert.equal(memo.mode, 'full');
    assert.deepEqual(memo.fullEvery, { [ACCOUNT]: one.summary!.fullEvery });
    assert.equal(byName(one.summary!.resources).clients.state, 'skipped');
    assert.equal(state[fullMark('clients')], undefined, 'a skipped resource is not reconciled');

    for (let run = 2; run <= 3; run++) {
      const next = mockActivities({ resources, state, reach, fail: forbidden });
      const cursor = state.time_entries;
      const { summary, error } = await sync(next, { fullEvery: '7d' });
      assert.equal(error, undefined);
      assert.equal(summary?.mode, 'incremental', `run ${run}: only clients is due`);
      assert.deepEqual(summary?.fullEvery, { due: ['clients'], reconciled: [] });
      // time_entries reads from its cursor and marks nothing; roles has no updated_since (a full listing every run).
      assert.deepEqual(next.calls.fetchPage.map((c) => [c.resource, c.updatedSince]).sort(), [['clients', null], ['roles', null], ['time_entries', cursor]]);
      assert.deepEqual(next.calls.markDeleted.map((c) => c.resource), ['roles']);
    }
  });

  it('fullEvery: the account-wide mark of older releases stands for resources without a mark of their own', async () => {
    const recent = new Date(Date.now() - 3_600_000).toISOString();
    const cursor = '2026-11-01T00:00:00.000Z';
    const state: Record<string, string> = { [FULL_SYNC_MARK]: recent, clients: cursor, tasks: cursor, [fullMark('tasks')]: '2020-01-01T00:00:00.000Z' };
    const mock = mockActivities({ resources: [spec('clients'), spec('tasks')], state });
    const { summary, error } = await sync(mock, { fullEvery: '7d' });
    assert.equal(error, undefined);
    assert.deepEqual(summary?.fullEvery, { due: ['tasks'], reconciled: ['tasks'] });
    assert.deepEqual(mock.calls.fetchPage.map((c) => [c.resource, c.updatedSince]).sort(), [['clients', cursor], ['tasks', null]]);
  });

  it("a child list's cursor never passes its parent's: an unstable parent holds it back, so the next run reads from there", async () => {
    const c0 = '2026-11-01T00:00:00.000Z';
    const later = '2026-11-02T00:00:00.000Z';
    const invoices: WorkflowSpec = { name: 'invoices', paging: 'page', incremental: 'updated_since', dependsOn: [] };
    const payments: WorkflowSpec = {
      name: 'invoice_payments', paging: 'cursor', incremental: 'updated_since', dependsOn: ['invoices'],
      parent: { resource: 'invoices', param: 'invoice_id', column: 'invoice_id' }, changeSignals: [{ resource: 'invoices', select: 'id' }],
    };
    // The payments' own cursor is later than the invoices' (both committed by earlier runs).
    const state: Record<string, string> = { invoices: c0, invoice_payments: later };
    const parents = { invoice_payments: [11, 12] };
    const first = mockActivities({ resources: [invoices, payments], state, numbered: { invoices: 3 }, shifting: ['invoices'], parents });
    const one = await sync(first, {});
    assert.equal(one.error, undefined);
    const r = byName(one.summary!.resources);
    assert.equal(r.invoices.unstable, true);
    assert.equal(r.invoice_payments.state, 'done');
    assert.deepEqual(first.calls.listParentIds.map((c) => c.changedIn !== undefined), [true, true], 'only changed invoices were asked');
    // The invoices' cursor stays; the payments' is held back to it (not moved to this run's start).
    assert.deepEqual(first.calls.commitCursors.flatMap((c) => c.cursors), [{ resource: 'invoice_payments', cursor: c0 }]);
    assert.deepEqual(state, { invoices: c0, invoice_payments: c0 });
    assert.equal(r.invoice_payments.committedCursor, c0);
    // The fan-out read its parents: the still-open ones it asked are remembered (re-check rotation).
    assert.deepEqual(first.calls.commitCursors[0].checkedParents, [{ resource: 'invoice_payments', changedOnly: true }]);

    // The next run (the invoices hold still) lists every changed invoice's payments from c0:
    // a payment made after c0 on an invoice the unstable listing missed is read now.
    const second = mockActivities({ resources: [invoices, payments], state, numbered: { invoices: 3 }, parents });
    const two = await sync(second, {});
    assert.equal(two.error, undefined);
    assert.deepEqual([...new Set(second.calls.fetchPage.filter((c) => c.resource === 'invoice_payments').map((c) => c.updatedSince))], [c0]);
    const moved = second.calls.commitCursors.flatMap((c) => c.cursors);
    assert.equal(moved.length, 2);
    assert.equal(moved[0].cursor, moved[1].cursor, 'both moved to the same new cursor');
    assert.ok(moved[0].cursor > later);

    // A parent without any cursor: the child commits none.
    const fresh: Record<string, string> = { invoice_payments: later };
    const third = mockActivities({ resources: [invoices, payments], state: fresh, numbered: { invoices: 3 }, shifting: ['invoices'], parents });
    const three = await sync(third, {});
    assert.equal(three.error, undefined);
    assert.deepEqual(third.calls.commitCursors.flatMap((c) => c.cursors).filter((c) => !c.resource.startsWith('__')), []);
    assert.deepEqual(fresh, { invoice_payments: later });
  });

  it('Harvest\'s clock 10 minutes behind: cursors reach back by it, with a warning on the run\'s resources; in step: the margin alone', async () => {
    const resources = [spec('clients'), spec('tasks', [], null)];
    const behind = 10 * 60_000;
    const skewed = mockActivities({ resources, harvestBehindMs: behind });
    const { summary, error } = await sync(skewed, {});
    assert.equal(error, undefined);
    const start = Date.parse(summary!.startedAt);
    // The cursors (a first run also records each resource's full reconciliation).
    const committed = skewed.calls.commitCursors.flatMap((c) => c.cursors).filter((c) => !c.resource.startsWith(FULL_SYNC_MARK));
    assert.deepEqual(committed.map((c) => c.resource).sort(), ['clients', 'tasks']);
    for (const c of committed) {
      const back = start - Date.parse(c.cursor);
      // The margin plus the lag, overstated by at most the header's second and the workflow's own latency.
      assert.ok(back >= 5 * 60_000 + behind && back < 5 * 60_000 + behind + 10_000, `${c.resource}: cursor ${back} ms before the start`);
    }
    const r = byName(summary!.resources);
    for (const name of ['clients', 'tasks']) assert.match(r[name].warning ?? '', /Harvest's clock is up to 60\d s behind this sync's \(Temporal's\)/);
    const logged = byName(skewed.calls.recordRun.at(-1)!.resources);
    assert.match(logged.clients.warning ?? '', /Harvest's clock is up to/);

    const inStep = mockActivities({ resources, harvestBehindMs: 0 });
    const plain = await sync(inStep, {});
    const back = inStep.calls.commitCursors.flatMap((c) => c.cursors).filter((c) => !c.resource.startsWith(FULL_SYNC_MARK)).map((c) => Date.parse(plain.summary!.startedAt) - Date.parse(c.cursor));
    for (const b of back) assert.ok(b >= 5 * 60_000 && b < 5 * 60_000 + 10_000, `in step: ${b} ms`);
    for (const p of plain.summary!.resources) assert.equal(p.warning, undefined);
  });

  it('a links.next that goes round in a loop fails the resource with a clear message, not an endless listing', async () => {
    const mock = mockActivities({ resources: [spec('clients'), spec('tasks')], pages: { clients: 3 }, loop: ['clients'] });
    const { error } = await sync(mock, {});
    assert.equal(error?.type, 'SyncFailed');
    const r = failedResources(error);
    assert.equal(r.clients.state, 'failed');
    assert.match(r.clients.error ?? '', /links\.next goes round in a loop/);
    assert.equal(r.tasks.state, 'done');
    // Pages 1, 2, 3, then the link back to page 2 is refused before it is asked again.
    assert.deepEqual(mock.calls.fetchPage.filter((c) => c.resource === 'clients').map((c) => pageOf(c.url)), [1, 2, 3]);
  });

  it('a backfill reads from since, marks no deletions and commits no cursor', async () => {
    const mock = mockActivities({
      resources: [spec('clients'), spec('roles', [], null)],
      cursors: { clients: '2026-11-01T00:00:00.000Z', roles: '2026-11-01T00:00:00.000Z' },
      lastFullAt: '2020-01-01T00:00:00.000Z',
    });
    const { summary, error } = await sync(mock, { mode: 'backfill', since: '2025-03-01' });
    assert.equal(error, undefined);
    assert.equal(summary?.mode, 'backfill');
    assert.equal(summary?.status, 'succeeded');
    const r = byName(summary!.resources);
    assert.equal(r.clients.state, 'done');
    assert.equal(r.roles.state, 'done');
    // Incremental endpoints from since; the others list everything, yet mark nothing.
    assert.deepEqual(mock.calls.fetchPage.map((c) => [c.resource, c.updatedSince]).sort(), [['clients', '2025-03-01T00:00:00.000Z'], ['roles', null]]);
    assert.deepEqual(mock.calls.markDeleted, []);
    // Only regular syncs own the cursors: nothing committed at all.
    assert.deepEqual(mock.calls.commitCursors, []);
    assert.equal(r.clients.committedCursor, null);
    assert.equal(r.roles.committedCursor, null);
    assert.equal(mock.calls.recordRun.at(-1)?.mode, 'backfill');
  });

  it('a page told to wait for the budget (no slot soon, or a 429) waits in the workflow until then, asks again, and its requests are counted', async () => {
    const mock = mockActivities({ resources: [spec('tasks'), spec('users')], pages: { tasks: 3 } });
    const real = mock.activities.fetchPage!;
    const answers: Array<{ page: number; at: number; waitUntil?: number }> = [];
    let waitsLeft = 2;
    mock.activities.fetchPage = async (req: PageRequest): Promise<PageResult> => {
      const page = pageOf(req.url);
      if (req.resource === 'tasks' && page === 2 && waitsLeft > 0) {
        waitsLeft--;
        // First no slot soon (nothing sent), then a 429 answered (one request, rate limited).
        const waitUntil = Date.now() + 2000;
        answers.push({ page, at: Date.now(), waitUntil });
        const sent = waitsLeft === 0;
        return { next: null, rows: 0, requests: sent ? 1 : 0, rateLimited: sent ? 1 : 0, maxUpdatedAt: null, typeMismatches: 0, waitUntil };
      }
      answers.push({ page, at: Date.now() });
      return real(req);
    };
    const { summary, error } = await sync(mock, {});
    assert.equal(error, undefined);
    const tasks = byName(summary!.resources).tasks;
    assert.equal(tasks.state, 'done');
    assert.equal(tasks.pages, 3, 'a waiting answer is not a page');
    assert.equal(tasks.rows, 3 * ROWS_PER_PAGE);
    assert.equal(tasks.requests, 3 + 1, 'the 429 counts as a request, the answer without a slot does not');
    assert.equal(tasks.rateLimited, 1);
    assert.equal(tasks.pacingWaits, 2);
    assert.equal(tasks.waitingUntil, undefined, 'no wait left once the pages came');
    // Each ask after a wait came no earlier than the time it was told (workflow timers, not retries).
    const second = answers.filter((a) => a.page === 2);
    assert.equal(second.length, 3);
    for (let i = 1; i < second.length; i++) assert.ok(second[i].at >= second[i - 1].waitUntil! - 50, `asked again ${second[i - 1].waitUntil! - second[i].at} ms early`);
    assert.equal(byName(summary!.resources).users.pacingWaits, undefined);
  });
});

