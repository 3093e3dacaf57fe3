// Which row of a record is the newest: `_version` (src/clickhouse/versions.ts) orders by
// Harvest's own version of the record, so a late insert of an old page (a zombie activity
// attempt) cannot bring back a deleted record; and tables of the previous layout
// (ReplacingMergeTree(_synced_at)) move to it at start, every row kept. Embedded chdb.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClickHouseStore } from '../../src/clickhouse/port';
import { DATA_TABLE_SETTINGS, ensureSchema, tableColumns, tableRef } from '../../src/clickhouse/schema';
import { buildTables } from '../../src/clickhouse/rows';
import { insertRowsWithToken, latestRows, markUnseenDeleted, storePage } from '../../src/clickhouse/store';
import { migratingName } from '../../src/clickhouse/versions';
import { getResource, tablesOf, type ResourceSpec, type TableDef } from '../../src/catalog';
import { generateAccount } from '../../fake-harvest/src';
import { Rng } from '../../fake-harvest/src/rng';
import { query, testClickHouse, unique } from '../support/harness';
import { intercepted } from '../support/store-faults';

const ACCOUNT = '7';
type Rec = Record<string, unknown>;

const at = (iso: string, plusMs = 0): Date => new Date(Date.parse(iso) + plusMs);
const stamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

async function store(db: string, spec: ResourceSpec, records: Rec[], syncId: string, syncedAt: Date): Promise<void> {
  await storePage(testClickHouse(), db, spec, ACCOUNT, syncId, buildTables(spec, records, { accountId: ACCOUNT, syncedAt, syncId }));
}

/** Live rows by FINAL, as the views and users read them. */
async function liveByFinal(db: string, table: string, cols: string): Promise<Rec[]> {
  return query<Rec>(`SELECT ${cols} FROM \`${db}\`.\`${table}\` FINAL WHERE _deleted = 0 ORDER BY ${cols}`);
}

/** Live rows by latestRows, as the pipeline reads them back. */
async function liveByLatest(db: string, table: string, key: string[], cols: string): Promise<Rec[]> {
  return query<Rec>(`SELECT ${cols} FROM ${latestRows(db, table, key)} WHERE _deleted = 0 ORDER BY ${cols}`, { account: ACCOUNT });
}

describe('versions a zombie cannot reorder', () => {
  it('a zombie re-insert of an old version after a tombstone leaves the record deleted; a genuinely newer version still wins', async () => {
    const db = unique('zombie').database;
    const ch = testClickHouse();
    const spec = getResource('time_entries');
    await ensureSchema(ch, db, [spec]);
    const [r, other] = generateAccount({ seed: 61, timeEntries: 5, users: 1 }).timeEntries;
    const v1 = { ...r, updated_at: '2026-01-10T10:00:00Z', notes: 'version 1' };
    const v0 = { ...r, updated_at: '2026-01-09T10:00:00Z', notes: 'version 0' };
    const t0 = new Date(Date.now() - 3_600_000);

    await store(db, spec, [v1, other], 'sync-1', t0);
    // The next full sync lists without it; Harvest confirms it gone (404): a tombstone.
    assert.equal(await markUnseenDeleted(ch, db, spec, ACCOUNT, 'sync-2', new Date().toISOString(), [String(r.id)]), 1);
    // A zombie attempt of sync 1, timed out long ago, finally inserts the page it read, and
    // another one an older page: both written after the tombstone.
    await store(db, spec, [v1, other], 'sync-1', new Date(Date.now() + 60_000));
    await store(db, spec, [v0], 'sync-0', new Date(Date.now() + 120_000));

    const ids = async (rows: Promise<Rec[]>) => (await rows).map((x) => Number(x.id));
    assert.deepEqual(await ids(liveByFinal(db, 'time_entries', 'id')), [other.id], 'FINAL: the record stays deleted');
    assert.deepEqual(await ids(liveByLatest(db, 'time_entries', spec.key, 'id')), [other.id], 'latestRows agrees with FINAL');
    // A complete listing would not find it among live rows either (the pipeline's own reading).
    assert.equal(await markUnseenDeleted(ch, db, spec, ACCOUNT, 'sync-3', new Date(Date.now() + 600_000).toISOString(), [String(r.id)]), 0);

    // Harvest changed it after all (a newer updated_at): that version wins, even written
    // with an older `_synced_at` than the tombstone's.
    await store(db, spec, [{ ...r, updated_at: '2026-01-11T10:00:00Z', notes: 'version 2' }], 'sync-4', t0);
    const live = await liveByFinal(db, 'time_entries', 'id, notes');
    assert.deepEqual(live.map((x) => [Number(x.id), x.notes]).sort(), [[Number(r.id), 'version 2'], [Number(other.id), other.notes ?? null]].sort());
    assert.deepEqual(await liveByLatest(db, 'time_entries', spec.key, 'id, notes'), live);
  });

  it('invoice lines: a line gone in a newer version of its invoice stays gone when a zombie inserts an older page later', async () => {
    const db = unique('zlines').database;
    const ch = testClickHouse();
    const spec = getResource('invoices');
    await ensureSchema(ch, db, [spec]);
    const inv = generateAccount({ seed: 62, timeEntries: 30, users: 2 }).invoices.find((i) => (i.line_items as unknown[]).length >= 2)!;
    const [l1, l2] = inv.line_items as Rec[];
    const u0 = { ...inv, updated_at: '2026-02-01T00:00:00Z', line_items: [l1, l2] };
    const u1 = { ...inv, updated_at: '2026-02-02T00:00:00Z', line_items: [{ ...l1, description: 'as of u1' }, l2] };
    const u2 = { ...inv, updated_at: '2026-02-03T00:00:00Z', subject: 'as of u2', line_items: [{ ...l1, description: 'as of u2' }] };
    const base = Date.now() - 3_600_000;
    await store(db, spec, [u0], 'sync-0', new Date(base));
    // Attempt A of sync 1 reads u1 and stalls; its retry B reads u2 (line 2 removed) and stores it.
    await store(db, spec, [u2], 'sync-1', new Date(base + 60_000));
    // A, the zombie, inserts u1 last.
    await store(db, spec, [u1], 'sync-1', new Date(base + 120_000));

    const lines = await liveByFinal(db, 'invoice_line_items', 'id, description');
    assert.deepEqual(lines, [{ id: l1.id, description: 'as of u2' }], 'line 2 stays gone; line 1 is as of u2');
    assert.deepEqual(await liveByLatest(db, 'invoice_line_items', spec.nested![0].key, 'id, description'), lines);
    assert.deepEqual(await liveByFinal(db, 'invoices', 'id, subject'), [{ id: inv.id, subject: 'as of u2' }]);
  });

  it('invariant: FINAL, latestRows and merged parts all keep the row with the highest (Harvest version, deleted, written) per key, whatever the insert order', async () => {
    const db = unique('vorder').database;
    const ch = testClickHouse();
    await ensureSchema(ch, db, [getResource('time_entries'), getResource('report_time_clients')]);
    const rng = new Rng(71);
    const rand = (): number => rng.next();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const versions = ['2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', '2026-03-01T12:00:00Z', null];
    const base = Date.now() - 86_400_000;
    const want = new Map<number, { rank: number[]; marker: string; deleted: number }>();
    const wantReport = new Map<number, { written: number; marker: string; deleted: number }>();
    const rows: Array<{ table: string; row: Rec }> = [];
    for (let id = 1; id <= 150; id++) {
      const n = 1 + Math.floor(rand() * 6);
      for (let k = 0; k < n; k++) {
        const updated = pick(versions);
        const deleted = rand() < 0.35 ? 1 : 0;
        // Distinct per row of a key, in random order of k.
        const written = base + id * 100_000 + rng.int(0, 99) * 100 + k;
        const marker = `${id}/${k}`;
        // Harvest's version first (no version: below every versioned row), then deleted, then the write time.
        const rank = updated ? [Date.parse(updated), deleted, written] : [0, 0, written];
        const best = want.get(id);
        if (!best || compare(rank, best.rank) > 0) want.set(id, { rank, marker, deleted });
        rows.push({ table: 'time_entries', row: { account_id: ACCOUNT, id, updated_at: updated ? Date.parse(updated) / 1000 : null, notes: marker, _raw: '{}', _deleted: deleted, _sync_id: 's', _synced_at: new Date(written).toISOString().replace('T', ' ').replace('Z', '') } });
        const r = wantReport.get(id);
        if (!r || written > r.written) wantReport.set(id, { written, marker, deleted });
        rows.push({ table: 'report_time_clients', row: { account_id: ACCOUNT, client_id: id, currency: 'EUR', window_from: '2025-01-01', window_to: '2025-12-31', client_name: marker, _raw: '{}', _deleted: deleted, _sync_id: 's', _synced_at: new Date(written).toISOString().replace('T', ' ').replace('Z', '') } });
      }
    }
    // Shuffled, in small inserts: versions arrive in any order, across many parts.
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    for (let i = 0; i < rows.length; i += 40) {
      for (const table of ['time_entries', 'report_time_clients']) {
        const values = rows.slice(i, i + 40).filter((r) => r.table === table).map((r) => r.row);
        if (values.length) await insertRows(ch, db, table, values);
      }
    }
    const expected = [...want].filter(([, w]) => w.deleted === 0).map(([id, w]) => ({ id, notes: w.marker })).sort((a, b) => a.id - b.id);
    const expectedReport = [...wantReport].filter(([, w]) => w.deleted === 0).map(([id, w]) => ({ client_id: id, client_name: w.marker })).sort((a, b) => a.client_id - b.client_id);
    const check = async (what: string): Promise<void> => {
      assert.deepEqual(await liveByFinal(db, 'time_entries', 'id, notes'), expected, `${what}: FINAL`);
      assert.deepEqual(await liveByLatest(db, 'time_entries', ['id'], 'id, notes'), expected, `${what}: latestRows`);
      assert.deepEqual(await liveByFinal(db, 'report_time_clients', 'client_id, client_name'), expectedReport, `${what}: FINAL (report: written order)`);
      assert.deepEqual(await liveByLatest(db, 'report_time_clients', getResource('report_time_clients').key, 'client_id, client_name'), expectedReport, `${what}: latestRows (report)`);
    };
    await check('before merges');
    await ch.command(`OPTIMIZE TABLE \`${db}\`.time_entries FINAL`);
    await ch.command(`OPTIMIZE TABLE \`${db}\`.report_time_clients FINAL`);
    await check('merged');
    const [{ n }] = await query<{ n: number }>(`SELECT count() AS n FROM \`${db}\`.time_entries WHERE _deleted = 0`);
    assert.equal(n, expected.length, 'a merge keeps exactly the newest row per key');
  });
});

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

let token = 0;
async function insertRows(store: ClickHouseStore, db: string, table: string, values: Rec[]): Promise<void> {
  await insertRowsWithToken(store, db, table, values, `versions-test-${Date.now()}-${++token}`);
}

/** The DDL of the previous release: no `_version` (nor `_parent_updated_at`), versions by `_synced_at`. */
function previousLayoutSQL(db: string, table: TableDef): string {
  const cols = tableColumns(table).filter(([n]) => n !== '_parent_updated_at').map(([n, t]) => `  \`${n}\` ${t}`).join(',\n');
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(db, table.name)} (\n${cols}\n)`,
    'ENGINE = ReplacingMergeTree(_synced_at)',
    `ORDER BY (${['account_id', ...table.key].map((c) => `\`${c}\``).join(', ')})`,
    `SETTINGS non_replicated_deduplication_window = 10000, ${DATA_TABLE_SETTINGS.map(([k, v]) => `${k} = ${v}`).join(', ')}`,
  ].join('\n');
}

/** The store, with `before` run ahead of each command (throw there to fail it). */
function beforeCommands(store: ClickHouseStore, before: (sql: string) => Promise<void> | void): ClickHouseStore {
  return intercepted(store, (call) => (call.op === 'command' ? before(call.sql) : undefined));
}

describe('tables of the previous layout move to _version at start', () => {
  const spec = getResource('invoices');
  const tables = tablesOf(spec);
  // Merges would collapse versions on their own: with them stopped, every row written stays
  // a row, and "every row kept" can be checked row for row.
  before(() => testClickHouse().command('SYSTEM STOP MERGES'));
  after(() => testClickHouse().command('SYSTEM START MERGES'));

  /** A database as the previous release left it: its tables, several versions and tombstones per record. */
  async function previousRelease(name: string): Promise<{ db: string; dump: () => Promise<Record<string, string[]>> }> {
    const db = unique(name).database;
    const ch = testClickHouse();
    // The rows are made by this release's pipeline in a scratch database, then written into
    // the previous layout's tables by the columns it had.
    const scratch = unique(`${name}_rows`).database;
    await ensureSchema(ch, scratch, [spec]);
    const invoices = generateAccount({ seed: 63, timeEntries: 200, users: 3 }).invoices;
    assert.ok(invoices.length >= 40);
    const base = Date.now() - 7_200_000;
    await store(scratch, spec, invoices, 'old-1', new Date(base));
    await store(scratch, spec, invoices.slice(0, 30).map((i) => ({ ...i, updated_at: stamp(at(String(i.updated_at), 60_000)), subject: 'second version', line_items: (i.line_items as Rec[]).slice(1) })), 'old-2', new Date(base + 60_000));
    await markUnseenDeleted(ch, scratch, spec, ACCOUNT, 'old-3', new Date(base + 120_000).toISOString(), invoices.slice(-10).map((i) => String(i.id)));
    await ch.command(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
    for (const t of tables) {
      await ch.command(previousLayoutSQL(db, t));
      const cols = tableColumns(t).filter(([n]) => n !== '_parent_updated_at').map(([n]) => `\`${n}\``).join(', ');
      await ch.command(`INSERT INTO ${tableRef(db, t.name)} (${cols}) SELECT ${cols} FROM ${tableRef(scratch, t.name)}`, {}, { insert_deduplication_token: `prev-${db}-${t.name}`, optimize_on_insert: 0 });
    }
    const dump = async (): Promise<Record<string, string[]>> => {
      const out: Record<string, string[]> = {};
      for (const t of tables) {
        const cols = tableColumns(t).filter(([n]) => n !== '_parent_updated_at').map(([n]) => `\`${n}\``).join(', ');
        const rows = await query<{ line: string }>(`SELECT toJSONString(tuple(${cols})) AS line FROM \`${db}\`.\`${t.name}\``);
        out[t.name] = rows.map((r) => r.line).sort();
      }
      return out;
    };
    return { db, dump };
  }

  const engineOf = async (db: string, table: string): Promise<string> =>
    (await query<{ engine_full: string }>('SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}', { db, t: table }))[0]?.engine_full ?? '';
  const exists = async (db: string, table: string): Promise<boolean> => (await engineOf(db, table)) !== '';

  it('every row of every version is kept, the engine orders by _version, and FINAL reads the same live records', async () => {
    const { db, dump } = await previousRelease('vmig');
    const before = await dump();
    assert.ok(before.invoices.length >= 80 && before.invoice_line_items.length > 0, `rows: ${Object.entries(before).map(([t, r]) => `${t} ${r.length}`).join(', ')}`);
    const liveBefore = await liveByFinal(db, 'invoices', 'id, subject');
    await ensureSchema(testClickHouse(), db, [spec], { soleWriter: true });
    for (const t of tables) {
      assert.match(await engineOf(db, t.name), /^ReplacingMergeTree\(_version\)/, t.name);
      assert.ok(!(await exists(db, migratingName(t.name))), `${t.name}: the old table is gone`);
    }
    assert.deepEqual(await dump(), before, 'every row, every version, byte for byte');
    assert.deepEqual(await liveByFinal(db, 'invoices', 'id, subject'), liveBefore);
    const [state] = await query<{ state: string }>(`SELECT state FROM \`${db}\`._schema_changes FINAL WHERE table = 'invoices' AND change = 'version column'`);
    assert.equal(state.state, 'done');
    // A second start finds nothing to do.
    const commands: string[] = [];
    await ensureSchema(beforeCommands(testClickHouse(), (sql) => void commands.push(sql)), db, [spec], { soleWriter: true });
    assert.ok(!commands.some((c) => /EXCHANGE|INSERT INTO/.test(c)), commands.join('\n'));
  });

  it('a crash halfway (copy made, not swapped) leaves the old table whole; the next start moves it once', async () => {
    const { db, dump } = await previousRelease('vcrash');
    const before = await dump();
    const crashing = beforeCommands(testClickHouse(), (sql) => {
      if (/^EXCHANGE TABLES .*`invoice_line_items`/.test(sql)) throw new Error('killed (injected)');
    });
    await assert.rejects(ensureSchema(crashing, db, [spec], { soleWriter: true }), /killed/);
    assert.match(await engineOf(db, 'invoice_line_items'), /ReplacingMergeTree\(_synced_at\)/, 'untouched');
    assert.ok(await exists(db, migratingName('invoice_line_items')), 'the copy a crash leaves');
    assert.deepEqual((await dump()).invoice_line_items, before.invoice_line_items);

    await ensureSchema(testClickHouse(), db, [spec], { soleWriter: true });
    assert.deepEqual(await dump(), before, 'no row lost, none twice');
    for (const t of tables) assert.ok(!(await exists(db, migratingName(t.name))));
  });

  it('a crash after the swap: the next start finishes (drops the old table), nothing lost or doubled', async () => {
    const { db, dump } = await previousRelease('vcrash2');
    const before = await dump();
    const crashing = beforeCommands(testClickHouse(), (sql) => {
      if (/^DROP TABLE IF EXISTS .*`invoices__versioning`/.test(sql)) throw new Error('killed (injected)');
    });
    await assert.rejects(ensureSchema(crashing, db, [spec], { soleWriter: true }), /killed/);
    assert.match(await engineOf(db, 'invoices'), /ReplacingMergeTree\(_version\)/, 'swapped');
    await ensureSchema(testClickHouse(), db, [spec], { soleWriter: true });
    assert.ok(!(await exists(db, 'invoices__versioning')));
    assert.deepEqual(await dump(), before);
  });

  it('with other writers: a row written into the old table during the copy is copied after the swap, and the old table goes only later', async () => {
    const { db, dump } = await previousRelease('vlive');
    const ch = testClickHouse();
    const late = { account_id: ACCOUNT, id: 999_000_001, subject: 'written during the copy', updated_at: Math.floor(Date.now() / 1000), _raw: '{}', _deleted: 0, _sync_id: 'other-worker', _synced_at: new Date().toISOString().replace('T', ' ').replace('Z', '') };
    const writing = beforeCommands(ch, async (sql) => {
      // A worker of the previous release stores a row after the copy read the table, just before the swap.
      if (/^EXCHANGE TABLES .*`invoices` AND/.test(sql)) await insertRows(ch, db, 'invoices', [late]);
    });
    await ensureSchema(writing, db, [spec]);
    const live = await liveByFinal(db, 'invoices', 'id, subject');
    assert.ok(live.some((r) => Number(r.id) === late.id && r.subject === 'written during the copy'), 'the late row is in the new table');
    assert.ok(await exists(db, 'invoices__versioning'), 'kept for inserts still in flight');
    const afterMove = await dump();
    // The old table goes at a start 10 minutes later: here, the clock is moved on.
    const [moved] = await query<{ state: string; detail: string }>(`SELECT state, detail FROM \`${db}\`._schema_changes FINAL WHERE table = 'invoices' AND change = 'version column'`);
    assert.equal(moved.state, 'exchanged');
    await ch.command(`ALTER TABLE \`${db}\`._schema_changes DELETE WHERE table = 'invoices'`, {}, { mutations_sync: '2' });
    const earlier = new Date(Date.now() - 11 * 60_000).toISOString().replace('T', ' ').replace('Z', '');
    await insertRows(ch, db, '_schema_changes', [{ table: 'invoices', change: 'version column', state: 'exchanged', detail: moved.detail, at: earlier }]);
    await ensureSchema(ch, db, [spec]);
    assert.ok(!(await exists(db, 'invoices__versioning')));
    // Rows copied twice are one version each: FINAL reads the same.
    assert.deepEqual(await liveByFinal(db, 'invoices', 'id, subject'), live);
    assert.ok((await dump()).invoices.length >= afterMove.invoices.length);
  });
});
