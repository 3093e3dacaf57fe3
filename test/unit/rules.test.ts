// Pure logic: cursor rules, input validation, row building, envelope parsing, config.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOG, getResource, nestedTable, resourceTable } from '../../src/catalog';
import { CLOCK_SKEW_WARNING_MS, CURSOR_SAFETY_MARGIN_MS, clockSkewWarning, harvestClockLag, parseInterval, planCursor, validateSyncInput } from '../../src/core/plan';
import { buildRows, buildTables, coerce } from '../../src/clickhouse/rows';
import { encodePage, encodeRows } from '../../src/clickhouse/store';
import { parseListPage, firstPageUrl } from '../../src/harvest/client';
import { errorForStatus, parseRetryAfter, HarvestError } from '../../src/harvest/errors';
import { ConfigError, loadConfig, parseDotEnv } from '../../src/config';
import { createTableSQL } from '../../src/clickhouse/schema';
import { changeLine, progressBar, progressLines, retryLine, summaryLines } from '../../src/cli/progress';
import { statusLines } from '../../src/cli/status';
import { cronOf, formatMs, scheduleFullEvery, scheduleIdFor, scheduleSpec, validateScheduleSettings } from '../../src/temporal/schedules';
import { parseRunArgs } from '../../src/cli/main';
import { WINDOW_DAYS, windowOf, windowsBetween, windowsHolding } from '../../src/core/windows';

// The catalog's own checks are in test/unit/catalog.test.ts (npm run test:fast).
describe('catalog tables', () => {
  it('generates a table keyed by account and resource key', () => {
    const sql = createTableSQL('harvest', resourceTable(getResource('user_projects')));
    assert.match(sql, /ORDER BY \(`account_id`, `user_id`, `id`\)/);
    assert.match(sql, /ReplacingMergeTree\(_version\)/);
    assert.match(sql, /`_version` UInt128 MATERIALIZED if\(`updated_at` IS NULL, /);
    assert.match(createTableSQL('harvest', nestedTable(getResource('invoices').nested![0], getResource('invoices'))), /`_parent_updated_at` Nullable\(DateTime\('UTC'\)\)[\s\S]*MATERIALIZED if\(`_parent_updated_at` IS NULL/);
    assert.match(createTableSQL('harvest', resourceTable(getResource('report_time_clients'))), /`_version` UInt128 MATERIALIZED toUInt128\(toUnixTimestamp64Milli\(_synced_at\)\)\n/);
    assert.match(sql, /`started_time`|`project_id` Nullable\(UInt64\)/);
    assert.match(createTableSQL('harvest', resourceTable(getResource('time_entries'))), /`started_time` Nullable\(String\)/);
  });
});

describe('cursor rules', () => {
  const runStartedAt = new Date('2025-06-01T12:00:00.000Z');
  const commitAt = new Date(runStartedAt.getTime() - CURSOR_SAFETY_MARGIN_MS).toISOString();
  it('first run reads everything (or from the start date) and commits before the run start', () => {
    assert.deepEqual(planCursor({ mode: 'incremental', incremental: true, runStartedAt }), { updatedSince: null, commit: commitAt });
    assert.deepEqual(planCursor({ mode: 'incremental', incremental: true, runStartedAt, startDate: '2024-01-01T00:00:00.000Z' }), {
      updatedSince: '2024-01-01T00:00:00.000Z',
      commit: commitAt,
    });
  });
  it('later runs read from the committed cursor', () => {
    const committed = '2025-05-31T00:00:00.000Z';
    assert.deepEqual(planCursor({ mode: 'incremental', incremental: true, runStartedAt, committed }), { updatedSince: committed, commit: commitAt });
    assert.ok(commitAt < runStartedAt.toISOString());
  });
  it('full runs read everything', () => {
    assert.deepEqual(planCursor({ mode: 'full', incremental: true, runStartedAt, committed: '2025-05-31T00:00:00.000Z' }).updatedSince, null);
  });
  it('an explicit since past the committed cursor does not move it (it skipped a gap)', () => {
    const committed = '2025-05-01T00:00:00.000Z';
    assert.equal(planCursor({ mode: 'incremental', incremental: true, runStartedAt, committed, since: '2025-05-20' }).commit, null);
    assert.equal(planCursor({ mode: 'incremental', incremental: true, runStartedAt, committed, since: '2025-04-01' }).commit, commitAt);
  });
  it('endpoints without updated_since always list everything', () => {
    assert.equal(planCursor({ mode: 'incremental', incremental: false, runStartedAt, committed: '2025-05-01T00:00:00.000Z' }).updatedSince, null);
  });
  it('Harvest\'s clock behind ours: the committed cursor reaches back by the lag, never less than the margin', () => {
    const lag = 10 * 60_000;
    const widened = new Date(runStartedAt.getTime() - CURSOR_SAFETY_MARGIN_MS - lag).toISOString();
    const committed = '2025-05-31T00:00:00.000Z';
    for (const p of [
      { mode: 'incremental' as const, incremental: true, committed },
      { mode: 'full' as const, incremental: true, committed },
      { mode: 'incremental' as const, incremental: false },
      { mode: 'incremental' as const, incremental: true, committed, since: '2025-04-01' },
    ]) {
      assert.equal(planCursor({ ...p, runStartedAt, harvestLagMs: lag }).commit, widened, JSON.stringify(p));
      // Harvest ahead of us (or in step) changes nothing: its stamps are then later than ours.
      assert.equal(planCursor({ ...p, runStartedAt, harvestLagMs: -lag }).commit, commitAt);
      assert.equal(planCursor({ ...p, runStartedAt, harvestLagMs: 0 }).commit, commitAt);
      // Only the commit moves: the run still reads from where the last one committed.
      assert.equal(planCursor({ ...p, runStartedAt, harvestLagMs: lag }).updatedSince, planCursor({ ...p, runStartedAt }).updatedSince);
    }
    assert.equal(planCursor({ mode: 'backfill', since: '2020-01-01', incremental: true, runStartedAt, harvestLagMs: lag }).commit, null);
    assert.equal(planCursor({ mode: 'incremental', incremental: true, committed, since: '2025-05-31T06:00:00Z', runStartedAt, harvestLagMs: lag }).commit, null);
  });
  it('the invariant: a record Harvest stamps at any moment of the run is at or after the cursor that run commits', () => {
    // Harvest's clock = ours - lag; a record changed at our time t >= run start gets updated_at = t - lag.
    for (const lagMs of [0, 30_000, CURSOR_SAFETY_MARGIN_MS, 10 * 60_000, 3 * 3_600_000]) {
      const reading = { harvestDateMs: Math.floor((runStartedAt.getTime() + 2_000 - lagMs) / 1000) * 1000, ageMs: 150 };
      // The workflow task that gets the reading runs 200 ms after Harvest answered, 2 s into the run.
      const measured = harvestClockLag(reading, runStartedAt.getTime() + 2_000 + 200);
      assert.ok(measured >= lagMs, `lag ${lagMs} measured as ${measured}: never less`);
      assert.ok(measured <= lagMs + 1_000 + 200, `lag ${lagMs} measured as ${measured}: within the header's second and the hop`);
      const commit = planCursor({ mode: 'incremental', incremental: true, runStartedAt, harvestLagMs: measured }).commit!;
      const stampedAtRunStart = new Date(Math.floor((runStartedAt.getTime() - lagMs) / 1000) * 1000).toISOString();
      assert.ok(stampedAtRunStart >= commit, `lag ${lagMs}: ${stampedAtRunStart} < cursor ${commit}`);
    }
    assert.ok(CLOCK_SKEW_WARNING_MS <= 60_000);
    assert.match(clockSkewWarning(600_500), /Harvest's clock is up to 601 s behind/);
  });
  it('backfills never commit: date-ranged lists read by date, others from since', () => {
    const committed = '2025-05-01T00:00:00.000Z';
    assert.deepEqual(planCursor({ mode: 'backfill', since: '2020-01-01', until: '2020-12-31', incremental: true, dateRanged: true, runStartedAt, committed }), {
      updatedSince: null,
      commit: null,
      range: { from: '2020-01-01', to: '2020-12-31' },
    });
    assert.deepEqual(planCursor({ mode: 'backfill', since: '2020-01-01', incremental: true, dateRanged: true, runStartedAt }).range, { from: '2020-01-01' });
    assert.deepEqual(planCursor({ mode: 'backfill', since: '2020-01-01', until: '2020-12-31', incremental: true, runStartedAt, committed }), {
      updatedSince: '2020-01-01T00:00:00.000Z',
      commit: null,
    });
    assert.deepEqual(planCursor({ mode: 'backfill', since: '2020-01-01', incremental: false, runStartedAt, committed }), { updatedSince: null, commit: null });
  });
});

describe('workflow input validation', () => {
  const known = CATALOG.map((r) => r.name);
  it('accepts the documented shapes', () => {
    assert.deepEqual(validateSyncInput(undefined, known), []);
    assert.deepEqual(validateSyncInput({ resources: ['users'], mode: 'full' }, known), []);
    assert.deepEqual(validateSyncInput({ since: '2024-01-01' }, known), []);
  });
  it('reads fullEvery intervals', () => {
    assert.equal(parseInterval('7d'), 7 * 86_400_000);
    assert.equal(parseInterval('12h'), 12 * 3_600_000);
    assert.equal(parseInterval('weekly'), null);
    assert.deepEqual(validateSyncInput({ fullEvery: '0d' }, known).length, 1);
  });
  it('lists every problem', () => {
    const p = validateSyncInput({ resources: ['nope'], mode: 'sometimes', since: 'yesterday', extra: 1 }, known);
    assert.equal(p.length, 4, p.join('\n'));
  });
  it('backfills need since; until only with backfill, not before since', () => {
    assert.deepEqual(validateSyncInput({ mode: 'backfill', since: '2020-01-01', until: '2020-06-30', resources: ['time_entries'] }, known), []);
    assert.match(validateSyncInput({ mode: 'backfill' }, known).join(';'), /needs since/);
    assert.match(validateSyncInput({ since: '2020-01-01', until: '2020-02-01' }, known).join(';'), /until only applies to mode "backfill"/);
    assert.match(validateSyncInput({ mode: 'backfill', since: '2020-06-01', until: '2020-01-01' }, known).join(';'), /until must not be before since/);
    assert.match(validateSyncInput({ mode: 'backfill', since: '2020-06-01', until: 'June' }, known).join(';'), /until must be an ISO date/);
    assert.match(validateSyncInput({ mode: 'backfill', since: '2020-06-01', fullEvery: '7d' }, known).join(';'), /fullEvery does not apply/);
  });
});

describe('schedules and the command line', () => {
  it('stable schedule ids and specs from --every / --cron', () => {
    assert.equal(scheduleIdFor('harvest-sync', '123'), 'harvest-sync-123');
    assert.deepEqual(scheduleSpec({ every: '1h' }), { intervals: [{ every: 3_600_000 }] });
    assert.deepEqual(scheduleSpec({ cron: '0 * * * *', timezone: 'Europe/Berlin' }), { cronExpressions: ['0 * * * *'], timezone: 'Europe/Berlin' });
    assert.equal(validateScheduleSettings({ every: '1h', cron: '0 * * * *' }).length, 1);
    assert.equal(validateScheduleSettings({ every: 'hourly', cron: '* *', catchupWindow: 'x', fullEvery: 'weekly' }).length, 5);
  });
  it('schedules reconcile every 7 days unless told otherwise', () => {
    assert.equal(scheduleFullEvery(undefined), '7d');
    assert.equal(scheduleFullEvery('12h'), '12h');
    assert.equal(scheduleFullEvery('off'), undefined);
    assert.equal(scheduleFullEvery('never'), undefined);
    assert.deepEqual(validateScheduleSettings({ fullEvery: 'off' }), []);
    assert.match(validateScheduleSettings({ fullEvery: 'weekly' }).join(';'), /--full-every must be an interval like "7d", or off/);
  });
  it('renders a calendar spec back as cron and intervals as text', () => {
    const all = (start: number | string, end: number | string) => [{ start, end, step: 1 }];
    assert.equal(cronOf({ minute: [{ start: 15, end: 15, step: 1 }], hour: [{ start: 0, end: 23, step: 2 }], dayOfMonth: all(1, 31), month: all('JANUARY', 'DECEMBER'), dayOfWeek: all('MONDAY', 'FRIDAY') }), '15 0-23/2 * * MONDAY-FRIDAY');
    assert.equal(formatMs(3_600_000), '1h');
    assert.equal(formatMs(30 * 60_000), '30m');
    assert.equal(formatMs(7 * 86_400_000), '7d');
  });
  it('run and backfill arguments become the workflow input', () => {
    assert.deepEqual(parseRunArgs(['--full', '--resources', 'users, tasks', '--account', '42']), { mode: 'full', resources: ['users', 'tasks'], accountId: '42' });
    assert.deepEqual(parseRunArgs(['--since', '2020-01-01', '--until', '2020-12-31', '--detach'], 'backfill'), { mode: 'backfill', since: '2020-01-01', until: '2020-12-31', detach: true });
    assert.throws(() => parseRunArgs(['--until', '2020-12-31']), /until/);
    assert.throws(() => parseRunArgs(['--full'], 'backfill'), /full/);
  });
});

describe('rows', () => {
  const spec = getResource('time_entries');
  const record = {
    id: 2_600_000_001, spent_date: '2024-03-01', hours: 1.5, notes: 'x', is_locked: false, started_time: '9:15am',
    user: { id: 7, name: 'Ada' }, invoice: null, created_at: '2024-03-01T10:00:00Z', updated_at: '2024-03-02T10:00:00Z',
  };
  it('flattens references, keeps clock times as text and the record as _raw', () => {
    const { rows, maxUpdatedAt, typeMismatches } = buildRows(spec, [record], { accountId: '42', syncedAt: new Date(0), syncId: 's' });
    const row = rows[0];
    assert.equal(row.user_id, 7);
    assert.equal(row.user_name, 'Ada');
    assert.equal(row.invoice_id, null);
    assert.equal(row.started_time, '9:15am');
    assert.equal(row.updated_at, Date.parse('2024-03-02T10:00:00Z') / 1000);
    // The record itself: serialized once, with the row, into the String column.
    assert.deepEqual(row._raw, record);
    assert.equal(maxUpdatedAt, '2024-03-02T10:00:00Z');
    assert.equal(typeMismatches, 0);
  });
  it('loads a mistyped value as NULL and counts it', () => {
    const { rows, typeMismatches } = buildRows(spec, [{ ...record, hours: 'lots' }], { accountId: '42', syncedAt: new Date(0), syncId: 's' });
    assert.equal(rows[0].hours, null);
    assert.equal(typeMismatches, 1);
    assert.equal((rows[0]._raw as { hours: unknown }).hours, 'lots');
  });
  it('encodes a page (array rows, one UTF-8 buffer) exactly as its rows read as objects, nested lines included', () => {
    const invoices = getResource('invoices');
    const recs = [1, 2].map((id) => ({
      id, number: `N-${id}`, amount: 10.5, state: 'open', client: { id: 3, name: 'Café Ünïcode ✓' },
      line_items: [{ id: id * 10, kind: 'Service', description: 'naïve résumé', quantity: 1, unit_price: 10.5, amount: 10.5 }],
      created_at: '2024-03-01T10:00:00Z', updated_at: '2024-03-02T10:00:00Z',
    }));
    const ctx = { accountId: '42', syncedAt: new Date(0), syncId: 's' };
    const page = encodePage(buildTables(invoices, recs, ctx), 'h');
    const objects = buildRows(invoices, recs, ctx);
    const viaObjects = encodeRows(objects.rows, 'h');
    assert.deepEqual(page.rows!.columns, viaObjects.columns);
    assert.equal(page.rows!.body.toString('utf8'), viaObjects.body.toString('utf8'));
    const expected = objects.rows.map((r) => JSON.stringify(viaObjects.columns.map((c) => r[c]))).join('\n') + '\n';
    assert.equal(page.rows!.body.toString('utf8'), expected);
    assert.equal(page.rows!.body.length, Buffer.byteLength(expected));
    assert.match(page.rows!.body.toString('utf8'), /Café Ünïcode ✓/);
    const lines = page.nested.find((n) => n.spec.name === 'invoice_line_items')!;
    assert.equal(lines.rows!.body.toString('utf8'), encodeRows(objects.nested.find((n) => n.spec.name === 'invoice_line_items')!.rows, 'h').body.toString('utf8'));
    assert.deepEqual(lines.parentIds, [1, 2]);
    assert.equal(lines.rows!.columns.at(-1), '_synced_at');
  });
  it('coerces each type', () => {
    assert.equal(coerce('UInt64', '12'), 12);
    assert.equal(coerce('Bool', true), true);
    assert.equal(coerce('Date', '2024-02-29'), '2024-02-29');
    assert.notEqual(coerce('Date', '2024-02-29T00:00:00Z'), '2024-02-29T00:00:00Z');
    assert.deepEqual(coerce('Array(String)', null), []);
  });
});

describe('list envelope', () => {
  const spec = getResource('users');
  it('follows links.next, not next_page (cursor pages have next_page null)', () => {
    const page = parseListPage({ users: [{ id: 1 }], next_page: null, links: { next: 'http://h/v2/users?cursor=abc' } }, spec, 'users');
    assert.equal(page.next, 'http://h/v2/users?cursor=abc');
  });
  it('refuses bodies without the data array instead of returning an empty page', () => {
    assert.throws(() => parseListPage({ message: 'hi' }, spec, 'users'), (e: HarvestError) => e.kind === 'malformed' && /no "users" array/.test(e.message));
    assert.throws(() => parseListPage([], spec, 'users'), HarvestError);
    assert.throws(() => parseListPage({ users: [{ name: 'no id' }] }, spec, 'users'), /no numeric id/);
  });
  it('builds first-page URLs with per_page 2000 and updated_since', () => {
    const url = new URL(firstPageUrl('https://api.harvestapp.com/v2', getResource('user_projects'), { parentId: 5, updatedSince: '2024-01-01T00:00:00.000Z' }));
    assert.equal(url.pathname, '/v2/users/5/project_assignments');
    assert.equal(url.searchParams.get('per_page'), '2000');
    assert.equal(url.searchParams.get('updated_since'), '2024-01-01T00:00:00Z');
  });
  it('asks the configured per_page (HARVEST_PER_PAGE) when given one', () => {
    const url = new URL(firstPageUrl('https://api.harvestapp.com/v2', getResource('time_entries'), { page: 3, perPage: 150 }));
    assert.equal(url.searchParams.get('per_page'), '150');
    assert.equal(url.searchParams.get('page'), '3');
  });
});

describe('errors', () => {
  it('maps statuses to retry behaviour', () => {
    const e429 = errorForStatus(429, '{"code":429,"message":"slow down"}', 'users', '7');
    assert.equal(e429.retryable, true);
    assert.equal(e429.retryAfterMs, 7000);
    assert.equal(errorForStatus(503, '<html><body>Bad gateway</body></html>', 'users').retryable, true);
    const e403 = errorForStatus(403, '{"code":403,"message":"Forbidden for you"}', 'users (GET /v2/users)');
    assert.equal(e403.retryable, false);
    assert.match(e403.message, /403 for users \(GET \/v2\/users\): Forbidden for you/);
    assert.equal(errorForStatus(422, '{}', 'x').retryable, false);
  });
  it('parses Retry-After seconds and dates', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString()) > 8000, true);
    assert.equal(parseRetryAfter(undefined), 15_000);
  });
});

describe('config', () => {
  it('lists every problem at once', () => {
    try {
      loadConfig({ HARVEST_ACCOUNT_ID: 'abc', HARVEST_CLIENT_ID: 'x', HARVEST_START_DATE: 'soon', CLICKHOUSE_DATABASE: 'a-b', HARVEST_BASE_URL: 'ftp://x' }, { requireHarvest: true });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 5, err.problems.join('\n'));
      assert.match(err.message, /HARVEST_CLIENT_SECRET, HARVEST_REFRESH_TOKEN/);
    }
  });
  it('reads .env syntax', () => {
    assert.deepEqual(parseDotEnv('# c\nA=1\nexport B="two words"\nC=x # note\n'), { A: '1', B: 'two words', C: 'x' });
  });
  it('never echoes a secret in its messages', () => {
    try {
      loadConfig({ HARVEST_ACCOUNT_ID: '1', HARVEST_ACCESS_TOKEN: 'sekrit-pat', HARVEST_CLIENT_ID: 'id', CLICKHOUSE_PASSWORD: 'pw' }, { requireHarvest: true });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /sekrit-pat|pw/);
    }
  });
});

describe('progress display', () => {
  const base = { typeMismatches: 0, updatedSince: null, committedCursor: null, newestUpdatedAt: null, continuedAsNew: 0 };
  it('renders counts per resource', () => {
    const lines = progressLines([{ ...base, resource: 'users', state: 'done', pages: 2, rows: 2500, requests: 3, rateLimited: 1 }]);
    assert.match(lines[0], /users\s+done\s+2,500 rows\s+2 pages\s+3 requests\s+1×429/);
  });
  it('bars on terminals: pages read of pages counted; position and retries of running resources', () => {
    const running = { ...base, resource: 'time_entries', state: 'running' as const, pages: 5, rows: 10_000, requests: 6, rateLimited: 0, expectedPages: 10, position: 'pages 6-9 of 10', retrying: 'Harvest answered 503 (attempt 2)' };
    const [line] = progressLines([running], { bars: true });
    assert.match(line, /\[█{6} {6}\]/);
    assert.match(line, /at pages 6-9 of 10\s+retrying: Harvest answered 503 \(attempt 2\)/);
    assert.equal(progressBar({ ...running, expectedPages: undefined }), `[${'░'.repeat(12)}]`);
    assert.equal(progressBar({ ...running, state: 'done' }), `[${'█'.repeat(12)}]`);
    assert.doesNotMatch(progressLines([running])[0], /\[/);
  });
  it('a resource waiting for Harvest\'s budget says until when', () => {
    const waiting = { ...base, resource: 'report_time_team', state: 'running' as const, pages: 4, rows: 40, requests: 4, rateLimited: 0, pacingWaits: 3, waitingUntil: '2026-12-07T18:45:02.000Z' };
    assert.match(progressLines([waiting])[0], /waiting for Harvest's budget until 18:45:02 UTC/);
    assert.doesNotMatch(progressLines([{ ...waiting, state: 'done' }])[0], /waiting/);
  });
  it('off a terminal: one short line per change, a retry line, and a summary that groups the cursors', () => {
    const done = { ...base, resource: 'time_entries', state: 'done' as const, pages: 10, rows: 20_000, requests: 11, rateLimited: 1, deleted: 2 };
    assert.equal(changeLine(done), '✔ time_entries done: 20,000 rows, 10 pages, 11 requests, 1×429, 2 deleted');
    assert.equal(changeLine({ ...done, state: 'running', updatedSince: '2026-01-01T00:00:00.000Z' }), '▶ time_entries running: updated since 2026-01-01T00:00:00.000Z');
    assert.equal(changeLine({ ...done, state: 'skipped', rows: 0, pages: 0, requests: 1, rateLimited: 0, deleted: 0, warning: 'skipped: 403' }), '– time_entries skipped: 0 rows, 0 pages, 1 requests (skipped: 403)');
    assert.equal(retryLine({ ...done, retrying: 'Harvest answered 503 (attempt 2)' }), '↻ time_entries retrying: Harvest answered 503 (attempt 2)');
    const cursor = '2026-02-01T00:00:00.000Z';
    const all = ['a', 'b', 'c', 'd', 'e'].map((resource) => ({ ...done, resource, committedCursor: cursor }));
    const lines = summaryLines([...all, { ...done, resource: 'f', updatedSince: cursor, committedCursor: null }], 12_300, { table: false });
    assert.deepEqual(lines, [
      '120,000 rows in 60 pages, 12.3 s (6 resources: 6 done)',
      `  5 resources (a, b, c, …): read everything; next run reads from ${cursor}`,
      `  f: read updated since ${cursor}; cursor unchanged`,
    ]);
    assert.equal(summaryLines(all, 1000).length, 5 + 2, 'on a terminal the table comes first');
    // A full listing that did not complete is named: the next run tries again (fullEvery keeps it due).
    assert.deepEqual(summaryLines([{ ...done, full: true, reconciled: true }, { ...done, resource: 'users', full: true, state: 'skipped' as const }], 1000, { table: false }).at(-1),
      '  not reconciled (a full listing did not complete; the next run tries again): users');
  });
  it('status names what fullEvery reconciled and the report windows that disagree', () => {
    const lines = statusLines([{
      workflowId: 'wf', runId: 'r', status: 'COMPLETED', accounts: ['1'], mode: 'incremental', startTime: '2026-01-01T00:00:00.000Z', closeTime: '2026-01-01T00:01:00.000Z',
      fullEvery: { '1': { due: ['clients', 'users'], reconciled: ['clients'] } },
      audit: { '1': { disagreeing: [{ report: 'report_time_projects', from: '2025-12-25', to: '2026-12-24', projects: 2, flagged: true }] } },
    }], false);
    assert.deepEqual(lines.slice(1), [
      '    full reconciliation of account 1 (fullEvery): 1 of 2 due resource(s) reconciled; still due: users',
      '    audit of account 1: report_time_projects 2025-12-25..2026-12-24 disagrees with the synced entries for 2 project(s); FLAGGED: it disagreed after its entries were re-read',
    ]);
  });
});

describe('report windows', () => {
  it('are 365 days, end to end, the same for the same date, and never refused by Harvest', () => {
    const windows = windowsBetween('2023-06-01', '2026-11-28');
    for (const w of windows) {
      const days = (Date.parse(w.to) - Date.parse(w.from)) / 86_400_000 + 1;
      assert.equal(days, WINDOW_DAYS, `${w.from}..${w.to}`);
    }
    for (let i = 1; i < windows.length; i++) {
      assert.equal(Date.parse(windows[i].from) - Date.parse(windows[i - 1].to), 86_400_000, 'windows must be contiguous');
    }
    assert.ok(windows[0].from <= '2023-06-01' && windows[windows.length - 1].to >= '2026-11-28');
    // Across a leap day: the window holding 2024-02-29 also holds its neighbours.
    const leap = windowOf('2024-02-29');
    assert.ok(leap.from <= '2024-02-28' && leap.to >= '2024-03-01', `${leap.from}..${leap.to}`);
    assert.deepEqual(windowOf('2024-02-29'), leap);
    assert.deepEqual(windowsHolding(['2024-02-29', '2024-03-01', leap.to]), [leap]);
  });
});
