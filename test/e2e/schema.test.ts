// Schema changes at start on the embedded ClickHouse: column back-fills that survive a
// failure halfway.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClickHouseStore } from '../../src/clickhouse/port';
import { ensureSchema } from '../../src/clickhouse/schema';
import { buildTables } from '../../src/clickhouse/rows';
import { storePage } from '../../src/clickhouse/store';
import { getResource, type ResourceSpec } from '../../src/catalog';
import { generateAccount } from '../../fake-harvest/src';
import { query, testClickHouse, unique } from '../support/harness';
import { insertedRows, intercepted } from '../support/store-faults';

/** The store, with `fail` deciding (by the SQL) which commands throw instead of running. */
function failing(store: ClickHouseStore, fail: (sql: string) => boolean): { store: ClickHouseStore; commands: string[] } {
  const commands: string[] = [];
  const wrapped = intercepted(store, (call) => {
    if (call.op !== 'command') return;
    commands.push(call.sql);
    if (fail(call.sql)) throw new Error('connection reset by peer (injected)');
  });
  return { store: wrapped, commands };
}

describe('schema evolution: back-fills', () => {
  it('a back-fill that fails after its ADD COLUMN is completed by the next start, and only then recorded done', async () => {
    const db = unique('backfill').database;
    const ch = testClickHouse();
    const full = getResource('time_entries');
    const older: ResourceSpec = { ...full, columns: full.columns.filter((c) => c.name !== 'hours' && c.name !== 'spent_date') };
    const records = generateAccount({ seed: 57, timeEntries: 60, users: 2 }).timeEntries;
    await ensureSchema(ch, db, [older]);
    await storePage(ch, db, older, '7', 'sync-1', buildTables(older, records, { accountId: '7', syncedAt: new Date(), syncId: 'sync-1' }));

    // The first start adds both columns; the back-fill of `hours` fails (after its ADD COLUMN ran).
    let failures = 0;
    const flaky = failing(ch, (sql) => /UPDATE `hours`/.test(sql) && failures++ === 0);
    await assert.rejects(ensureSchema(flaky.store, db, [full]), /injected/);
    assert.ok(flaky.commands.some((c) => /ADD COLUMN IF NOT EXISTS `hours`/.test(c)), 'the column was added before the failure');
    const [before] = await query<{ filled: number }>(`SELECT countIf(hours IS NOT NULL) AS filled FROM ${db}.time_entries`);
    assert.equal(before.filled, 0, 'nothing back-filled yet');

    // The next start: the column exists, yet its back-fill is still owed and is done now.
    const next = failing(ch, () => false);
    const redone = await ensureSchema(next.store, db, [full]);
    assert.ok(redone.includes('time_entries.hours'), `reported: ${redone.join(', ')}`);
    assert.ok(!next.commands.some((c) => /time_entries`? ADD COLUMN/.test(c)), 'nothing left to add');
    const rows = await query<{ id: number; hours: number | null; spent_date: string | null }>(
      `SELECT id, hours, toString(spent_date) AS spent_date FROM ${db}.time_entries FINAL ORDER BY id`,
    );
    assert.equal(rows.length, records.length);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const row of rows) {
      assert.equal(row.hours, byId.get(row.id)!.hours);
      assert.equal(row.spent_date, byId.get(row.id)!.spent_date);
    }

    // Done is done: a third start changes nothing.
    const third = failing(ch, () => false);
    assert.deepEqual(await ensureSchema(third.store, db, [full]), []);
    assert.ok(!third.commands.some((c) => /time_entries`? (UPDATE|ADD COLUMN)/.test(c)), third.commands.filter((c) => /ALTER/.test(c)).join('\n'));
  });

  it('a back-fill cut short after the UPDATE but before it was recorded is simply redone (same values)', async () => {
    const db = unique('backfill2').database;
    const ch = testClickHouse();
    const full = getResource('time_entries');
    const older: ResourceSpec = { ...full, columns: full.columns.filter((c) => c.name !== 'notes') };
    const records = generateAccount({ seed: 58, timeEntries: 30, users: 2 }).timeEntries;
    await ensureSchema(ch, db, [older]);
    await storePage(ch, db, older, '7', 'sync-1', buildTables(older, records, { accountId: '7', syncedAt: new Date(), syncId: 'sync-1' }));
    // The insert that records the back-fill done fails: the worker died right after the UPDATE.
    const dying = intercepted(ch, (call) => {
      if (call.op === 'insert') throw new Error('killed (injected)');
    });
    await assert.rejects(ensureSchema(dying, db, [full]), /killed/);
    const [{ pending }] = await query<{ pending: number }>(`SELECT count() AS pending FROM ${db}._schema_changes FINAL WHERE state = 'pending'`);
    assert.equal(pending, 0, 'the pending mark itself failed too (an insert): the column was not added');
    // Rerun with inserts working but the `done` mark lost once.
    let lost = 0;
    const losing = intercepted(ch, (call) => {
      if (call.op === 'insert' && insertedRows(call)[0]?.state === 'done' && lost++ === 0) throw new Error('killed (injected)');
    });
    await assert.rejects(ensureSchema(losing, db, [full]), /killed/);
    assert.deepEqual(await ensureSchema(ch, db, [full]), ['time_entries.notes']);
    const rows = await query<{ id: number; notes: string | null }>(`SELECT id, notes FROM ${db}.time_entries FINAL ORDER BY id`);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const row of rows) assert.equal(row.notes, byId.get(row.id)!.notes ?? null);
    assert.deepEqual(await ensureSchema(ch, db, [full]), []);
  });
});
