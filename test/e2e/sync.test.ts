// End to end on real components: the fake Harvest over HTTP, the Temporal dev server
// with a real worker, and the embedded ClickHouse engine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateAccount, startFakeHarvest, type FakeHarvest } from '../../fake-harvest/src';
import { ALL_TABLES, liveRowsSQL, servedTables } from '../support/oracle';
import { assertTablesMatchFake } from '../support/assertions';
import { query, runSync, testConfig, unique, type TestSetup } from '../support/harness';
import type { ResourceProgress, SyncSummary } from '../../src/core/types';

const rowsOf = (s: SyncSummary | undefined, name: string): ResourceProgress => {
  const r = s?.resources.find((x) => x.resource === name);
  assert.ok(r, `no summary for ${name}`);
  return r;
};

describe('sync end to end', () => {
  let fake: FakeHarvest;
  let setup: TestSetup;
  let db: string;
  let firstCursor: string;

  before(async () => {
    // 4,500 time entries: three pages; 30 users: a real fan-out.
    fake = await startFakeHarvest({ data: generateAccount({ seed: 7, timeEntries: 4500, users: 30 }), rateLimit: false });
    const ids = unique('e2e');
    db = ids.database;
    setup = testConfig(fake, ids);
  });
  after(() => fake.close());

  it('a full first sync lands every record of every resource, field for field, parents first', async () => {
    // A record changed while the sync reads (before the second time entries request) must
    // show up after the next sync.
    const changedDuringSync = fake.data.timeEntries[0];
    let timeEntryRequests = 0;
    const unsubscribe = fake.onRequest((req) => {
      if (req.path === '/v2/time_entries' && ++timeEntryRequests === 2) {
        fake.update('timeEntries', changedDuringSync.id, { notes: 'changed while the first sync was reading' });
      }
    });
    const { summary, error } = await runSync(setup.cfg);
    unsubscribe();
    assert.ifError(error);
    // Date windows of one page each: the first answer covers the newest 2,000, the rest is
    // read on from its oldest day, then what changed meanwhile.
    const te = rowsOf(summary, 'time_entries');
    assert.ok(te.pages >= 3 && te.pages <= 5, `${te.pages} time entry pages`);
    assert.equal(te.catchUpRounds, 1);
    assert.ok(fake.requests.filter((r) => r.path === '/v2/time_entries').every((r) => r.query.page === undefined), 'no page numbers: one snapshot per request');
    assert.equal(rowsOf(summary, 'user_projects').parentsDone, fake.data.users.length);

    const served = fake.data.timeEntries.length;
    const [{ n }] = await query<{ n: number }>(`SELECT count() AS n FROM ${db}.time_entries FINAL`);
    assert.equal(n, served);

    // Parents finished before any child page was fetched.
    const at = (re: RegExp) => fake.requests.filter((r) => re.test(r.path)).map((r) => r.at);
    const lastUsers = Math.max(...at(/^\/v2\/users$/));
    const firstUserProjects = Math.min(...at(/^\/v2\/users\/\d+\/project_assignments$/));
    assert.ok(lastUsers <= firstUserProjects, 'user_projects started before users finished');
    const lastParents = Math.max(...at(/^\/v2\/(projects|tasks)$/));
    const firstProjectTasks = Math.min(...at(/^\/v2\/task_assignments$/));
    assert.ok(lastParents <= firstProjectTasks, 'project_tasks started before projects and tasks finished');

    // Every list request asked for the maximum page size and sent no updated_since on a first
    // run, but the dated lists' round that lists what changed while they were read.
    const changedSince = new Date(Date.parse(summary!.startedAt) - 5 * 60_000).toISOString();
    for (const r of fake.requests.filter((x) => x.path.startsWith('/v2/') && x.path !== '/v2/company' && x.path !== '/v2/users/me' && !x.query.cursor && !x.query.page)) {
      assert.equal(r.query.per_page, '2000', `${r.path} without per_page=2000`);
      if (r.query.updated_since !== undefined) {
        assert.match(r.path, /^\/v2\/(time_entries|expenses|invoices|estimates)$/);
        assert.ok(new Date(r.query.updated_since).toISOString() >= changedSince, `${r.path} asked from ${r.query.updated_since}`);
      }
    }

    // Typed columns: 64-bit ids, Date, DateTime in UTC, clock times as text.
    const [types] = await query<Record<string, string>>(
      `SELECT toTypeName(id) AS id, toTypeName(spent_date) AS d, toTypeName(updated_at) AS u, toTypeName(started_time) AS s, max(id) AS maxid FROM ${db}.time_entries GROUP BY id, d, u, s LIMIT 1`,
    );
    assert.deepEqual([types.id, types.d, types.u, types.s], ['UInt64', 'Nullable(Date)', "Nullable(DateTime('UTC'))", 'Nullable(String)']);
    const [sample] = await query<{ id: number; spent_date: string; updated_at: string; user_id: number; started_time: string | null }>(
      `SELECT id, spent_date, toString(updated_at) AS updated_at, user_id, started_time FROM ${db}.time_entries FINAL WHERE id = {id:UInt64}`,
      { id: fake.data.timeEntries[5].id },
    );
    const src = fake.data.timeEntries[5];
    assert.ok(src.id > 2 ** 31);
    assert.equal(sample.spent_date, src.spent_date);
    assert.equal(sample.updated_at, String(src.updated_at).replace('T', ' ').replace('Z', ''));
    assert.equal(sample.user_id, (src.user as { id: number }).id);
    assert.equal(sample.started_time, src.started_time);

    firstCursor = rowsOf(summary, 'time_entries').committedCursor!;
    assert.ok(firstCursor && firstCursor < summary!.startedAt, 'cursor must not be later than the run start');
  });

  it('an incremental run lands creates and updates and re-reads nothing else', async () => {
    const te = fake.data.timeEntries;
    for (const e of te.slice(10, 13)) fake.update('timeEntries', e.id, { hours: 7.25, notes: 'edited' });
    const template = { ...te[20] } as Record<string, unknown>;
    delete template.id;
    const createdId = fake.create('timeEntries', { ...template, notes: 'created after the first sync' });
    fake.update('users', fake.data.users[3].id, { first_name: 'Renamed' });
    const changedTa = fake.data.taskAssignments[0];
    fake.update('taskAssignments', changedTa.id, { hourly_rate: 321 });
    fake.resetLog();

    const { summary, error } = await runSync(setup.cfg);
    assert.ifError(error);
    // 3 edits + 1 create + the entry changed during the first sync.
    assert.equal(rowsOf(summary, 'time_entries').rows, 5);
    assert.equal(rowsOf(summary, 'users').rows, 1);
    assert.equal(rowsOf(summary, 'projects').rows, 0);
    assert.equal(rowsOf(summary, 'tasks').rows, 0);
    assert.equal(rowsOf(summary, 'project_tasks').rows, 1);
    const changedProject = (changedTa.project as { id: number }).id;
    const affected = fake.data.userAssignments.filter((ua) => (ua.project as { id: number }).id === changedProject && ua.is_active).length;
    assert.equal(rowsOf(summary, 'user_projects').rows, affected);

    // Every first-page request of an endpoint with updated_since asked from the committed cursor.
    const expectedSince = firstCursor.replace(/\.\d{3}Z$/, 'Z');
    const firstPages = fake.requests.filter(
      (r) => r.path.startsWith('/v2/') && !/^\/v2\/(company|roles|reports\/.*|users\/me|users\/\d+\/(billable|cost)_rates|users\/\d+\/teammates)$/.test(r.path) && !r.query.cursor && !r.query.page,
    );
    assert.ok(firstPages.length > 0);
    for (const r of firstPages) assert.equal(r.query.updated_since, expectedSince, `${r.path} asked from ${r.query.updated_since}`);

    await assertTablesMatchFake(db, fake, { reports: false });
    const [row] = await query<{ notes: string }>(`SELECT notes FROM ${db}.time_entries FINAL WHERE id = {id:UInt64}`, { id: createdId });
    assert.equal(row.notes, 'created after the first sync');
  });

  it('--full re-reads everything and still holds one row per record', async () => {
    const { summary, error } = await runSync(setup.cfg, { mode: 'full' });
    assert.ifError(error);
    // Rows written: every entry, and those of a window's oldest day read again by the next.
    assert.ok(rowsOf(summary, 'time_entries').rows >= fake.data.timeEntries.length);
    await assertTablesMatchFake(db, fake);
    const [{ raw, final }] = await query<{ raw: number; final: number }>(
      `SELECT (SELECT count() FROM ${db}.time_entries) AS raw, (SELECT count() FROM ${db}.time_entries FINAL) AS final`,
    );
    assert.ok(raw > final, 'the full run inserted new versions');
    assert.equal(final, fake.data.timeEntries.length);
  });
});

describe('long syncs', () => {
  it('continue-as-new keeps every execution small and loses nothing', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 3, timeEntries: 500, users: 450, usersPerProject: 3 }), rateLimit: false });
    try {
      const ids = unique('can');
      const { cfg } = testConfig(fake, ids);
      const { summary, error } = await runSync(cfg, { historyLimit: 300, resources: ['user_projects'] });
      assert.ifError(error);
      const up = rowsOf(summary, 'user_projects');
      assert.ok(up.continuedAsNew >= 2, `continued as new ${up.continuedAsNew} times`);
      assert.equal(up.parentsDone, 450);
      const expected = (await servedTables(fake)).get('user_projects')!;
      const rows = await query<{ key: string; _raw: string }>(liveRowsSQL(ids.database, ALL_TABLES.find((t) => t.name === 'user_projects')!));
      assert.equal(rows.length, expected.size);
    } finally {
      await fake.close();
    }
  });

  it('date windows resume mid-way after continue-as-new without re-reading', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 5, timeEntries: 9000, users: 3 }), rateLimit: false });
    try {
      const ids = unique('pages');
      const { cfg } = testConfig(fake, ids);
      const { summary, error } = await runSync(cfg, { historyLimit: 20, concurrency: 2, resources: ['time_entries'] });
      assert.ifError(error);
      const te = rowsOf(summary, 'time_entries');
      assert.ok(te.continuedAsNew >= 1, `continued as new ${te.continuedAsNew} times`);
      const asked = fake.requests.filter((r) => r.path === '/v2/time_entries').map((r) => JSON.stringify([r.query.from, r.query.to, r.query.updated_since, r.query.page]));
      assert.equal(new Set(asked).size, asked.length, `a window asked twice: ${asked.join(' ')}`);
      assert.equal(te.pages, asked.length);
      const [{ n }] = await query<{ n: number }>(`SELECT count() AS n FROM ${ids.database}.time_entries FINAL`);
      assert.equal(n, 9000);
    } finally {
      await fake.close();
    }
  });
});
