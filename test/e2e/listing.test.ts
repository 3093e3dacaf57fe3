// Listings under change: records deleted, created and re-dated while a dated list is read.
// Every record that exists throughout a sync must land in that sync (full, incremental,
// backfill), and a full reconciliation must never mark a live record deleted. These are the
// worked examples of docs/listings.md; test/edit-stream.test.ts runs seeded random streams.
// Real components: the fake Harvest over HTTP (edited between page requests), the Temporal
// dev server with a real worker, the embedded ClickHouse. The oracle is the fake's own data
// before and after each sync.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateAccount, startFakeHarvest, type FakeHarvest, type RequestInfo } from '../../fake-harvest/src';
import { query, runSync, testConfig, unique, type TestSetup } from '../support/harness';
import type { ResourceProgress, SyncInput, SyncSummary } from '../../src/core/types';

type Rec = Record<string, unknown> & { id: number };

const TE = '/v2/time_entries';

function progressOf(s: SyncSummary | undefined, name = 'time_entries'): ResourceProgress {
  const r = s?.resources.find((x) => x.resource === name);
  assert.ok(r, `no summary for ${name}`);
  return r;
}

/** The fake's time entries as served, by id. */
function snapshot(fake: FakeHarvest): Map<string, Rec> {
  return new Map(fake.data.timeEntries.map((r) => [String(r.id), JSON.parse(JSON.stringify(r)) as Rec]));
}

interface StoredRow {
  id: string;
  _raw: string;
  _deleted: number;
  _sync_id: string;
}

/** The newest version of every time entry row of the database (deleted ones included). */
async function stored(db: string): Promise<Map<string, StoredRow>> {
  const rows = await query<StoredRow>(`SELECT toString(id) AS id, _raw, _deleted, _sync_id FROM ${db}.time_entries FINAL`);
  return new Map(rows.map((r) => [r.id, r]));
}

/** The account sync id of the newest run in `_sync_runs` (what its rows carry in `_sync_id`). */
async function lastSyncId(db: string): Promise<string> {
  const [row] = await query<{ run_id: string }>(`SELECT run_id FROM ${db}._sync_runs FINAL ORDER BY started_at DESC LIMIT 1`);
  return row.run_id;
}

/**
 * Runs `edit` before the `after`-th request of `path` that `match` accepts (counted from 0),
 * and before every later one while `times` allows; stop() removes it.
 */
function editOnRequest(fake: FakeHarvest, opts: { path: string; after?: number; times?: number; match?: (req: RequestInfo) => boolean; edit: (f: FakeHarvest, round: number) => void }): { rounds: number; stop: () => void } {
  let seen = 0;
  const handle = { rounds: 0, stop: () => undefined as void };
  handle.stop = fake.onRequest((req) => {
    if (req.path !== opts.path || (opts.match && !opts.match(req))) return;
    if (seen++ >= (opts.after ?? 1) && handle.rounds < (opts.times ?? 1)) opts.edit(fake, ++handle.rounds);
  });
  return handle;
}

/** The newest entries (page 1 of the listing): time entries sort by spent_date, newest first. */
const onPageOne = (fake: FakeHarvest, from: number, count: number): Rec[] => fake.data.timeEntries.slice(from, from + count) as Rec[];

function templateEntry(fake: FakeHarvest): Record<string, unknown> {
  const t = { ...fake.data.timeEntries[30] } as Record<string, unknown>;
  delete t.id;
  return t;
}

interface Verdict {
  throughout: number;
  landed: number;
  deletedMarked: number;
}

/**
 * The oracle: every record present before and after the sync is stored live with what
 * Harvest serves now and was written by this sync (`wanted` narrows it: incremental runs
 * and backfills read only part of the account); no record Harvest still has is marked
 * deleted; records gone before the sync began are marked deleted when `marks` holds them.
 */
async function verify(
  db: string,
  before: Map<string, Rec>,
  afterSync: Map<string, Rec>,
  opts: { wanted?: (r: Rec) => boolean; mustBeMarked?: Iterable<string> } = {},
): Promise<Verdict> {
  const rows = await stored(db);
  const syncId = await lastSyncId(db);
  let throughout = 0;
  let landed = 0;
  const missing: string[] = [];
  for (const [id, rec] of afterSync) {
    const row = rows.get(id);
    // No record Harvest still has is marked deleted.
    assert.ok(!row || row._deleted === 0, `time entry ${id} is live in Harvest but marked deleted`);
    if (!before.has(id) || (opts.wanted && !opts.wanted(rec))) continue;
    throughout++;
    if (row && row._sync_id === syncId && row._deleted === 0) {
      assert.deepEqual(JSON.parse(row._raw), rec, `time entry ${id} holds other values than Harvest`);
      landed++;
    } else missing.push(id);
  }
  assert.deepEqual(missing, [], `${missing.length} of ${throughout} records that existed throughout did not land in this sync`);
  let deletedMarked = 0;
  for (const id of opts.mustBeMarked ?? []) {
    assert.equal(rows.get(id)?._deleted, 1, `time entry ${id} was deleted in Harvest before the sync but is not marked deleted`);
    deletedMarked++;
  }
  return { throughout, landed, deletedMarked };
}

function report(label: string, v: Verdict, p: ResourceProgress): void {
  const parts = [
    `existed throughout ${v.throughout}`,
    `landed ${v.landed}`,
    `date windows ${p.dateWindows ?? 0}`,
    `rounds for changes ${p.catchUpRounds ?? 0}`,
    `requests ${p.requests}`,
    `candidates ${p.deletionCandidates ?? 0}`,
    `confirmed alive ${p.confirmedAlive ?? 0}`,
    `confirmed gone ${p.confirmedGone ?? 0}`,
    `marked deleted ${p.deleted ?? 0}`,
  ];
  console.log(`listing under change, ${label}: ${parts.join(', ')}`);
}

describe('listings under change', () => {
  let fake: FakeHarvest;
  let setup: TestSetup;
  let db: string;
  const sync = async (input: SyncInput): Promise<SyncSummary> => {
    const { summary, error } = await runSync(setup.cfg, { resources: ['time_entries'], ...input });
    assert.ifError(error);
    return summary!;
  };

  before(async () => {
    // 4,500 time entries: three pages of 2,000.
    fake = await startFakeHarvest({ data: generateAccount({ seed: 11, timeEntries: 4500, users: 5 }), rateLimit: false });
    const ids = unique('listing');
    db = ids.database;
    setup = testConfig(fake, ids);
  });
  after(() => fake.close());

  it('a first full sync: two records on page 1 deleted and one created while later pages are read', async () => {
    const before = snapshot(fake);
    const edit = editOnRequest(fake, {
      path: TE,
      edit: (f) => {
        for (const r of onPageOne(f, 10, 2)) f.remove('timeEntries', r.id);
        f.create('timeEntries', { ...templateEntry(f), notes: 'created during the first sync' });
      },
    });
    const summary = await sync({ mode: 'full' });
    edit.stop();
    assert.equal(edit.rounds, 1);
    const te = progressOf(summary);
    const v = await verify(db, before, snapshot(fake));
    assert.equal(v.throughout, 4498);
    assert.equal(te.catchUpRounds, 1, 'what changed meanwhile is listed once');
    assert.ok(te.committedCursor, 'the cursor is committed');
    report('first full sync', v, te);
  });

  it('a --full reconciliation of a synced account: live records stay live, deleted ones are marked', async () => {
    // Deleted between syncs: the reconciliation must mark them.
    const goneBefore = onPageOne(fake, 200, 3).map((r) => String(r.id));
    for (const id of goneBefore) fake.remove('timeEntries', Number(id));
    const before = snapshot(fake);
    const edit = editOnRequest(fake, {
      path: TE,
      edit: (f) => {
        for (const r of onPageOne(f, 20, 2)) f.remove('timeEntries', r.id);
        f.create('timeEntries', { ...templateEntry(f), notes: 'created during the reconciliation' });
      },
    });
    const summary = await sync({ mode: 'full' });
    edit.stop();
    const te = progressOf(summary);
    const v = await verify(db, before, snapshot(fake), { mustBeMarked: goneBefore });
    assert.equal(v.deletedMarked, 3);
    assert.ok((te.confirmedGone ?? 0) >= 3, `confirmed gone ${te.confirmedGone}`);
    report('--full reconciliation', v, te);
  });

  it('a net-zero change (one delete, one back-dated create) moves no record out of a window already read', async () => {
    const before = snapshot(fake);
    const oldest = fake.data.timeEntries[fake.data.timeEntries.length - 1].spent_date as string;
    const edit = editOnRequest(fake, {
      path: TE,
      edit: (f) => {
        f.remove('timeEntries', onPageOne(f, 40, 1)[0].id);
        // Dated before every other entry: it sorts last. On numbered pages the records between
        // the two edits would move up one place and the first one of page 2 slip onto page 1.
        f.create('timeEntries', { ...templateEntry(f), spent_date: '2000-01-03', notes: 'back-dated during the reconciliation' });
      },
    });
    assert.ok(oldest > '2000-01-03');
    const summary = await sync({ mode: 'full' });
    edit.stop();
    const te = progressOf(summary);
    assert.equal(te.confirmedAlive ?? 0, 0, 'nothing slipped: no live record was a deletion candidate');
    const v = await verify(db, before, snapshot(fake));
    report('net-zero during --full', v, te);
  });

  it('an incremental run with several pages of changes', async () => {
    // Every entry changed since the last sync: the incremental listing has three pages.
    for (const r of [...fake.data.timeEntries]) fake.update('timeEntries', r.id, { notes: `edited ${r.id}` });
    const before = snapshot(fake);
    const edit = editOnRequest(fake, {
      path: TE,
      match: (req) => req.query.updated_since !== undefined,
      edit: (f) => {
        for (const r of onPageOne(f, 5, 2)) f.remove('timeEntries', r.id);
        f.create('timeEntries', { ...templateEntry(f), notes: 'created during the incremental run' });
      },
    });
    const summary = await sync({});
    edit.stop();
    assert.equal(edit.rounds, 1);
    const te = progressOf(summary);
    assert.ok(te.updatedSince, 'an incremental run');
    assert.ok(te.committedCursor, 'the cursor is committed');
    const v = await verify(db, before, snapshot(fake));
    assert.ok(v.throughout > 4000);
    report('incremental', v, te);
  });

  it('a backfill of a date range', async () => {
    const dates = fake.data.timeEntries.map((r) => r.spent_date as string).sort();
    // From a date that leaves more than two pages in the range (and the entries created today).
    const since = dates[Math.floor(dates.length * 0.4)];
    const inRange = (r: Rec): boolean => (r.spent_date as string) >= since;
    const before = snapshot(fake);
    assert.ok([...before.values()].filter(inRange).length > 2000);
    const edit = editOnRequest(fake, {
      path: TE,
      match: (req) => req.query.from !== undefined,
      edit: (f) => {
        for (const r of onPageOne(f, 3, 2)) f.remove('timeEntries', r.id);
        f.create('timeEntries', { ...templateEntry(f), notes: 'created during the backfill' });
      },
    });
    const summary = await sync({ mode: 'backfill', since });
    edit.stop();
    assert.equal(edit.rounds, 1);
    const te = progressOf(summary);
    const v = await verify(db, before, snapshot(fake), { wanted: inRange });
    report('backfill', v, te);
  });

  it('a listing edited before every request still commits its cursor and marks the deletions it confirmed', async () => {
    const cursorBefore = await query<{ cursor: string }>(`SELECT toString(cursor) AS cursor FROM ${db}._sync_state FINAL WHERE resource = 'time_entries'`);
    const goneBefore = String(onPageOne(fake, 300, 1)[0].id);
    fake.remove('timeEntries', Number(goneBefore));
    const before = snapshot(fake);
    const edit = editOnRequest(fake, {
      path: TE,
      after: 0,
      times: 100,
      edit: (f, round) => void f.create('timeEntries', { ...templateEntry(f), notes: `created before request ${round}` }),
    });
    const summary = await sync({ mode: 'full' });
    edit.stop();
    const te = progressOf(summary);
    assert.equal(te.state, 'done');
    assert.ok(!te.unstable, 'a busy listing is complete all the same');
    assert.ok(te.committedCursor, 'the cursor is committed');
    // This one, and those the incremental run and the backfill above saw deleted (they mark none).
    assert.equal(te.deleted, 6);
    assert.equal((await stored(db)).get(goneBefore)?._deleted, 1, 'the deletion confirmed with Harvest is marked');
    const cursorAfter = await query<{ cursor: string }>(`SELECT toString(cursor) AS cursor FROM ${db}._sync_state FINAL WHERE resource = 'time_entries'`);
    assert.notDeepEqual(cursorAfter, cursorBefore, 'the cursor moved');
    const v = await verify(db, before, snapshot(fake));
    report(`edited before every request (${edit.rounds} creates)`, v, te);
  });
});

describe('fake Harvest under change (as Harvest behaves)', () => {
  let fake: FakeHarvest;
  before(async () => {
    fake = await startFakeHarvest({ data: generateAccount({ seed: 12, timeEntries: 60, users: 30 }), rateLimit: false });
  });
  after(() => fake.close());

  const get = async (url: string): Promise<Record<string, unknown>> => {
    const res = await fetch(url, { headers: { authorization: 'Bearer test-pat', 'harvest-account-id': String(fake.data.accountId), 'user-agent': 'listing test (t@example.com)' } });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  };
  /** Every page by links.next, the edit run after the first page; the ids read, in order. */
  const readAll = async (path: string, key: string, edit: () => void): Promise<{ ids: number[]; totals: number[] }> => {
    const ids: number[] = [];
    const totals: number[] = [];
    let url: string | null = `${fake.baseUrl}${path}?per_page=10`;
    for (let n = 0; url; n++) {
      if (n === 1) edit();
      const body = await get(url);
      ids.push(...(body[key] as Rec[]).map((r) => r.id));
      totals.push(body.total_entries as number);
      url = (body.links as { next: string | null }).next;
    }
    return { ids, totals };
  };

  it('page-numbered lists shift: a delete on page 1 after it was read slips a record past the boundary, and total_entries tells', async () => {
    const before = new Set(fake.data.timeEntries.map((r) => r.id));
    const { ids, totals } = await readAll('/time_entries', 'time_entries', () => fake.remove('timeEntries', fake.data.timeEntries[2].id));
    const throughout = fake.data.timeEntries.map((r) => r.id).filter((id) => before.has(id));
    const missed = throughout.filter((id) => !ids.includes(id));
    assert.equal(missed.length, 1, 'the first record of page 2 moved onto page 1');
    assert.deepEqual([...new Set(totals)], [60, 59]);
  });

  it('cursor lists are keyset: deletes and creates before the position shift nothing', async () => {
    const before = new Set(fake.data.users.map((r) => r.id));
    const template = { ...fake.data.users[5] } as Record<string, unknown>;
    delete template.id;
    const { ids } = await readAll('/users', 'users', () => {
      fake.remove('users', fake.data.users[1].id);
      fake.remove('users', fake.data.users[2].id);
      fake.create('users', { ...template, email: 'new@example.com' });
    });
    const throughout = fake.data.users.map((r) => r.id).filter((id) => before.has(id));
    for (const id of throughout) assert.equal(ids.filter((x) => x === id).length, 1, `user ${id} read ${ids.filter((x) => x === id).length} times`);
  });
});

describe('deletion confirmation budget', () => {
  it('a mass deletion beyond the budget: the confirmed part is marked, the rest stays live with a warning until the next full run', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 13, timeEntries: 2600, users: 4 }), rateLimit: false });
    try {
      const ids = unique('budget');
      const { cfg } = testConfig(fake, ids);
      const first = await runSync(cfg, { resources: ['time_entries'], mode: 'full' });
      assert.ifError(first.error);
      const gone = fake.data.timeEntries.slice(100, 720).map((r) => String(r.id));
      for (const id of gone) fake.remove('timeEntries', Number(id));

      const second = await runSync(cfg, { resources: ['time_entries'], mode: 'full' });
      assert.ifError(second.error);
      const p = progressOf(second.summary);
      assert.equal(p.deletionCandidates, 620);
      assert.equal(p.confirmedGone, 500);
      assert.equal(p.unconfirmed, 120);
      assert.equal(p.deleted, 500);
      assert.match(p.warning ?? '', /120 deletion candidate\(s\) not confirmed/);
      let rows = await stored(ids.database);
      assert.equal(gone.filter((id) => rows.get(id)?._deleted === 1).length, 500);
      for (const r of fake.data.timeEntries) assert.equal(rows.get(String(r.id))?._deleted, 0, `live entry ${r.id} marked deleted`);

      const third = await runSync(cfg, { resources: ['time_entries'], mode: 'full' });
      assert.ifError(third.error);
      const q = progressOf(third.summary);
      assert.equal(q.deletionCandidates, 120);
      assert.equal(q.deleted, 120);
      assert.equal(q.warning, undefined);
      rows = await stored(ids.database);
      assert.ok(gone.every((id) => rows.get(id)?._deleted === 1), 'every deleted entry marked after the second full run');
      console.log(`listing under change, mass deletion of ${gone.length}: marked ${p.deleted} then ${q.deleted}; requests ${p.requests} then ${q.requests}`);
    } finally {
      await fake.close();
    }
  });
});
