// The real workflows (harvestSync → syncAccount → syncResource children) on the test run's
// Temporal dev server, with a mocked activities object: no Harvest, no ClickHouse. Each
// mock records its calls, so the tests assert both on the result and on what the workflows
// asked for. (TestWorkflowEnvironment.createTimeSkipping() downloads a test server this
// machine cannot reach, so the local dev server of test/support/harness.ts runs them.)
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { teardown, temporalEnv, unique, workflowBundle } from '../support/harness';
import type { Activities } from '../../src/activities';
import { reportsTaskQueue, type ReportWindow } from '../../src/sync/windows';
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
  type WorkflowSpec,
} from '../../src/sync/types';

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
  /** A resource whose every page fails with this. */
  fail?: Record<string, () => Error>;
  cursors?: Record<string, string>;
  lastFullAt?: string | null;
  /** Windowed reports: the windows reportWindows answers, pages per window, and one whose total changes on every page. */
  windows?: { list: ReportWindow[]; pages: number; shifting?: string };
}

interface Calls {
  fetchPage: PageRequest[];
  markDeleted: Array<{ resource: string; syncId: string }>;
  commitCursors: Array<{ accountId: string; cursors: Array<{ resource: string; cursor: string }> }>;
  recordRun: SyncRunRecord[];
  planAccountSync: unknown[];
  replaceWindow: string[];
  /** Most report windows with a page request in flight at once. */
  mostWindowsInFlight: number;
  other: string[];
}

const pageOf = (url: string | null): number => (url === null ? 1 : Number(new URL(url).searchParams.get('page')));
const updatedAtOf = (page: number): string => new Date(Date.UTC(2026, 0, 1, 0, page)).toISOString();

function mockActivities(opts: MockOptions): { activities: Partial<Activities>; calls: Calls } {
  const calls: Calls = { fetchPage: [], markDeleted: [], commitCursors: [], recordRun: [], planAccountSync: [], replaceWindow: [], mostWindowsInFlight: 0, other: [] };
  const windowsInFlight = new Map<string, number>();
  let shiftingTotal = 0;
  const unexpected = (name: string) => async (): Promise<never> => {
    calls.other.push(name);
    throw ApplicationFailure.nonRetryable(`mock: ${name} was not expected`, 'MockUnexpected');
  };
  const activities = {
    async ensureSchema() {
      return { searchAttributes: false, resourceNames: opts.resources.map((r) => r.name), taskQueue: '' };
    },
    async resolveAccounts() {
      return [ACCOUNT];
    },
    async planAccountSync(req: { accountId: string; resources?: string[] }): Promise<AccountSyncPlan> {
      calls.planAccountSync.push(req);
      return { accountId: req.accountId, cursors: opts.cursors ?? {}, startDate: null, lastFullAt: opts.lastFullAt ?? null, resources: opts.resources };
    },
    async recordRun(run: SyncRunRecord) {
      calls.recordRun.push(run);
    },
    async readTokenReach() {
      return { userId: 1, accessRoles: ['administrator'], role: 'administrator' as const };
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
      const total = opts.pages?.[req.resource] ?? 1;
      return {
        next: n < total ? `https://harvest.mock/v2/${req.resource}?page=${n + 1}` : null,
        rows: ROWS_PER_PAGE,
        requests: 1,
        rateLimited: 0,
        maxUpdatedAt: updatedAtOf(n),
        typeMismatches: 0,
      };
    },
    async markDeleted(req: { resource: string; syncId: string }) {
      calls.markDeleted.push({ resource: req.resource, syncId: req.syncId });
      return 3;
    },
    async commitCursors(req: { accountId: string; cursors: Array<{ resource: string; cursor: string }> }) {
      calls.commitCursors.push({ accountId: req.accountId, cursors: req.cursors });
    },
    fetchRecord: unexpected('fetchRecord'),
    listParentIds: unexpected('listParentIds'),
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

interface Outcome {
  summary?: SyncSummary;
  error?: ApplicationFailure;
}

/** One harvestSync of the account on a worker running the mocks. */
async function sync(mock: { activities: Partial<Activities> }, input: SyncInput): Promise<Outcome> {
  const env = await temporalEnv();
  const { taskQueue } = unique('wf');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: mock.activities });
  // Report pages run on their own task queue (paced for the reports budget).
  const reports = await Worker.create({ connection: env.nativeConnection, taskQueue: reportsTaskQueue(taskQueue), activities: mock.activities });
  return reports.runUntil(() => worker.runUntil(async () => {
    const handle = await env.client.workflow.start('harvestSync', { taskQueue, workflowId: `wf-${taskQueue}`, args: [{ accountId: ACCOUNT, ...input }] });
    try {
      return { summary: (await handle.result()) as SyncSummary };
    } catch (err) {
      assert.ok(err instanceof WorkflowFailedError, `unexpected error ${String(err)}`);
      assert.ok(err.cause instanceof ApplicationFailure, `failure without an application cause: ${String(err.cause)}`);
      return { error: err.cause };
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

describe('workflows (mocked activities)', () => {
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
    // Only the finished resource's cursor moves; the run log says failed.
    assert.equal(mock.calls.commitCursors.length, 1);
    assert.deepEqual(mock.calls.commitCursors[0].cursors.map((c) => c.resource), ['tasks']);
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
    assert.deepEqual(mock.calls.commitCursors.flatMap((c) => c.cursors.map((x) => x.resource)), ['users']);
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
    // A full run of every resource is the new reference point of fullEvery.
    assert.equal(mock.calls.commitCursors.length, 1);
    const committed = mock.calls.commitCursors[0].cursors;
    assert.deepEqual(committed.map((c) => c.resource).sort(), [FULL_SYNC_MARK, 'clients', 'roles'].sort());
    assert.equal(committed.find((c) => c.resource === FULL_SYNC_MARK)?.cursor, summary!.startedAt);
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

// Run on its own (npm run test:fast), this file stops the dev server it started; in
// test/all.test.ts the suite's own teardown does.
if (process.argv[1] && path.resolve(process.argv[1]) === __filename) after(teardown);
