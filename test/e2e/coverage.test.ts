// Complete coverage: every resource, deletes by full reconciliation, change-driven
// fan-out, schema evolution and mistyped values.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actingUser, generateAccount, reportRows, startFakeHarvest, type FakeHarvest } from '../../fake-harvest/src';
import { ALL_TABLES, liveRowsSQL, servedTables } from '../support/oracle';
import { query, rootMessage, runSync, serverStoreOnEmbedded, temporalEnv, testClickHouse, testConfig, unique, type TestSetup } from '../support/harness';
import { assertTablesMatchFake } from '../support/assertions';
import { CATALOG, getResource, type ResourceSpec } from '../../src/catalog';
import { ensureSchema } from '../../src/clickhouse/schema';
import { buildTables } from '../../src/clickhouse/rows';
import { auditReportWindow, markUnseenDeleted, noteReportWindows, notedReportWindows, readCursors, storePage, writeCursor, writeSyncRun } from '../../src/clickhouse/store';
import type { SyncRunRecord, SyncSummary } from '../../src/core/types';
import { windowOf } from '../../src/core/windows';
import { auditLines } from '../../src/cli/status';

const resourceOf = (s: SyncSummary | undefined, name: string) => s!.resources.find((r) => r.resource === name)!;

async function isDeleted(db: string, table: string, where: string, params: Record<string, unknown>): Promise<boolean> {
  const rows = await query<{ d: number }>(`SELECT _deleted AS d FROM ${db}.${table} FINAL WHERE ${where}`, params);
  assert.ok(rows.length > 0, `no row in ${table} for ${where}`);
  return rows.every((r) => r.d === 1);
}

describe('complete coverage', () => {
  let fake: FakeHarvest;
  let setup: TestSetup;
  let db: string;

  before(async () => {
    fake = await startFakeHarvest({ data: generateAccount({ seed: 41, timeEntries: 2500, users: 8 }), rateLimit: false });
    const ids = unique('coverage');
    db = ids.database;
    setup = testConfig(fake, ids);
  });
  after(() => fake.close());

  it('a first sync lands every resource and every nested table field for field', async () => {
    const { summary, error } = await runSync(setup.cfg);
    assert.ifError(error);
    assert.deepEqual(summary!.resources.map((r) => r.resource).sort(), CATALOG.map((r) => r.name).sort());
    assert.ok(summary!.resources.every((r) => r.state === 'done'));
    await assertTablesMatchFake(db, fake);
    for (const table of ALL_TABLES) {
      const [{ n }] = await query<{ n: number }>(`SELECT count() AS n FROM ${db}.${table.name}`);
      assert.ok(n > 0, `${table.name} is empty: the generated account should exercise it`);
    }
  });

  it('an incremental run without changes makes one request per top-level resource and none per parent', async () => {
    fake.resetLog();
    const { summary, error } = await runSync(setup.cfg);
    assert.ifError(error);
    const topLevel = CATALOG.filter((r) => !r.parent);
    const requests = fake.requests.filter((r) => r.path.startsWith('/v2/'));
    // One per top-level resource, `/users/me` (the token's reach), and the bounded re-read of
    // still-open parents (docs/coverage.md), each counted in its resource's summary.
    const rechecked = CATALOG.filter((x) => x.parent).reduce((n, r) => n + (resourceOf(summary, r.name).recheckedParents ?? 0), 0);
    assert.equal(requests.filter((r) => r.path === '/v2/users/me').length, 1);
    assert.equal(requests.length, topLevel.length + 1 + rechecked, requests.map((r) => r.path).join('\n'));
    for (const r of CATALOG.filter((x) => x.parent)) {
      const p = resourceOf(summary, r.name);
      assert.equal(p.changedParentsOnly, true, r.name);
      assert.equal(p.pages, p.recheckedParents ?? 0, `${r.name}: pages only for re-read open parents`);
      assert.ok((p.recheckedParents ?? 0) <= 25, `${r.name}: re-read within its budget`);
    }
  });

  it('only parents that changed are asked again, and their changes land', async () => {
    const invoice = fake.data.invoices[0];
    fake.update('invoices', invoice.id, { subject: 'changed subject' });
    const user = fake.data.users[1];
    fake.update('users', user.id, { last_name: 'Changed' });
    fake.resetLog();
    const { summary, error } = await runSync(setup.cfg);
    assert.ifError(error);
    const paths = fake.requests.map((r) => r.path);
    // The changed invoice's lists, plus at most the bounded re-read of open invoices.
    const invoiceLists = paths.filter((p) => /^\/v2\/invoices\/\d+\//.test(p));
    assert.ok(invoiceLists.includes(`/v2/invoices/${invoice.id}/messages`) && invoiceLists.includes(`/v2/invoices/${invoice.id}/payments`));
    const rechecked = (resourceOf(summary, 'invoice_messages').recheckedParents ?? 0) + (resourceOf(summary, 'invoice_payments').recheckedParents ?? 0);
    assert.ok(invoiceLists.length <= 2 + rechecked, `${invoiceLists.length} invoice child requests for 1 changed invoice and ${rechecked} re-read open ones`);
    assert.ok(paths.includes(`/v2/users/${user.id}/billable_rates`));
    assert.equal(paths.filter((p) => /^\/v2\/users\/\d+\/cost_rates$/.test(p)).length, 1 + (resourceOf(summary, 'cost_rates').recheckedParents ?? 0));
    assert.equal(resourceOf(summary, 'invoices').rows, 1);
    await assertTablesMatchFake(db, fake, { reports: false });
  });

  it('a value of the wrong type is loaded as NULL, kept in _raw and counted', async () => {
    const entry = fake.data.timeEntries[3];
    fake.update('timeEntries', entry.id, { hours: 'lots' });
    const { summary, error } = await runSync(setup.cfg);
    assert.ifError(error);
    assert.equal(resourceOf(summary, 'time_entries').typeMismatches, 1);
    const [row] = await query<{ hours: number | null; _raw: string }>(`SELECT hours, _raw FROM ${db}.time_entries FINAL WHERE id = {id:UInt64}`, { id: entry.id });
    assert.equal(row.hours, null);
    assert.equal(JSON.parse(row._raw).hours, 'lots');
  });

  it('--full marks what Harvest no longer lists as deleted, with nested lines and per-parent children', async () => {
    const entry = fake.data.timeEntries[7];
    const invoice = fake.data.invoices.find((i) => Array.isArray(i.line_items) && (i.line_items as unknown[]).length > 0)!;
    // Not the token's own user: Harvest does not delete the user a working token belongs to.
    const me = actingUser(fake.data);
    const user = [...fake.data.users].reverse().find((u) => u.id !== me?.id)!;
    fake.remove('timeEntries', entry.id);
    fake.remove('invoices', invoice.id);
    fake.remove('users', user.id);

    // An incremental run cannot see deletes: nothing is marked.
    const incremental = await runSync(setup.cfg);
    assert.ifError(incremental.error && new Error(rootMessage(incremental.error)));
    assert.equal(await isDeleted(db, 'time_entries', 'id = {id:UInt64}', { id: entry.id }), false);

    const full = await runSync(setup.cfg, { mode: 'full' });
    assert.ifError(full.error);
    assert.equal(resourceOf(full.summary, 'time_entries').deleted, 1);
    assert.equal(await isDeleted(db, 'time_entries', 'id = {id:UInt64}', { id: entry.id }), true);
    assert.equal(await isDeleted(db, 'invoices', 'id = {id:UInt64}', { id: invoice.id }), true);
    assert.equal(await isDeleted(db, 'invoice_line_items', 'invoice_id = {id:UInt64}', { id: invoice.id }), true);
    assert.equal(await isDeleted(db, 'users', 'id = {id:UInt64}', { id: user.id }), true);
    assert.equal(await isDeleted(db, 'billable_rates', 'user_id = {id:UInt64}', { id: user.id }), true);
    // Everything still in Harvest is live, exactly once.
    await assertTablesMatchFake(db, fake);
  });

  it('a full sync whose listing fails deletes nothing', async () => {
    const entry = fake.data.timeEntries[9];
    fake.remove('timeEntries', entry.id);
    fake.faults.add({ kind: 'status', status: 422, count: 1, pathPrefix: '/v2/time_entries', message: 'page broken on purpose' });
    const { error, summary } = await runSync(setup.cfg, { mode: 'full' });
    assert.ok(error, 'the time_entries listing failed, so the run fails');
    assert.equal(summary, undefined);
    const [{ n }] = await query<{ n: number }>(`SELECT countIf(_deleted = 1) AS n FROM ${db}.time_entries FINAL WHERE id = {id:UInt64}`, { id: entry.id });
    assert.equal(n, 0, 'the entry missing from a failed listing must stay live');
  });
});

describe('schema evolution', () => {
  it('a column typed later is added and back-filled from _raw without a re-sync', async () => {
    const db = unique('schema').database;
    const ch = testClickHouse();
    const full = getResource('time_entries');
    const older: ResourceSpec = { ...full, columns: full.columns.filter((c) => c.name !== 'hours' && c.name !== 'project_code' && c.name !== 'spent_date') };
    const records = generateAccount({ seed: 51, timeEntries: 40, users: 2 }).timeEntries;
    await ensureSchema(ch, db, [older]);
    await storePage(ch, db, older, '7', 'sync-1', buildTables(older, records, { accountId: '7', syncedAt: new Date(), syncId: 'sync-1' }));

    const added = await ensureSchema(ch, db, [full]);
    assert.deepEqual(added.sort(), ['time_entries.hours', 'time_entries.project_code', 'time_entries.spent_date']);
    const rows = await query<{ id: number; hours: number; project_code: string; spent_date: string }>(
      `SELECT id, hours, project_code, toString(spent_date) AS spent_date FROM ${db}.time_entries FINAL ORDER BY id`,
    );
    assert.equal(rows.length, records.length);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const row of rows) {
      const src = byId.get(row.id)!;
      assert.equal(row.hours, src.hours);
      assert.equal(row.project_code, (src.project as { code: string }).code);
      assert.equal(row.spent_date, src.spent_date);
    }
    assert.deepEqual(await ensureSchema(ch, db, [full]), [], 'nothing to add the second time');
  });
});

describe('the page insert', () => {
  it("a server's SQL path stores what the embedded raw insert stores, and a retried page is stored once", async () => {
    const db = unique('insertpath').database;
    const ch = testClickHouse();
    const spec = getResource('invoices');
    const records = generateAccount({ seed: 52, timeEntries: 20, users: 2 }).invoices.slice(0, 30);
    await ensureSchema(ch, db, [spec]);
    // The server's store (@clickhouse/client): the statement and body a ClickHouse server gets.
    const viaSql = serverStoreOnEmbedded(db);
    try {
      const built = (accountId: string) => buildTables(spec, records, { accountId, syncedAt: new Date(), syncId: 'sync-1' });
      await storePage(ch, db, spec, '7', 'sync-1', built('7'));
      await storePage(viaSql, db, spec, '8', 'sync-1', built('8'));
      // The same page again, read at another time (a retried activity): its token drops it.
      await storePage(ch, db, spec, '7', 'sync-1', built('7'));
      await storePage(viaSql, db, spec, '8', 'sync-1', built('8'));
      const cols = 'id, client_id, number, amount, due_amount, state, issue_date, sent_at, created_at, _raw, _deleted, _sync_id';
      const read = (account: string) => query<Record<string, unknown>>(`SELECT ${cols} FROM ${db}.invoices WHERE account_id = ${account} ORDER BY id`);
      const [raw, sql] = [await read('7'), await read('8')];
      assert.equal(raw.length, records.length, 'one row per record: the retried page was dropped');
      assert.deepEqual(sql, raw);
      const lines = (account: string) => query<Record<string, unknown>>(`SELECT * EXCEPT (account_id, _synced_at) FROM ${db}.invoice_line_items WHERE account_id = ${account} ORDER BY invoice_id, id`);
      const expectedLines = records.reduce((n, r) => n + ((r.line_items as unknown[] | undefined)?.length ?? 0), 0);
      assert.ok(expectedLines > 0);
      assert.equal((await lines('7')).length, expectedLines);
      assert.deepEqual(await lines('8'), await lines('7'));
    } finally {
      await viaSql.close();
    }
  });

  it("with a page hash (the activity's, from Harvest's answer): one serialization, the same rows, a retry dropped, other content stored", async () => {
    const db = unique('pagehash').database;
    const ch = testClickHouse();
    const spec = getResource('invoices');
    const records = generateAccount({ seed: 53, timeEntries: 20, users: 2 }).invoices.slice(0, 20);
    await ensureSchema(ch, db, [spec]);
    const built = (accountId: string, recs = records) => buildTables(spec, recs, { accountId, syncedAt: new Date(), syncId: 'sync-1' });
    await storePage(ch, db, spec, '7', 'sync-1', built('7'));
    await storePage(ch, db, spec, '8', 'sync-1', built('8'), 'hash-a');
    // Retried: the same answer, read later.
    await storePage(ch, db, spec, '8', 'sync-1', built('8'), 'hash-a');
    const cols = 'id, number, amount, state, issue_date, _raw, _deleted, _sync_id';
    const read = (account: string) => query<Record<string, unknown>>(`SELECT ${cols} FROM ${db}.invoices WHERE account_id = ${account} ORDER BY id`);
    assert.equal((await read('8')).length, records.length, 'the retried page was dropped');
    assert.deepEqual(await read('8'), await read('7'), 'the same rows as the per-line hash path');
    const [synced] = await query<{ n: string }>(`SELECT count(DISTINCT _synced_at) AS n FROM ${db}.invoices WHERE account_id = 8`);
    assert.equal(Number(synced.n), 1, '_synced_at is stored with every row');
    // Another answer (a record changed in Harvest meanwhile) is another hash: stored.
    const changed = records.map((r, i) => (i === 0 ? { ...r, amount: 12345.5 } : r));
    await storePage(ch, db, spec, '8', 'sync-1', built('8', changed), 'hash-b');
    const [latest] = await query<{ amount: number }>(`SELECT amount FROM ${db}.invoices FINAL WHERE account_id = 8 AND id = ${Number(records[0].id)}`);
    assert.equal(latest.amount, 12345.5);
  });

  it("the sync's own rows (cursor, run log, noted windows, audit) and tombstones read back the same through the server's store", async () => {
    const db = unique('ownrows').database;
    const ch = testClickHouse();
    const spec = getResource('invoices');
    await ensureSchema(ch, db, CATALOG);
    const viaSql = serverStoreOnEmbedded(db);
    const run = (accountId: string): SyncRunRecord => ({
      accountId, runId: `run-${accountId}`, workflowId: 'wf', mode: 'full', trigger: 'manual', scheduleId: '', startedAt: '2026-01-02T03:04:05.678Z', finishedAt: null, status: 'running', error: '',
      resources: [{ resource: 'invoices', state: 'done', pages: 2, rows: 30, requests: 3, rateLimited: 1, typeMismatches: 0, deleted: 4, updatedSince: null, committedCursor: null, newestUpdatedAt: null, continuedAsNew: 0 }],
      token: { userId: 5, accessRoles: ['administrator'], role: 'administrator' },
    });
    const window = windowOf('2026-01-15');
    const invoices = generateAccount({ seed: 54, timeEntries: 10, users: 2 }).invoices.slice(0, 5);
    try {
      for (const [store, account] of [[ch, '7'], [viaSql, '8']] as const) {
        await writeCursor(store, db, account, 'invoices', '2026-01-02T03:04:05.678Z', 'sync-1');
        await writeSyncRun(store, db, run(account));
        await noteReportWindows(store, db, account, 'sync-1', [window]);
        await auditReportWindow(store, db, account, 'report_time_projects', window, 'sync-1');
        // A page, then a complete listing that did not see its records: tombstones (a query, then an insert).
        await storePage(store, db, spec, account, 'sync-0', buildTables(spec, invoices, { accountId: account, syncedAt: new Date(Date.now() - 60_000), syncId: 'sync-0' }));
        assert.equal(await markUnseenDeleted(store, db, spec, account, 'sync-1', new Date().toISOString()), invoices.length);
      }
      for (const store of [ch, viaSql]) {
        const [seven, eight] = await Promise.all(['7', '8'].map((a) => readCursors(store, db, a)));
        assert.deepEqual(seven.map((c) => [c.resource, c.cursor]), [['invoices', '2026-01-02T03:04:05.678Z']]);
        assert.deepEqual(eight.map((c) => [c.resource, c.cursor]), seven.map((c) => [c.resource, c.cursor]));
        const noted = await Promise.all(['7', '8'].map((a) => notedReportWindows(store, db, a, '2020-01-01T00:00:00Z', 'other')));
        assert.deepEqual(noted, [[{ from: window.from, to: window.to }], [{ from: window.from, to: window.to }]]);
      }
      const runs = await query<Record<string, unknown>>(`SELECT * EXCEPT (account_id, run_id, _synced_at) FROM ${db}._sync_runs ORDER BY account_id`);
      assert.equal(runs.length, 2);
      assert.deepEqual(runs[1], runs[0]);
      assert.deepEqual(runs[0]['resources.name'], ['invoices']);
      const audits = await query<Record<string, unknown>>(`SELECT * EXCEPT (account_id, checked_at) FROM ${db}._sync_audit ORDER BY account_id`);
      assert.equal(audits.length, 2);
      assert.deepEqual(audits[1], audits[0]);
      const gone = await query<{ account_id: number; n: number }>(`SELECT account_id, count() AS n FROM ${db}.invoices FINAL WHERE _deleted = 1 GROUP BY account_id ORDER BY account_id`);
      assert.deepEqual(gone, [{ account_id: 7, n: invoices.length }, { account_id: 8, n: invoices.length }]);
    } finally {
      await viaSql.close();
    }
  });
});

describe('several accounts', () => {
  it('HARVEST_ACCOUNT_ID=all syncs every account the token reaches into one database, each with its own cursors', async () => {
    const first = generateAccount({ seed: 61, timeEntries: 300, users: 3 });
    const second = generateAccount({ seed: 62, timeEntries: 500, users: 4 });
    assert.notEqual(first.accountId, second.accountId);
    const fake = await startFakeHarvest({ data: first, accounts: [second], rateLimit: false });
    try {
      const ids = unique('accounts');
      const { cfg } = testConfig(fake, ids, { HARVEST_ACCOUNT_ID: 'all' });
      const { summary, error } = await runSync(cfg);
      assert.ifError(error);
      assert.deepEqual(summary!.accounts!.map((a) => a.accountId).sort(), [String(first.accountId), String(second.accountId)].sort());
      for (const account of [first, second]) {
        const served = await servedTables(fake, { accountId: String(account.accountId) });
        for (const table of ALL_TABLES) {
          const rows = await query<{ key: string; _raw: string }>(liveRowsSQL(ids.database, table, String(account.accountId)));
          const want = served.get(table.name)!;
          assert.equal(rows.length, want.size, `account ${account.accountId} ${table.name}`);
          for (const row of rows) assert.deepEqual(JSON.parse(row._raw), want.get(row.key), `account ${account.accountId} ${table.name} ${row.key}`);
        }
      }
      const cursors = await query<{ account_id: number; n: number; marks: number }>(
        `SELECT account_id, countIf(NOT startsWith(resource, '__full_sync')) AS n, countIf(startsWith(resource, '__full_sync:')) AS marks
         FROM ${ids.database}._sync_state FINAL GROUP BY account_id ORDER BY account_id`,
      );
      // A cursor per resource, and (a first run reconciles every resource) a full mark per resource.
      assert.deepEqual(cursors.map((c) => [String(c.account_id), Number(c.n), Number(c.marks)]).sort(), [
        [String(first.accountId), CATALOG.length, CATALOG.length],
        [String(second.accountId), CATALOG.length, CATALOG.length],
      ].sort());

      // A list of ids syncs just those.
      const one = testConfig(fake, ids, { HARVEST_ACCOUNT_ID: String(second.accountId) });
      const again = await runSync(one.cfg);
      assert.ifError(again.error);
      assert.equal(again.summary!.accountId, String(second.accountId));
      assert.equal(again.summary!.accounts, undefined);
    } finally {
      await fake.close();
    }
  });
});

/** The live rows of a time-by-project report window are Harvest's (the fake's) rows of that window. */
async function assertProjectWindow(db: string, fake: FakeHarvest, window: { from: string; to: string }, what: string): Promise<void> {
  const stored = await query<{ project_id: number; currency: string; total_hours: number }>(
    `SELECT project_id, currency, total_hours FROM ${db}.report_time_projects FINAL
     WHERE _deleted = 0 AND window_from = {from:Date} AND window_to = {to:Date} ORDER BY project_id, currency`,
    window,
  );
  const want = (reportRows(fake.data, 'time/projects', { window }) as Array<{ project_id: number; currency: string; total_hours: number }>)
    .map((r) => ({ project_id: r.project_id, currency: r.currency, total_hours: r.total_hours }))
    .sort((a, b) => a.project_id - b.project_id || a.currency.localeCompare(b.currency));
  assert.ok(want.length > 0, `${what}: the window should hold entries`);
  assert.deepEqual(stored, want, `${what}: window ${window.from}..${window.to}`);
}

describe('stale report windows', () => {
  const RESOURCES = ['time_entries', 'expenses', 'report_time_projects'];
  const W1 = windowOf('2024-06-01');
  const W2 = windowOf('2025-06-01');
  const inWindow = (e: Record<string, unknown>, w: { from: string; to: string }) => String(e.spent_date) >= w.from && String(e.spent_date) <= w.to;

  it('a window whose entries changed is re-read by the run after one where the report answered 403', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 73, timeEntries: 600, users: 3 }), rateLimit: false });
    try {
      const ids = unique('stale_403');
      const { cfg } = testConfig(fake, ids);
      assert.ifError((await runSync(cfg, { resources: RESOURCES })).error);
      await assertProjectWindow(ids.database, fake, W1, 'first run');
      // An entry of an old window changes; the report is forbidden for one run.
      const entry = fake.data.timeEntries.find((e) => inWindow(e, W1))!;
      fake.update('timeEntries', entry.id, { hours: Number(entry.hours) + 3, rounded_hours: Number(entry.hours) + 3 });
      // Changed just after the first run's cursor: the next run reads it, the one after does not.
      const [{ cursor }] = await query<{ cursor: string }>(`SELECT toString(cursor) AS cursor FROM ${ids.database}._sync_state FINAL WHERE resource = 'time_entries'`);
      entry.updated_at = new Date(Date.parse(`${cursor.replace(' ', 'T')}Z`) + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      fake.faults.forbid('/v2/reports/time/projects');
      const forbidden = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(forbidden.error);
      assert.equal(resourceOf(forbidden.summary, 'report_time_projects').state, 'skipped');
      assert.equal(resourceOf(forbidden.summary, 'time_entries').rows, 1);
      fake.faults.clear();
      // Nothing changed since: the window is stale all the same.
      const next = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(next.error);
      assert.equal(resourceOf(next.summary, 'time_entries').rows, 0);
      await assertProjectWindow(ids.database, fake, W1, 'after the 403 run');
      // Read: that window and today's, no other.
      const asked = fake.requests.filter((r) => r.path === '/v2/reports/time/projects').slice(-2).map((r) => r.query.from).sort();
      assert.ok(asked.includes(W1.from.replace(/-/g, '')), asked.join(','));
    } finally {
      await fake.close();
    }
  });

  it('an entry moved across a window boundary fixes both windows', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 74, timeEntries: 600, users: 3 }), rateLimit: false });
    try {
      const ids = unique('stale_moved');
      const { cfg } = testConfig(fake, ids);
      assert.ifError((await runSync(cfg, { resources: RESOURCES })).error);
      const entry = fake.data.timeEntries.find((e) => inWindow(e, W1))!;
      fake.update('timeEntries', entry.id, { spent_date: '2025-06-02' });
      const next = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(next.error);
      assert.equal(resourceOf(next.summary, 'time_entries').rows, 1);
      await assertProjectWindow(ids.database, fake, W1, 'the old window (the entry left it)');
      await assertProjectWindow(ids.database, fake, W2, 'the new window');
    } finally {
      await fake.close();
    }
  });

  it('the old window of a moved entry stays stale through a skipped report, even once merges dropped the older version', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 75, timeEntries: 600, users: 3 }), rateLimit: false });
    try {
      const ids = unique('stale_merged');
      const { cfg } = testConfig(fake, ids);
      assert.ifError((await runSync(cfg, { resources: RESOURCES })).error);
      const entry = fake.data.timeEntries.find((e) => inWindow(e, W1))!;
      fake.update('timeEntries', entry.id, { spent_date: '2025-06-02' });
      fake.faults.forbid('/v2/reports/time/projects');
      const skipped = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(skipped.error);
      assert.equal(resourceOf(skipped.summary, 'report_time_projects').state, 'skipped');
      fake.faults.clear();
      // Only the entry's newest version is left: its old date is gone from the table.
      await testClickHouse().command(`OPTIMIZE TABLE ${ids.database}.time_entries FINAL`);
      const [{ versions }] = await query<{ versions: number }>(`SELECT count() AS versions FROM ${ids.database}.time_entries WHERE id = {id:UInt64}`, { id: entry.id });
      assert.equal(versions, 1);
      assert.ifError((await runSync(cfg, { resources: RESOURCES })).error);
      await assertProjectWindow(ids.database, fake, W1, 'the old window');
      await assertProjectWindow(ids.database, fake, W2, 'the new window');
    } finally {
      await fake.close();
    }
  });
});

describe('the sync audits itself against the reports', () => {
  it('an entry removed from the store behind its back is found by the next run and re-read; a window that stays off is flagged', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 76, timeEntries: 900, users: 3 }), rateLimit: false });
    try {
      const ids = unique('audit');
      const db = ids.database;
      const { cfg } = testConfig(fake, ids);
      const RESOURCES = ['time_entries', 'expenses', 'report_time_projects', 'report_expenses_projects'];
      const first = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(first.error);
      // Every window read was audited, and agrees (time: rounded_hours; expenses: total_cost).
      const audits = await query<{ report: string; streak: number; projects: number }>(`SELECT report, streak, projects FROM ${db}._sync_audit`);
      assert.deepEqual([...new Set(audits.map((a) => a.report))].sort(), ['report_expenses_projects', 'report_time_projects']);
      assert.ok(audits.every((a) => a.streak === 0 && a.projects > 0), JSON.stringify(audits));
      assert.equal(first.summary!.audit, undefined);

      // An entry of the current window vanishes from ClickHouse (not from Harvest).
      const current = windowOf(new Date().toISOString().slice(0, 10));
      const inCurrent = fake.data.timeEntries.filter((e) => String(e.spent_date) >= current.from && String(e.spent_date) <= current.to);
      assert.ok(inCurrent.length >= 2, 'the seed has entries in the current window');
      const lost = inCurrent[0];
      await testClickHouse().command(`ALTER TABLE ${db}.time_entries DELETE WHERE id = {id:UInt64}`, { id: lost.id }, { mutations_sync: '2' });
      fake.resetLog();
      const second = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(second.error);
      assert.deepEqual(second.summary!.audit, { disagreeing: [{ report: 'report_time_projects', from: current.from, to: current.to, projects: 1, flagged: false }] });
      assert.match(auditLines('1', second.summary!.audit!)[0], /report_time_projects .* disagrees with the synced entries for 1 project\(s\); its entries are re-read by the next run/);
      // Found without a request of its own: the report read its window anyway.
      assert.deepEqual(fake.requests.filter((r) => r.path === '/v2/time_entries').map((r) => r.query.from), [undefined]);

      const third = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(third.error);
      assert.equal(third.summary!.audit, undefined, 'the re-read entries agree with the report');
      const [{ n }] = await query<{ n: number }>(`SELECT count() AS n FROM ${db}.time_entries FINAL WHERE _deleted = 0 AND id = {id:UInt64}`, { id: lost.id });
      assert.equal(n, 1, 'the lost entry is back');
      assert.ok(resourceOf(third.summary, 'time_entries').rows >= inCurrent.length, 'the window was listed in full');

      // An entry deleted in Harvest stays in the store until a full run: re-read, the window still differs, and is flagged.
      fake.remove('timeEntries', inCurrent[1].id);
      const fourth = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(fourth.error);
      assert.deepEqual(fourth.summary!.audit?.disagreeing.map((w) => [w.report, w.from, w.flagged]), [['report_time_projects', current.from, false]]);
      const fifth = await runSync(cfg, { resources: RESOURCES });
      assert.ifError(fifth.error);
      assert.deepEqual(fifth.summary!.audit?.disagreeing.map((w) => [w.report, w.from, w.flagged]), [['report_time_projects', current.from, true]]);
      assert.match(auditLines('1', fifth.summary!.audit!)[0], /FLAGGED/);
    } finally {
      await fake.close();
    }
  });
});

describe('reports', () => {
  it('are read in 365-day windows (one across the 2024 leap day) whose totals match the entries, paced on their own queue', async () => {
    const data = generateAccount({ seed: 71, timeEntries: 1500, users: 4, firstDate: '2023-09-01', lastDate: '2024-12-31' });
    const fake = await startFakeHarvest({ data, rateLimit: false });
    try {
      const ids = unique('reports');
      const { summary, error } = await runSync(testConfig(fake, ids).cfg);
      assert.ifError(error);
      const leap = windowOf('2024-02-29');
      const [{ hours }] = await query<{ hours: number }>(
        `SELECT round(sum(total_hours), 2) AS hours FROM ${ids.database}.report_time_clients FINAL
         WHERE _deleted = 0 AND window_from = {from:Date} AND window_to = {to:Date}`,
        { from: leap.from, to: leap.to },
      );
      const expected = data.timeEntries.filter((e) => String(e.spent_date) >= leap.from && String(e.spent_date) <= leap.to).reduce((n, e) => n + Number(e.hours), 0);
      assert.ok(expected > 0, 'the leap-year window should hold entries');
      assert.equal(hours, Math.round(expected * 100) / 100);
      // Report requests asked one window each, never more than 365 days.
      const reportRequests = fake.requests.filter((r) => r.path.startsWith('/v2/reports/') && r.path !== '/v2/reports/project_budget');
      assert.ok(reportRequests.length >= 9);
      for (const r of reportRequests) {
        const from = Date.parse(`${r.query.from.slice(0, 4)}-${r.query.from.slice(4, 6)}-${r.query.from.slice(6)}`);
        const to = Date.parse(`${r.query.to.slice(0, 4)}-${r.query.to.slice(4, 6)}-${r.query.to.slice(6)}`);
        assert.equal((to - from) / 86_400_000 + 1, 365);
      }
      assert.ok(summary!.resources.filter((r) => r.resource.startsWith('report_')).every((r) => r.state === 'done'));
      // Report pages ran on the reports task queue (its own rate limit), the rest on the main one.
      const env = await temporalEnv();
      const queuesOf = async (resource: string): Promise<Set<string>> => {
        const history = await env.client.workflow.getHandle(`${summary!.syncId}/${resource}`).fetchHistory();
        return new Set(
          (history.events ?? [])
            .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fetchPage')
            .map((e) => String(e.activityTaskScheduledEventAttributes?.taskQueue?.name)),
        );
      };
      assert.deepEqual([...(await queuesOf('report_time_team'))], [`${ids.taskQueue}-reports`]);
      assert.deepEqual([...(await queuesOf('time_entries'))], [ids.taskQueue]);

      // Re-reading a window replaces its rows: a client whose entries are gone leaves the window.
      const entry = data.timeEntries.find((e) => String(e.spent_date) >= leap.from && String(e.spent_date) <= leap.to)!;
      const clientId = (entry.client as { id: number }).id;
      for (const e of data.timeEntries.filter((x) => (x.client as { id: number }).id === clientId && String(x.spent_date) >= leap.from && String(x.spent_date) <= leap.to)) {
        fake.remove('timeEntries', e.id);
      }
      const again = await runSync(testConfig(fake, ids).cfg, { mode: 'full' });
      assert.ifError(again.error);
      const rows = await query<{ n: number }>(
        `SELECT count() AS n FROM ${ids.database}.report_time_clients FINAL WHERE _deleted = 0 AND window_from = {from:Date} AND client_id = {c:UInt64}`,
        { from: leap.from, c: clientId },
      );
      assert.equal(rows[0].n, 0, 'the client has no time in that window any more');
      await assertTablesMatchFake(ids.database, fake);
    } finally {
      await fake.close();
    }
  });
});

describe('periodic full reconciliation', () => {
  it('fullEvery makes an incremental run full when no complete full run is recent enough', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 81, timeEntries: 200, users: 2 }), rateLimit: false });
    try {
      const ids = unique('fullevery');
      const { cfg } = testConfig(fake, ids);
      const first = await runSync(cfg, { fullEvery: '7d' });
      assert.ifError(first.error);
      assert.equal(first.summary!.mode, 'full', 'no full run yet: reconcile');
      // Every resource is its own reference point of fullEvery.
      const marks = await query<{ resource: string }>(`SELECT resource FROM ${ids.database}._sync_state FINAL WHERE startsWith(resource, '__full_sync') ORDER BY resource`);
      assert.deepEqual(marks.map((m) => m.resource), CATALOG.map((r) => `__full_sync:${r.name}`).sort());
      const entry = fake.data.timeEntries[0];
      fake.remove('timeEntries', entry.id);
      const second = await runSync(cfg, { fullEvery: '7d' });
      assert.ifError(second.error);
      assert.equal(second.summary!.mode, 'incremental', 'the full run was minutes ago');
      const [{ d }] = await query<{ d: number }>(`SELECT _deleted AS d FROM ${ids.database}.time_entries FINAL WHERE id = {id:UInt64}`, { id: entry.id });
      assert.equal(d, 0, 'an incremental run cannot see the delete');
    } finally {
      await fake.close();
    }
  });

  it('fullEvery with resources: the first run reconciles them, the next is incremental', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 82, timeEntries: 200, users: 2 }), rateLimit: false });
    try {
      const ids = unique('fullevery_sel');
      const { cfg } = testConfig(fake, ids);
      const input = { fullEvery: '7d', resources: ['clients', 'time_entries'] };
      const first = await runSync(cfg, input);
      assert.ifError(first.error);
      assert.equal(first.summary!.mode, 'full');
      const runs = async () => query<{ mode: string; reconciled: string[] }>(`SELECT mode, reconciled FROM ${ids.database}._sync_runs FINAL ORDER BY started_at`);
      assert.deepEqual(await runs(), [{ mode: 'full', reconciled: ['clients', 'time_entries'] }]);
      const gone = fake.data.timeEntries[0];
      fake.remove('timeEntries', gone.id);
      const second = await runSync(cfg, input);
      assert.ifError(second.error);
      assert.equal(second.summary!.mode, 'incremental', 'both resources were reconciled minutes ago');
      assert.equal(resourceOf(second.summary, 'time_entries').updatedSince !== null, true);
      assert.deepEqual((await runs()).map((r) => r.mode), ['full', 'incremental']);
      const [{ d }] = await query<{ d: number }>(`SELECT _deleted AS d FROM ${ids.database}.time_entries FINAL WHERE id = {id:UInt64}`, { id: gone.id });
      assert.equal(d, 0, 'an incremental run does not reconcile');
    } finally {
      await fake.close();
    }
  });
});
