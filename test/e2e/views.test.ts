// The analytics views and the Grafana dashboard against a synced fake account: every
// number is computed again here, in TypeScript, from the fake's own records (and checked
// against Harvest's own reports where they exist), and every dashboard panel query runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateAccount, startFakeHarvest, type FakeHarvest, type Rec } from '../../fake-harvest/src';
import { query, runSync, testClickHouse, testConfig, unique } from '../support/harness';
import { servedTables } from '../support/oracle';
import { allPanels, loadDashboard, renderSql, variableSql, type RenderContext } from '../support/dashboard';
import { ANALYTICS_VIEWS, ensureViews } from '../../src/clickhouse/views';
import type { RunRow } from '../support/runs';
import { createRunsTableSQL, RUNS_TABLE } from '../../src/clickhouse/schema';
import { ensureSchema } from '../../src/clickhouse/schema';
import { insertRowsWithToken } from '../../src/clickhouse/store';
import { CATALOG, getResource, tablesOf } from '../../src/catalog';

const DAY_MS = 86_400_000;
/** Monday of the ISO week of a YYYY-MM-DD date. */
function mondayOf(day: string): string {
  const ms = Date.parse(`${day}T00:00:00Z`);
  const dow = (new Date(ms).getUTCDay() + 6) % 7;
  return new Date(ms - dow * DAY_MS).toISOString().slice(0, 10);
}
const idOf = (rec: Rec, field: string): number | null => ((rec[field] as { id?: number } | null)?.id ?? null);
const num = (x: unknown): number => (typeof x === 'number' ? x : 0);

function near(actual: unknown, expected: number, tolerance: number, what: string): void {
  const a = Number(actual);
  assert.ok(Math.abs(a - expected) <= tolerance, `${what}: got ${String(actual)}, expected ${expected} (±${tolerance})`);
}

interface Sums {
  hours: number;
  billable: number;
  amount: number;
  entries: number;
}
const add = (map: Map<string, Sums>, key: string, e: Rec): void => {
  const s = map.get(key) ?? { hours: 0, billable: 0, amount: 0, entries: 0 };
  const h = num(e.hours);
  s.hours += h;
  if (e.billable === true) {
    s.billable += h;
    s.amount += h * num(e.billable_rate);
  }
  s.entries++;
  map.set(key, s);
};

const SYNTHETIC_ACCOUNT = 999;
const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

function run(id: string, status: string, startedAgoMs: number, finishedAgoMs: number | null, version: number, error = ''): RunRow {
  const now = Date.now();
  const names = ['users', 'time_entries'];
  return {
    account_id: SYNTHETIC_ACCOUNT,
    run_id: id,
    workflow_id: `harvest-sync-${id}`,
    mode: 'incremental',
    trigger: 'schedule',
    schedule_id: 'harvest-sync-hourly',
    started_at: chTime(now - startedAgoMs),
    finished_at: finishedAgoMs === null ? null : chTime(now - finishedAgoMs),
    status,
    rows: 10 * version,
    requests: 3,
    rate_limited: 0,
    errors: error ? 1 : 0,
    error,
    'resources.name': names,
    'resources.state': status === 'failed' ? ['done', 'failed'] : status === 'succeeded' ? ['skipped', 'done'] : ['running', 'pending'],
    'resources.rows': [1, 2],
    'resources.pages': [1, 1],
    'resources.requests': [1, 2],
    'resources.rate_limited': [0, 0],
    'resources.deleted': [0, 0],
    'resources.error': status === 'failed' ? ['', error] : status === 'succeeded' ? ['403 Forbidden: skipped', ''] : ['', ''],
    _synced_at: chTime(now - (finishedAgoMs ?? startedAgoMs) + version),
  };
}

describe('analytics views and dashboard', () => {
  let fake: FakeHarvest;
  let db: string;
  let accountId: number;
  const removedEntries: number[] = [];

  before(async () => {
    fake = await startFakeHarvest({ data: generateAccount({ seed: 23, timeEntries: 3000, users: 12, projects: 14, expenses: 250 }), rateLimit: false });
    accountId = fake.data.accountId;
    const ids = unique('views');
    db = ids.database;
    const { cfg } = testConfig(fake, ids);
    const first = await runSync(cfg);
    assert.ifError(first.error);
    // Edits and deletes after the first sync: the views must count the newest version of
    // each record once, and deleted records not at all.
    const te = fake.data.timeEntries;
    for (const e of te.slice(100, 110)) fake.update('timeEntries', e.id, { hours: num(e.hours) + 1.5 });
    for (const e of te.slice(200, 205)) {
      removedEntries.push(e.id);
      fake.remove('timeEntries', e.id);
    }
    fake.remove('expenses', fake.data.expenses[3].id);
    const second = await runSync(cfg, { mode: 'full' });
    assert.ifError(second.error);
    // Until ensureSchema calls it, and idempotently after.
    await ensureViews(testClickHouse(), db);
    await ensureViews(testClickHouse(), db);
    const rows = [
      run('r-ok-old', 'succeeded', 30 * 3600_000, 30 * 3600_000 - 60_000, 1),
      run('r-ok', 'running', 3 * 3600_000, null, 1),
      run('r-ok', 'succeeded', 3 * 3600_000, 3 * 3600_000 - 90_000, 2),
      run('r-fail', 'running', 2 * 3600_000, null, 1),
      run('r-fail', 'failed', 2 * 3600_000, 2 * 3600_000 - 30_000, 2, 'time_entries: Harvest answered 422 Unprocessable'),
      run('r-now', 'running', 60_000, null, 1),
    ];
    await insertRowsWithToken(testClickHouse(), db, RUNS_TABLE, rows.map((r) => ({ ...r })), `views-runs-${Date.now()}`);
  });
  after(() => fake.close());

  it('creates every view with its documented columns, idempotently', async () => {
    const views = await query<{ name: string }>(`SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'View' ORDER BY name`, { db });
    assert.deepEqual(views.map((v) => v.name), ANALYTICS_VIEWS.map((v) => v.name).sort());
    for (const view of ANALYTICS_VIEWS) {
      assert.match(view.name, /^v_[a-z0-9_]+$/);
      assert.ok(view.description.length > 10 && !view.description.includes('\n'), `${view.name}: one-line description`);
      const columns = await query<{ name: string }>('SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position', { db, t: view.name });
      assert.deepEqual(columns.map((c) => c.name), view.columns.map((c) => c.name), `${view.name}: columns differ from ANALYTICS_VIEWS`);
      const [{ n }] = await query<{ n: number }>(`SELECT count() AS n FROM ${db}.${view.name}`);
      assert.ok(n > 0, `${view.name} is empty`);
    }
    const [ddl] = await query<{ create_table_query: string }>('SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {t:String}', { db, t: RUNS_TABLE });
    assert.match(ddl.create_table_query, /ReplacingMergeTree\(_synced_at\)/);
    assert.ok(createRunsTableSQL(db).includes('CREATE TABLE IF NOT EXISTS'));
  });

  it('skips the views whose tables a database does not have', async () => {
    const partial = unique('views_partial').database;
    const ch = testClickHouse();
    await ensureSchema(ch, partial, [getResource('users')]);
    await ensureViews(ch, partial);
    const views = await query<{ name: string }>(`SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'View' ORDER BY name`, { db: partial });
    assert.deepEqual(views.map((v) => v.name), ['v_last_sync', 'v_sync_runs']);
  });

  it('hours per day and per week match the fake, per person, project and task, without deleted entries', async () => {
    const entries = fake.data.timeEntries;
    for (const id of removedEntries) assert.ok(!entries.some((e) => e.id === id));
    const weekly = new Map<string, Sums>();
    const daily = new Map<string, Sums>();
    for (const e of entries) {
      const dims = `${idOf(e, 'user')}|${idOf(e, 'project')}|${idOf(e, 'task')}`;
      add(weekly, `${mondayOf(String(e.spent_date))}|${dims}`, e);
      add(daily, `${String(e.spent_date)}|${dims}`, e);
    }
    type Row = { key: string; hours: number; billable_hours: number; non_billable_hours: number; billable_amount: number; entries: number; client_id: number; currency: string };
    const check = (rows: Row[], want: Map<string, Sums>, what: string): void => {
      assert.equal(rows.length, want.size, `${what}: rows`);
      for (const r of rows) {
        const w = want.get(r.key);
        assert.ok(w, `${what}: unexpected row ${r.key}`);
        near(r.hours, w.hours, 0.006, `${what} ${r.key} hours`);
        near(r.billable_hours, w.billable, 0.006, `${what} ${r.key} billable_hours`);
        near(r.non_billable_hours, w.hours - w.billable, 0.006, `${what} ${r.key} non_billable_hours`);
        near(r.billable_amount, w.amount, 0.006, `${what} ${r.key} billable_amount`);
        assert.equal(r.entries, w.entries, `${what} ${r.key} entries`);
      }
    };
    const dims = "concat(toString(user_id), '|', toString(project_id), '|', toString(task_id))";
    check(await query<Row>(`SELECT concat(toString(week), '|', ${dims}) AS key, * FROM ${db}.v_hours_weekly WHERE account_id = {a:UInt64}`, { a: accountId }), weekly, 'v_hours_weekly');
    check(await query<Row>(`SELECT concat(toString(day), '|', ${dims}) AS key, * FROM ${db}.v_hours_daily WHERE account_id = {a:UInt64}`, { a: accountId }), daily, 'v_hours_daily');

    // Totals per project per week, and names and currencies from the entries.
    const byProjectWeek = new Map<string, number>();
    for (const e of entries) {
      const key = `${idOf(e, 'project')}|${mondayOf(String(e.spent_date))}`;
      byProjectWeek.set(key, (byProjectWeek.get(key) ?? 0) + num(e.hours));
    }
    const got = await query<{ key: string; h: number }>(
      `SELECT concat(toString(project_id), '|', toString(week)) AS key, sum(hours) AS h FROM ${db}.v_hours_weekly GROUP BY key`,
    );
    assert.equal(got.length, byProjectWeek.size);
    for (const r of got) near(r.h, byProjectWeek.get(r.key)!, 0.01, `project week ${r.key}`);
    const sample = entries[0];
    const [named] = await query<{ project_name: string; user_name: string; client_name: string; currency: string }>(
      `SELECT project_name, user_name, client_name, currency FROM ${db}.v_hours_daily WHERE day = {d:Date} AND project_id = {p:UInt64} AND user_id = {u:UInt64} LIMIT 1`,
      { d: sample.spent_date, p: idOf(sample, 'project'), u: idOf(sample, 'user') },
    );
    assert.equal(named.project_name, (sample.project as Rec).name);
    assert.equal(named.user_name, (sample.user as Rec).name);
    assert.equal(named.client_name, (sample.client as Rec).name);
    assert.equal(named.currency, (sample.client as Rec).currency);
  });

  it('billable split per week matches the fake', async () => {
    const weeks = new Map<string, { hours: number; billable: number; uninvoiced: number; people: Set<number>; entries: number }>();
    for (const e of fake.data.timeEntries) {
      const week = mondayOf(String(e.spent_date));
      const w = weeks.get(week) ?? { hours: 0, billable: 0, uninvoiced: 0, people: new Set<number>(), entries: 0 };
      w.hours += num(e.hours);
      if (e.billable === true) w.billable += num(e.hours);
      if (e.billable === true && e.is_billed !== true) w.uninvoiced += num(e.hours);
      w.people.add(idOf(e, 'user')!);
      w.entries++;
      weeks.set(week, w);
    }
    const rows = await query<Record<string, number | string | null>>(`SELECT * FROM ${db}.v_billable_split WHERE account_id = {a:UInt64}`, { a: accountId });
    assert.equal(rows.length, weeks.size);
    for (const r of rows) {
      const w = weeks.get(String(r.week))!;
      assert.ok(w, `unexpected week ${r.week}`);
      near(r.hours, w.hours, 0.006, `${r.week} hours`);
      near(r.billable_hours, w.billable, 0.006, `${r.week} billable_hours`);
      near(r.non_billable_hours, w.hours - w.billable, 0.006, `${r.week} non_billable_hours`);
      near(r.billable_share, w.billable / w.hours, 0.0001, `${r.week} billable_share`);
      near(r.uninvoiced_billable_hours, w.uninvoiced, 0.006, `${r.week} uninvoiced_billable_hours`);
      assert.equal(r.people, w.people.size);
      assert.equal(r.entries, w.entries);
    }
  });

  it('utilization per person and week is billable hours over weekly capacity', async () => {
    const users = new Map(fake.data.users.map((u) => [u.id, u]));
    const want = new Map<string, { hours: number; billable: number }>();
    for (const e of fake.data.timeEntries) {
      const key = `${idOf(e, 'user')}|${mondayOf(String(e.spent_date))}`;
      const w = want.get(key) ?? { hours: 0, billable: 0 };
      w.hours += num(e.hours);
      if (e.billable === true) w.billable += num(e.hours);
      want.set(key, w);
    }
    const rows = await query<Record<string, number | string | boolean | null>>(
      `SELECT concat(toString(user_id), '|', toString(week)) AS key, * FROM ${db}.v_utilization_weekly WHERE account_id = {a:UInt64}`,
      { a: accountId },
    );
    assert.equal(rows.length, want.size);
    let checked = 0;
    for (const r of rows) {
      const w = want.get(String(r.key))!;
      const user = users.get(Number(r.user_id))!;
      assert.ok(w && user, `unexpected row ${r.key}`);
      const capacity = num(user.weekly_capacity) / 3600;
      assert.equal(r.user_name, `${String(user.first_name)} ${String(user.last_name)}`);
      assert.equal(r.is_contractor, user.is_contractor);
      near(r.hours, w.hours, 0.006, `${r.key} hours`);
      near(r.billable_hours, w.billable, 0.006, `${r.key} billable_hours`);
      near(r.capacity_hours, capacity, 0.006, `${r.key} capacity_hours`);
      near(r.utilization, w.billable / capacity, 0.0001, `${r.key} utilization`);
      near(r.total_utilization, w.hours / capacity, 0.0001, `${r.key} total_utilization`);
      checked++;
    }
    assert.ok(checked > 100);
    // Zero capacity: utilization is NULL, not a division error.
    const someone = fake.data.users.find((u) => fake.data.timeEntries.some((e) => idOf(e, 'user') === u.id))!;
    fake.update('users', someone.id, { weekly_capacity: 0 });
    const { cfg } = testConfig(fake, { database: db, taskQueue: unique('views').taskQueue });
    assert.ifError((await runSync(cfg, { resources: ['users'] })).error);
    const zero = await query<{ capacity_hours: number; utilization: number | null; total_utilization: number | null }>(
      `SELECT capacity_hours, utilization, total_utilization FROM ${db}.v_utilization_weekly WHERE user_id = {u:UInt64}`,
      { u: someone.id },
    );
    assert.ok(zero.length > 0);
    for (const r of zero) assert.deepEqual([r.capacity_hours, r.utilization, r.total_utilization], [0, null, null]);
  });

  it('project budget burn matches the fake and Harvest project budget report', async () => {
    const spent = new Map<number, { hours: number; amount: number; expenses: number }>();
    const s = (pid: number) => spent.get(pid) ?? (spent.set(pid, { hours: 0, amount: 0, expenses: 0 }), spent.get(pid)!);
    const month = new Date().toISOString().slice(0, 7);
    const monthly = new Set(fake.data.projects.filter((p) => p.budget_is_monthly === true).map((p) => p.id));
    const counts = (rec: Rec, pid: number) => !monthly.has(pid) || String(rec.spent_date).startsWith(month);
    const allTime = new Map<number, { hours: number; amount: number; expenses: number }>();
    const a = (pid: number) => allTime.get(pid) ?? (allTime.set(pid, { hours: 0, amount: 0, expenses: 0 }), allTime.get(pid)!);
    for (const e of fake.data.timeEntries) {
      const pid = idOf(e, 'project')!;
      const amount = e.billable === true ? num(e.hours) * num(e.billable_rate) : 0;
      a(pid).hours += num(e.hours);
      a(pid).amount += amount;
      if (!counts(e, pid)) continue;
      s(pid).hours += num(e.hours);
      s(pid).amount += amount;
    }
    for (const x of fake.data.expenses) {
      const pid = idOf(x, 'project')!;
      a(pid).expenses += num(x.total_cost);
      if (counts(x, pid)) s(pid).expenses += num(x.total_cost);
    }
    const rows = await query<Record<string, number | string | boolean | null>>(`SELECT * FROM ${db}.v_project_budget WHERE account_id = {a:UInt64}`, { a: accountId });
    assert.equal(rows.length, fake.data.projects.length);
    let budgeted = 0;
    for (const r of rows) {
      const p = fake.data.projects.find((x) => x.id === Number(r.project_id))!;
      const sp = spent.get(p.id) ?? { hours: 0, amount: 0, expenses: 0 };
      const all = allTime.get(p.id) ?? { hours: 0, amount: 0, expenses: 0 };
      near(r.hours_spent, all.hours, 0.006, `${p.name} hours_spent`);
      near(r.billable_amount_spent, all.amount, 0.006, `${p.name} billable_amount_spent`);
      near(r.expenses_spent, all.expenses, 0.006, `${p.name} expenses_spent`);
      assert.equal(r.budget_by, p.budget_by);
      if (p.budget_by === 'none') {
        assert.deepEqual([r.budget_unit, r.budget, r.budget_remaining, r.budget_used_pct], [null, null, null, null], `${p.name}: no budget`);
        continue;
      }
      budgeted++;
      const byCost = p.budget_by === 'project_cost';
      const budget = num(byCost ? p.cost_budget : p.budget);
      const used = byCost ? sp.amount + (p.cost_budget_include_expenses === true ? sp.expenses : 0) : sp.hours;
      assert.equal(r.budget_unit, byCost ? 'money' : 'hours');
      near(r.budget, budget, 1e-9, `${p.name} budget`);
      near(r.budget_spent, used, 0.006, `${p.name} budget_spent`);
      near(r.budget_remaining, budget - used, 0.011, `${p.name} budget_remaining`);
      if (budget > 0) near(r.budget_used_pct, (100 * used) / budget, 0.011, `${p.name} budget_used_pct`);
      assert.equal(r.over_budget, used > budget ? 1 : 0);
    }
    assert.ok(budgeted > 3, 'the generated account has budgeted projects');
    // Harvest's own report (synced as report_project_budget) agrees on every budgeted project.
    const report = await query<{ project_id: number; budget: number | null; budget_spent: number; budget_remaining: number | null }>(
      `SELECT project_id, budget, budget_spent, budget_remaining FROM ${db}.report_project_budget FINAL WHERE _deleted = 0 AND account_id = {a:UInt64}`,
      { a: accountId },
    );
    assert.equal(report.length, budgeted);
    for (const rep of report) {
      const r = rows.find((x) => Number(x.project_id) === rep.project_id)!;
      near(r.budget, num(rep.budget), 1e-9, `report budget of ${rep.project_id}`);
      near(r.budget_spent, rep.budget_spent, 0.011, `report budget_spent of ${rep.project_id}`);
      near(r.budget_remaining, num(rep.budget_remaining), 0.011, `report budget_remaining of ${rep.project_id}`);
    }
  });

  it('uninvoiced hours and amounts per project and client match the fake and Harvest uninvoiced report', async () => {
    const invoiced = new Map<number, number>();
    for (const inv of fake.data.invoices) {
      for (const li of (inv.line_items as Rec[] | undefined) ?? []) {
        const pid = idOf(li, 'project');
        if (pid !== null) invoiced.set(pid, (invoiced.get(pid) ?? 0) + num(li.amount));
      }
    }
    const want = new Map<number, { hours: number; amount: number; expenses: number; total: number; oldest: string | null }>();
    const w = (pid: number) => want.get(pid) ?? (want.set(pid, { hours: 0, amount: 0, expenses: 0, total: 0, oldest: null }), want.get(pid)!);
    for (const e of fake.data.timeEntries) {
      const x = w(idOf(e, 'project')!);
      x.total += num(e.hours);
      if (e.billable === true && e.is_billed !== true) {
        x.hours += num(e.hours);
        x.amount += num(e.hours) * num(e.billable_rate);
        if (x.oldest === null || String(e.spent_date) < x.oldest) x.oldest = String(e.spent_date);
      }
    }
    for (const e of fake.data.expenses) if (e.billable === true && e.is_billed !== true) w(idOf(e, 'project')!).expenses += num(e.total_cost);
    const billable = fake.data.projects.filter((p) => p.is_billable === true);
    const rows = await query<Record<string, number | string | boolean | null>>(`SELECT * FROM ${db}.v_uninvoiced WHERE account_id = {a:UInt64}`, { a: accountId });
    assert.equal(rows.length, billable.length, 'one row per billable project');
    const byClient = new Map<string, number>();
    for (const r of rows) {
      const p = billable.find((x) => x.id === Number(r.project_id))!;
      assert.ok(p, `unexpected project ${r.project_id}`);
      const x = want.get(p.id) ?? { hours: 0, amount: 0, expenses: 0, total: 0, oldest: null };
      assert.equal(r.client_id, idOf(p, 'client'));
      near(r.total_hours, x.total, 0.006, `${p.name} total_hours`);
      near(r.uninvoiced_hours, x.hours, 0.006, `${p.name} uninvoiced_hours`);
      near(r.uninvoiced_time_amount, x.amount, 0.006, `${p.name} uninvoiced_time_amount`);
      near(r.uninvoiced_expenses, x.expenses, 0.006, `${p.name} uninvoiced_expenses`);
      near(r.invoiced_amount, invoiced.get(p.id) ?? 0, 0.006, `${p.name} invoiced_amount`);
      const amount = p.is_fixed_fee === true ? num(p.fee) - (invoiced.get(p.id) ?? 0) : x.amount + x.expenses;
      near(r.uninvoiced_amount, amount, 0.011, `${p.name} uninvoiced_amount`);
      assert.equal(r.oldest_uninvoiced_date, x.oldest);
      const key = `${r.client_id}|${r.currency}`;
      byClient.set(key, (byClient.get(key) ?? 0) + amount);
    }
    assert.ok([...want.values()].some((x) => x.hours > 0), 'the account has uninvoiced time');
    // Per client, as the dashboard sums it.
    const clients = await query<{ key: string; amount: number }>(
      `SELECT concat(toString(client_id), '|', currency) AS key, sum(uninvoiced_amount) AS amount FROM ${db}.v_uninvoiced WHERE account_id = {a:UInt64} GROUP BY key`,
      { a: accountId },
    );
    assert.equal(clients.length, byClient.size);
    for (const c of clients) near(c.amount, byClient.get(c.key)!, 0.05, `client ${c.key}`);
    // Harvest's uninvoiced report, per 365-day window: its windows together cover every
    // entry, so their sums are the view's to-date figures; a fixed-fee project shows its
    // fee less what was invoiced in every window.
    const report = await query<{ project_id: number; hours: number; expenses: number; amount: number; fixed: number }>(
      `SELECT project_id, sum(uninvoiced_hours) AS hours, sum(uninvoiced_expenses) AS expenses, sum(uninvoiced_amount) AS amount, max(uninvoiced_amount) AS fixed
       FROM ${db}.report_uninvoiced FINAL WHERE _deleted = 0 AND account_id = {a:UInt64} GROUP BY project_id`,
      { a: accountId },
    );
    assert.equal(report.length, billable.length);
    for (const rep of report) {
      const r = rows.find((x) => Number(x.project_id) === rep.project_id)!;
      near(r.uninvoiced_hours, rep.hours, 0.011, `report hours of ${rep.project_id}`);
      near(r.uninvoiced_expenses, rep.expenses, 0.011, `report expenses of ${rep.project_id}`);
      if (r.is_fixed_fee) near(r.uninvoiced_amount, rep.fixed, 0.011, `report fixed-fee amount of ${rep.project_id}`);
      else near(r.uninvoiced_amount, rep.amount, 0.05, `report amount of ${rep.project_id}`);
    }
  });

  it('freshness lists every catalog table and the run log with live rows and age', async () => {
    const served = await servedTables(fake);
    const rows = await query<{ table_name: string; resource: string; live_rows: number; deleted_rows: number; last_synced_at: string | null; age_seconds: number | null }>(
      `SELECT * FROM ${db}.v_freshness`,
    );
    const tables = CATALOG.flatMap((r) => tablesOf(r).map((t) => [t.name, r.name] as const));
    assert.deepEqual(rows.map((r) => r.table_name).sort(), [...tables.map(([t]) => t), RUNS_TABLE].sort());
    for (const [table, resource] of tables) {
      const r = rows.find((x) => x.table_name === table)!;
      assert.equal(r.resource, resource);
      assert.equal(r.live_rows, served.get(table)!.size, `${table}: live rows`);
      if (r.live_rows > 0) {
        assert.ok(r.last_synced_at !== null, `${table}: last_synced_at`);
        assert.ok(r.age_seconds !== null && r.age_seconds >= 0 && r.age_seconds < 3600, `${table}: age ${r.age_seconds}`);
      }
    }
    const te = rows.find((x) => x.table_name === 'time_entries')!;
    assert.ok(te.deleted_rows >= removedEntries.length, 'deleted time entries are counted as deleted');
    const runs = rows.find((x) => x.table_name === RUNS_TABLE)!;
    assert.ok(runs.live_rows >= 4, 'the four synthetic runs');
  });

  it('sync runs show the latest state per run, and sync health per account', async () => {
    const runs = await query<Record<string, unknown>>(
      `SELECT * FROM ${db}.v_sync_runs WHERE account_id = {a:UInt64} ORDER BY started_at`,
      { a: SYNTHETIC_ACCOUNT },
    );
    assert.deepEqual(runs.map((r) => [r.run_id, r.status]), [['r-ok-old', 'succeeded'], ['r-ok', 'succeeded'], ['r-fail', 'failed'], ['r-now', 'running']]);
    const failed = runs.find((r) => r.run_id === 'r-fail')!;
    assert.deepEqual(failed.failed_resources, ['time_entries']);
    const ok = runs.find((r) => r.run_id === 'r-ok')!;
    assert.deepEqual([ok.failed_resources, ok.skipped_resources], [[], ['users']], 'a skipped resource is not a failure');
    assert.equal(failed.resources_total, 2);
    near(failed.duration_seconds, 30, 0.01, 'duration of the failed run');
    assert.equal(runs.find((r) => r.run_id === 'r-ok')!.rows, 20, 'the newest version of the run');
    assert.ok(Number(runs.find((r) => r.run_id === 'r-now')!.duration_seconds) >= 60, 'a running run lasts until now');

    const [health] = await query<Record<string, unknown>>(`SELECT * FROM ${db}.v_last_sync WHERE account_id = {a:UInt64}`, { a: SYNTHETIC_ACCOUNT });
    assert.equal(health.last_status, 'running');
    assert.equal(health.last_success_run_id, 'r-ok');
    near(health.seconds_since_success, 3 * 3600 - 90, 120, 'seconds since success');
    assert.equal(health.last_failure_error, 'time_entries: Harvest answered 422 Unprocessable');
    assert.equal(health.failures_24h, 1);
    assert.equal(health.runs_24h, 3);
    assert.equal(health.running, 1);

    // The runs of this test, as the sync logged them.
    const real = await query<{ status: string; mode: string; rows: number; failed_resources: string[] }>(
      `SELECT status, mode, rows, failed_resources FROM ${db}.v_sync_runs WHERE account_id = {a:UInt64} ORDER BY started_at`,
      { a: accountId },
    );
    assert.deepEqual(real.map((r) => [r.status, r.mode]), [['succeeded', 'incremental'], ['succeeded', 'full'], ['succeeded', 'incremental']]);
    assert.ok(real[1].rows >= fake.data.timeEntries.length, 'the full run wrote every time entry at least');
    const [mine] = await query<{ last_status: string; failures_24h: number; runs_24h: number; seconds_since_success: number }>(
      `SELECT * FROM ${db}.v_last_sync WHERE account_id = {a:UInt64}`,
      { a: accountId },
    );
    assert.deepEqual([mine.last_status, mine.failures_24h, mine.runs_24h], ['succeeded', 0, 3]);
    assert.ok(mine.seconds_since_success >= 0 && mine.seconds_since_success < 600);
  });

  it('every dashboard panel query runs and returns rows; the headline numbers match the fake', async () => {
    const dashboard = loadDashboard();
    const from = new Date('2024-01-01T00:00:00Z');
    const ctx: RenderContext = { vars: { database: db, account: [String(accountId), String(SYNTHETIC_ACCOUNT)] }, from, to: new Date(Date.now() + DAY_MS) };
    // The variables' own queries: the database list holds the test database, the account list its account.
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    const dbs = await query<Record<string, string>>(renderSql(variableSql(vars.get('database')!), ctx));
    assert.ok(dbs.some((r) => Object.values(r)[0] === db));
    const accounts = await query<Record<string, number>>(renderSql(variableSql(vars.get('account')!), ctx));
    assert.deepEqual(accounts.map((r) => Number(Object.values(r)[0])), [accountId]);

    const results = new Map<string, Record<string, unknown>[]>();
    const panels = allPanels(dashboard).filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 10);
    for (const panel of panels) {
      assert.ok(panel.targets?.length, `${panel.title}: no query`);
      for (const t of panel.targets!) {
        let rows: Record<string, unknown>[];
        try {
          rows = await query<Record<string, unknown>>(renderSql(t.rawSql, ctx));
        } catch (err) {
          assert.fail(`panel "${panel.title}": ${(err as Error).message}`);
        }
        assert.ok(rows.length > 0, `panel "${panel.title}" returned no rows`);
        results.set(panel.title, rows);
      }
    }
    const total = fake.data.timeEntries.reduce((s, e) => s + num(e.hours), 0);
    const billable = fake.data.timeEntries.reduce((s, e) => s + (e.billable === true ? num(e.hours) : 0), 0);
    near(results.get('Hours tracked')![0].total_hours, total, 0.01, 'Hours tracked');
    near(results.get('Billable share')![0].billable_ratio, billable / total, 1e-6, 'Billable share');
    const freshness = results.get('Data freshness')!;
    assert.equal(freshness.length, CATALOG.flatMap(tablesOf).length + 1);
    const weekly = results.get('Billable vs non-billable hours per week')!;
    near(weekly.reduce((s, r) => s + Number(r.billable), 0), billable, 0.05, 'billable hours per week, summed');
    assert.deepEqual(results.get('Sync failures')!.map((r) => r.error), ['time_entries: Harvest answered 422 Unprocessable']);
    const budgetRows = results.get('Project budget burn')!;
    assert.equal(budgetRows.length, fake.data.projects.filter((p) => p.budget_by !== 'none').length);
    // The time range applies: a range before any entry shows no hours.
    const before2024 = { ...ctx, from: new Date('2020-01-01T00:00:00Z'), to: new Date('2020-12-31T00:00:00Z') };
    const hoursPanel = panels.find((p) => p.title === 'Hours tracked')!;
    const [empty] = await query<{ total_hours: number | null }>(renderSql(hoursPanel.targets![0].rawSql, before2024));
    assert.equal(Number(empty.total_hours ?? 0), 0);
  });
});
