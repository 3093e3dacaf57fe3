// What a token may see (issue 9): under a Member's or a Manager's token Harvest answers
// 200 with part of the account, so a full run must not take absence for deletion. Real
// components: the fake Harvest over HTTP (per-token roles), Temporal dev server and
// worker, embedded ClickHouse.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actingUser, generateAccount, managedProjects, reportRows, startFakeHarvest, teammatesFor, type FakeHarvest, type Rec } from '../../fake-harvest/src';
import { query, runSync, testClickHouse, testConfig, testStore, unique, type TestSetup } from '../support/harness';
import type { RecordCheck, SyncSummary, TokenReach } from '../../src/core/types';
import { MockActivityEnvironment } from '@temporalio/testing';
import { HarvestClient } from '../../src/harvest/client';
import { createActivities } from '../../src/activities';
import { CATALOG, getResource, tablesOf } from '../../src/catalog';
import { ensureSchema } from '../../src/clickhouse/schema';
import { parentIds, recordParentChecks, storePage } from '../../src/clickhouse/store';
import { buildTables } from '../../src/clickhouse/rows';

const TOKENS = { admin: 'test-pat', member: 'member-pat', manager: 'manager-pat' };
const userOf = (r: Rec): number => (r.user as { id: number }).id;
const projectOf = (r: Rec): number => (r.project as { id: number }).id;

async function startFake(seed: number): Promise<FakeHarvest> {
  return startFakeHarvest({
    data: generateAccount({ seed, timeEntries: 900, users: 14 }),
    rateLimit: false,
    tokens: Object.values(TOKENS),
    tokenRoles: { [TOKENS.member]: 'member', [TOKENS.manager]: 'manager' },
  });
}

/** Rows marked deleted per table (newest version of each row). */
async function deletedByTable(db: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of CATALOG.flatMap(tablesOf)) {
    const [{ n }] = await query<{ n: number }>(`SELECT count() AS n FROM ${db}.${t.name} FINAL WHERE _deleted = 1`);
    if (n > 0) out.set(t.name, n);
  }
  return out;
}

const resource = (s: SyncSummary | undefined, name: string) => {
  const r = s?.resources.find((x) => x.resource === name);
  assert.ok(r, `no summary for ${name}`);
  return r;
};

describe('token reach', () => {
  describe('a Member token', () => {
    let fake: FakeHarvest;
    let admin: TestSetup;
    let member: TestSetup;
    let db: string;
    before(async () => {
      fake = await startFake(21);
      const ids = unique('reach_member');
      db = ids.database;
      admin = testConfig(fake, ids, { HARVEST_ACCESS_TOKEN: TOKENS.admin });
      member = testConfig(fake, ids, { HARVEST_ACCESS_TOKEN: TOKENS.member });
    });
    after(() => fake.close());

    it("after an Administrator's full sync, a --full run under a Member token marks no other user's row deleted", async () => {
      const first = await runSync(admin.cfg, { mode: 'full' });
      assert.ifError(first.error);
      assert.equal(first.summary?.token?.role, 'administrator');
      assert.equal((await deletedByTable(db)).size, 0);

      const me = actingUser(fake.data, 'member')!;
      assert.ok((me.access_roles as string[]).includes('member'));
      const mine = fake.data.timeEntries.filter((e) => userOf(e) === me.id);
      const others = fake.data.timeEntries.filter((e) => userOf(e) !== me.id);
      assert.ok(mine.length >= 2 && others.length > 100, `seed gives the member ${mine.length} entries`);
      // Deleted in Harvest meanwhile: one of the member's own entries (the member's listing
      // shows it gone) and one of someone else's (the member cannot know).
      const gone = fake.remove('timeEntries', mine[0].id as number);
      const othersGone = fake.remove('timeEntries', others[0].id as number);

      const { summary, error } = await runSync(member.cfg, { mode: 'full' });
      assert.ifError(error);
      assert.deepEqual(summary?.token, { userId: me.id, accessRoles: me.access_roles, role: 'member' });

      // Only the member's own vanished entry is marked deleted; nothing else anywhere.
      assert.deepEqual([...(await deletedByTable(db))], [['time_entries', 1]]);
      const deleted = await query<{ id: number; user_id: number }>(`SELECT id, user_id FROM ${db}.time_entries FINAL WHERE _deleted = 1`);
      assert.deepEqual(deleted, [{ id: gone.id, user_id: me.id }]);
      const [{ live }] = await query<{ live: number }>(`SELECT count() AS live FROM ${db}.time_entries FINAL WHERE _deleted = 0 AND id = {id:UInt64}`, { id: othersGone.id });
      assert.equal(live, 1, "another user's entry must stay live: the member's listing could not show it");

      // The run says why: narrowed where Harvest says whose a row is, skipped elsewhere.
      const te = resource(summary, 'time_entries');
      assert.equal(te.deleted, 1);
      assert.match(te.warning ?? '', /deletions marked only for rows of 1 user\(s\) the token \(user \d+, member\) can see/);
      const categories = resource(summary, 'expense_categories');
      assert.equal(categories.state, 'done');
      assert.match(categories.warning ?? '', /deletions not marked: the token \(user \d+, member\) is not an Administrator's/);
      // What the member may not list at all is skipped (403), as before.
      assert.equal(resource(summary, 'users').state, 'skipped');

      // The run log records whose token it was.
      const runs = await query<{ mode: string; token_user_id: number | null; token_access_roles: string[] }>(
        `SELECT mode, token_user_id, token_access_roles FROM ${db}._sync_runs FINAL WHERE status = 'succeeded' ORDER BY started_at`,
      );
      assert.deepEqual(runs.map((r) => r.token_user_id), [fake.data.meUserId, me.id]);
      assert.deepEqual(runs[1].token_access_roles, me.access_roles);
    });
  });

  describe('a Manager token', () => {
    let fake: FakeHarvest;
    let db: string;
    let admin: TestSetup;
    let manager: TestSetup;
    before(async () => {
      fake = await startFake(33);
      const ids = unique('reach_manager');
      db = ids.database;
      admin = testConfig(fake, ids, { HARVEST_ACCESS_TOKEN: TOKENS.admin });
      manager = testConfig(fake, ids, { HARVEST_ACCESS_TOKEN: TOKENS.manager });
    });
    after(() => fake.close());

    it('the teammates table holds each Manager’s teammates and nothing for Members (their 422 is no failure)', async () => {
      const { summary, error } = await runSync(admin.cfg, { mode: 'full' });
      assert.ifError(error);
      assert.equal(resource(summary, 'teammates').state, 'done');
      const managers = fake.data.users.filter((u) => (u.access_roles as string[]).includes('manager'));
      const members = fake.data.users.filter((u) => (u.access_roles as string[]).includes('member'));
      assert.ok(managers.length >= 1 && members.length >= 1, 'the seed needs a Manager and a Member');
      const expected = new Map<number, number[]>();
      for (const m of managers) {
        const mates = (teammatesFor(fake.data, m.id as number) ?? []).map((u) => u.id as number).sort((a, b) => a - b);
        if (mates.length) expected.set(m.id as number, mates);
      }
      assert.ok(expected.size >= 1, 'at least one Manager has teammates');
      const rows = await query<{ user_id: number; ids: number[] }>(
        `SELECT user_id, arraySort(groupArray(id)) AS ids FROM ${db}.teammates FINAL WHERE _deleted = 0 GROUP BY user_id ORDER BY user_id`,
      );
      assert.deepEqual(rows.map((r) => [r.user_id, r.ids]), [...expected].sort((a, b) => a[0] - b[0]));
      const [{ emails }] = await query<{ emails: number }>(`SELECT countIf(email != '') AS emails FROM ${db}.teammates FINAL`);
      assert.ok(emails > 0);
      // Every member was asked and answered 422.
      for (const m of members) {
        assert.ok(fake.requests.some((r) => r.path === `/v2/users/${m.id}/teammates` && r.status === 422), `member ${m.id} not asked`);
      }
    });

    it("a --full run under a Manager token marks deleted only what the Manager could see", async () => {
      const me = actingUser(fake.data, 'manager')!;
      assert.ok((me.access_roles as string[]).includes('manager'));
      const mates = new Set((teammatesFor(fake.data, me.id as number) ?? []).map((u) => u.id as number));
      const projects = managedProjects(fake.data, me.id as number);
      const sees = (e: Rec): boolean => userOf(e) === me.id || mates.has(userOf(e)) || projects.has(projectOf(e));
      const visible = fake.data.timeEntries.filter(sees);
      const hidden = fake.data.timeEntries.filter((e) => !sees(e));
      const teammateEntry = visible.find((e) => userOf(e) !== me.id);
      assert.ok(teammateEntry && hidden.length >= 2, 'the seed gives the Manager teammates or managed projects, and hides others');
      const gone = fake.remove('timeEntries', teammateEntry.id as number);
      const hiddenGone = fake.remove('timeEntries', hidden[0].id as number);
      assert.ok(projects.size > 0, 'the seed makes the Manager manage projects');
      type ReportRow = { project_id: number; window_from: string; window_to: string; currency: string; total_hours: number; _sync_id: string };
      const projectRows = (): Promise<ReportRow[]> => query<ReportRow>(
        `SELECT project_id, toString(window_from) AS window_from, toString(window_to) AS window_to, currency, total_hours, _sync_id
         FROM ${db}.report_time_projects FINAL WHERE _deleted = 0 ORDER BY window_from, project_id, currency`,
      );
      const clientRows = (): Promise<unknown[]> => query(`SELECT * EXCEPT (_synced_at) FROM ${db}.report_time_clients FINAL ORDER BY window_from, client_id, currency`);
      const projectsBefore = await projectRows();
      const clientsBefore = await clientRows();
      assert.ok(projectsBefore.some((r) => !projects.has(r.project_id)) && projectsBefore.some((r) => projects.has(r.project_id)));
      fake.resetLog();

      const { summary, error } = await runSync(manager.cfg, { mode: 'full' });
      assert.ifError(error);
      assert.equal(summary?.token?.role, 'manager');
      assert.deepEqual([...(await deletedByTable(db))], [['time_entries', 1]]);
      const deleted = await query<{ id: number }>(`SELECT id FROM ${db}.time_entries FINAL WHERE _deleted = 1`);
      assert.deepEqual(deleted.map((r) => r.id), [gone.id]);
      const [{ live }] = await query<{ live: number }>(`SELECT count() AS live FROM ${db}.time_entries FINAL WHERE _deleted = 0 AND id = {id:UInt64}`, { id: hiddenGone.id });
      assert.equal(live, 1);
      assert.match(resource(summary, 'time_entries').warning ?? '', /deletions marked only for rows of \d+ user\(s\)/);
      assert.match(resource(summary, 'expense_categories').warning ?? '', /deletions not marked/);

      // Reports: rows that mix projects are not read at all; per-project rows only where the
      // Manager sees every entry (its projects), whole; every other row stays as it was.
      for (const name of ['report_time_clients', 'report_time_tasks', 'report_time_team', 'report_expenses_clients', 'report_expenses_categories', 'report_expenses_team']) {
        assert.equal(resource(summary, name).state, 'skipped', name);
        assert.match(resource(summary, name).warning ?? '', /not read: the token \(user \d+, manager\) is not an Administrator's and the rows of .* mix projects/);
      }
      assert.deepEqual(fake.requests.filter((r) => /^\/v2\/reports\/(time|expenses)\/(clients|tasks|team|categories)/.test(r.path)), []);
      assert.deepEqual(await clientRows(), clientsBefore);
      const projectsReport = resource(summary, 'report_time_projects');
      assert.equal(projectsReport.state, 'done');
      assert.match(projectsReport.warning ?? '', new RegExp(`only the rows of the ${projects.size} project\\(s\\) the token \\(user \\d+, manager\\) manages are written`));
      const after = await projectRows();
      assert.deepEqual(after.filter((r) => !projects.has(r.project_id)), projectsBefore.filter((r) => !projects.has(r.project_id)), 'rows of other projects untouched');
      const windows = [...new Map(projectsBefore.map((r) => [r.window_from, { from: r.window_from, to: r.window_to }])).values()];
      const want = windows.flatMap((w) => (reportRows(fake.data, 'time/projects', { window: w }) as Array<{ project_id: number; currency: string; total_hours: number }>)
        .filter((r) => projects.has(r.project_id))
        .map((r) => ({ project_id: r.project_id, window_from: w.from, currency: r.currency, total_hours: r.total_hours })));
      const managedAfter = after.filter((r) => projects.has(r.project_id)).map((r) => ({ project_id: r.project_id, window_from: r.window_from, currency: r.currency, total_hours: r.total_hours }));
      const order = (a: { window_from: string; project_id: number; currency: string }, b: typeof a) => a.window_from.localeCompare(b.window_from) || a.project_id - b.project_id || a.currency.localeCompare(b.currency);
      assert.deepEqual(managedAfter.sort(order), want.sort(order), 'the managed projects hold their whole totals');
    });

    it('under a token below Administrator, a 404 marks a deletion candidate gone only when its stored row is within reach', async () => {
      const me = actingUser(fake.data, 'manager')!;
      const mates = new Set((teammatesFor(fake.data, me.id as number) ?? []).map((u) => u.id as number));
      const projects = managedProjects(fake.data, me.id as number);
      const reach: TokenReach = { userId: me.id as number, accessRoles: me.access_roles as string[], role: 'manager', userIds: [me.id as number, ...mates].sort((a, b) => a - b), projectIds: [...projects].sort((a, b) => a - b) };
      const sees = (e: Rec): boolean => reach.userIds!.includes(userOf(e)) || projects.has(projectOf(e));
      // Stored (by the Administrator's sync) and live: one entry the Manager sees, one it does not.
      const live = await query<{ id: number; user_id: number; project_id: number }>(`SELECT id, user_id, project_id FROM ${db}.time_entries FINAL WHERE _deleted = 0`);
      const byId = new Map(fake.data.timeEntries.map((e) => [e.id as number, e]));
      const inReach = live.find((r) => byId.has(r.id) && sees(byId.get(r.id)!))!;
      const outOfReach = live.find((r) => byId.has(r.id) && !sees(byId.get(r.id)!))!;
      assert.ok(inReach && outOfReach);
      fake.remove('timeEntries', inReach.id);
      fake.remove('timeEntries', outOfReach.id);
      const harvest = new HarvestClient(manager.cfg.harvest!);
      const clickhouse = testStore(db);
      const activities = createActivities({ harvest, harvestConfig: manager.cfg.harvest!, clickhouse });
      const env = new MockActivityEnvironment();
      const check = (id: number, withReach?: TokenReach): Promise<RecordCheck> =>
        env.run(activities.fetchRecord, { accountId: String(fake.data.accountId), syncId: 'check', resource: 'time_entries', id: String(id), ...(withReach ? { reach: withReach } : {}) }) as Promise<RecordCheck>;
      try {
        assert.equal((await check(inReach.id, reach)).state, 'gone');
        assert.equal((await check(outOfReach.id, reach)).state, 'unknown', 'a 404 for a record the token may not see proves nothing');
        assert.equal((await check(outOfReach.id)).state, 'gone', "an Administrator's 404 is a deletion");
      } finally {
        await harvest.close();
        await clickhouse.close();
      }
    });
  });
});

describe('names as of reading', () => {
  let fake: FakeHarvest;
  let setup: TestSetup;
  let db: string;
  const RESOURCES = ['users', 'clients', 'projects', 'tasks', 'time_entries', 'expenses'];
  before(async () => {
    fake = await startFakeHarvest({ data: generateAccount({ seed: 5, timeEntries: 600, users: 8 }), rateLimit: false });
    const ids = unique('reach_names');
    db = ids.database;
    setup = testConfig(fake, ids);
  });
  after(() => fake.close());

  it('a renamed project and client show their new names in the views for old days, after an incremental run', async () => {
    assert.ifError((await runSync(setup.cfg, { resources: RESOURCES })).error);
    // Typed nested values (issue 9): external references and receipts have columns.
    const refs = fake.data.timeEntries.filter((e) => e.external_reference);
    const [typed] = await query<{ groups: number; icons: number }>(
      `SELECT countIf(external_reference_group_id IS NOT NULL) AS groups, countIf(external_reference_service_icon_url LIKE 'https://%') AS icons FROM ${db}.time_entries FINAL`,
    );
    assert.deepEqual(typed, { groups: refs.length, icons: refs.length });
    const receipts = fake.data.expenses.filter((e) => e.receipt);
    const [sizes] = await query<{ n: number; bytes: number }>(`SELECT count() AS n, sum(receipt_file_size) AS bytes FROM ${db}.expenses FINAL WHERE receipt_content_type != ''`);
    assert.deepEqual(sizes, { n: receipts.length, bytes: receipts.reduce((s, e) => s + ((e.receipt as { file_size: number }).file_size), 0) });

    // The project with the oldest entry: its entries are not touched by the rename.
    const oldest = [...fake.data.timeEntries].sort((a, b) => String(a.spent_date).localeCompare(String(b.spent_date)))[0];
    const projectId = projectOf(oldest);
    const clientId = (oldest.client as { id: number }).id;
    fake.update('projects', projectId, { name: 'Renamed Project' });
    fake.update('clients', clientId, { name: 'Renamed Client' });
    const second = await runSync(setup.cfg, { resources: RESOURCES });
    assert.ifError(second.error);
    assert.equal(resource(second.summary, 'time_entries').rows, 0, 'the rename must not re-read the entries');

    // The entries keep the names they were read with...
    const [stale] = await query<{ names: string[] }>(`SELECT groupUniqArray(project_name) AS names FROM ${db}.time_entries FINAL WHERE project_id = {p:UInt64}`, { p: projectId });
    assert.ok(!stale.names.includes('Renamed Project'));
    // ...the views show the new ones, on every day, the oldest included.
    const rows = await query<{ day: string; project_name: string }>(`SELECT toString(day) AS day, project_name FROM ${db}.v_hours_daily WHERE project_id = {p:UInt64} ORDER BY day`, { p: projectId });
    assert.ok(rows.length > 0 && rows[0].day === oldest.spent_date);
    assert.deepEqual([...new Set(rows.map((r) => r.project_name))], ['Renamed Project']);
    const clients = await query<{ client_name: string }>(`SELECT DISTINCT client_name FROM ${db}.v_hours_weekly WHERE client_id = {c:UInt64}`, { c: clientId });
    assert.deepEqual(clients.map((r) => r.client_name), ['Renamed Client']);
    const budget = await query<{ project_name: string; client_name: string }>(`SELECT project_name, client_name FROM ${db}.v_project_budget WHERE project_id = {p:UInt64}`, { p: projectId });
    assert.deepEqual(budget, [{ project_name: 'Renamed Project', client_name: (fake.data.projects.find((p) => p.id === projectId)!.client as { id: number }).id === clientId ? 'Renamed Client' : budget[0]?.client_name }]);
  });
});

describe('child lists that change quietly', () => {
  it('incremental fan-outs also ask the newest still-open parents, within the budget, and count them', async () => {
    const ch = testClickHouse();
    const { database: db } = unique('reach_recheck');
    await ensureSchema(ch, db, CATALOG);
    const invoices = getResource('invoices');
    const payments = getResource('invoice_payments');
    const budget = payments.recheck!.budget;
    // Open invoices: more than the budget; paid and closed ones too. One paid invoice is written by sync "now".
    const states = (i: number): string => (i % 3 === 0 ? 'paid' : i % 3 === 1 ? 'open' : 'draft');
    const records = Array.from({ length: 3 * budget }, (_, i) => ({
      id: 1000 + i, state: states(i), updated_at: new Date(Date.UTC(2024, 0, 1 + i)).toISOString().replace('.000', ''), line_items: [],
    }));
    const store = async (recs: Array<Record<string, unknown>>, syncId: string) =>
      storePage(ch, db, invoices, '1', syncId, buildTables(invoices, recs, { accountId: '1', syncedAt: new Date(), syncId }));
    await store(records, 'before');
    const changed = records.find((r) => r.state === 'paid' && r.id < 1010)!;
    await store([changed], 'now');

    const chunk = await parentIds(ch, db, '1', payments, 0, 1000, 'now');
    const open = records.filter((r) => r.state !== 'paid').sort((a, b) => b.updated_at.localeCompare(a.updated_at)).slice(0, budget).map((r) => r.id);
    assert.deepEqual(chunk.ids, [changed.id, ...open].sort((a, b) => a - b));
    assert.equal(chunk.rechecked, budget);
    // Keyset paging keeps the same set across chunks.
    const first = await parentIds(ch, db, '1', payments, 0, 10, 'now');
    const rest = await parentIds(ch, db, '1', payments, first.ids[first.ids.length - 1], 1000, 'now');
    assert.deepEqual([...first.ids, ...rest.ids], chunk.ids);
    assert.equal(first.rechecked + rest.rechecked, budget);
    // Full runs ask every live parent; nothing counts as rechecked.
    const all = await parentIds(ch, db, '1', payments, 0, 1000);
    assert.equal(all.ids.length, records.length);
    assert.equal(all.rechecked, 0);
    // Active users for rates (a Bool column).
    const users = getResource('users');
    const userRecs = [{ id: 1, is_active: true, updated_at: '2024-01-01T00:00:00Z' }, { id: 2, is_active: false, updated_at: '2024-01-02T00:00:00Z' }];
    await storePage(ch, db, users, '1', 'before', buildTables(users, userRecs, { accountId: '1', syncedAt: new Date(), syncId: 'before' }));
    assert.deepEqual(await parentIds(ch, db, '1', getResource('billable_rates'), 0, 1000, 'now'), { ids: [1], rechecked: 1 });
  });

  it('the re-check rotates: every open parent is asked within a few runs, the longest unasked first', async () => {
    const ch = testClickHouse();
    const { database: db } = unique('reach_rotate');
    await ensureSchema(ch, db, CATALOG);
    const invoices = getResource('invoices');
    const payments = getResource('invoice_payments');
    const budget = payments.recheck!.budget;
    assert.equal(budget, 25);
    // 30 open invoices and 10 paid ones; none written by the runs below (no change signals).
    const records = Array.from({ length: 40 }, (_, i) => ({
      id: 2000 + i, state: i < 30 ? (i % 2 ? 'open' : 'draft') : 'paid', updated_at: new Date(Date.UTC(2024, 0, 1 + i)).toISOString().replace('.000', ''), line_items: [],
    }));
    await storePage(ch, db, invoices, '1', 'before', buildTables(invoices, records, { accountId: '1', syncedAt: new Date(), syncId: 'before' }));
    const open = records.filter((r) => r.state !== 'paid').map((r) => r.id);
    const seen = new Set<number>();
    const rounds: number[][] = [];
    for (let run = 1; run <= 3; run++) {
      const sync = `run-${run}`;
      // Two chunks, as a fan-out reads them: the same set as one.
      const first = await parentIds(ch, db, '1', payments, 0, 12, sync);
      const rest = await parentIds(ch, db, '1', payments, first.ids.at(-1)!, 1000, sync);
      const ids = [...first.ids, ...rest.ids];
      assert.equal(ids.length, budget);
      assert.equal(first.rechecked + rest.rechecked, budget);
      assert.ok(ids.every((id) => open.includes(id)), 'only open invoices are re-checked');
      rounds.push(ids);
      for (const id of ids) seen.add(id);
      await recordParentChecks(ch, db, '1', payments, sync, true);
      // Recording again (a retried activity) changes nothing.
      await recordParentChecks(ch, db, '1', payments, sync, true);
      assert.deepEqual((await parentIds(ch, db, '1', payments, 0, 1000, sync)).ids, ids);
    }
    assert.deepEqual([...seen].sort((a, b) => a - b), open, 'all 30 open invoices re-checked within 3 runs');
    // The first run takes the newest 25; the second starts with the 5 never asked.
    const newest = [...open].sort((a, b) => b - a).slice(0, budget);
    assert.deepEqual(rounds[0], [...newest].sort((a, b) => a - b));
    for (const id of open.filter((x) => !newest.includes(x))) assert.ok(rounds[1].includes(id), `${id} waits one run at most`);
    // Another child list keeps its own rotation.
    assert.deepEqual((await parentIds(ch, db, '1', getResource('invoice_messages'), 0, 1000, 'run-1')).ids, [...newest].sort((a, b) => a - b));
  });

  it('typed nested values are back-filled from _raw into tables that lack their columns', async () => {
    const ch = testClickHouse();
    const { database: db } = unique('reach_backfill');
    const invoices = getResource('invoices');
    // A table from before payment_options had a column.
    const older = { ...invoices, columns: invoices.columns.filter((c) => c.name !== 'payment_options'), nested: [] };
    await ensureSchema(ch, db, [older]);
    const rec = { id: 7, state: 'open', payment_options: ['ach', 'credit_card'], updated_at: '2024-01-01T00:00:00Z', line_items: [] };
    await storePage(ch, db, older, '1', 's1', buildTables(older, [rec], { accountId: '1', syncedAt: new Date(), syncId: 's1' }));
    const added = await ensureSchema(ch, db, [invoices]);
    assert.ok(added.includes('invoices.payment_options'));
    assert.deepEqual(await query(`SELECT payment_options FROM ${db}.invoices FINAL`), [{ payment_options: ['ach', 'credit_card'] }]);
  });
});
