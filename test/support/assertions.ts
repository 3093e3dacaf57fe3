// Assertions shared by the end-to-end tests.
import assert from 'node:assert/strict';
import type { FakeHarvest } from '../../fake-harvest/src';
import { query } from './harness';
import { ALL_TABLES, liveRowsSQL, servedTables } from './oracle';

/** Every table holds exactly what the fake serves, field for field (`_raw`). */
export async function assertTablesMatchFake(db: string, fake: FakeHarvest, opts: { reports?: boolean } = {}): Promise<void> {
  const served = await servedTables(fake);
  // Incremental runs refresh only report windows with changed entries; a full run refreshes all.
  for (const table of ALL_TABLES.filter((t) => opts.reports !== false || !t.name.startsWith('report_'))) {
    const want = served.get(table.name)!;
    const rows = await query<{ key: string; _raw: string }>(liveRowsSQL(db, table));
    assert.equal(rows.length, want.size, `${table.name}: ${rows.length} rows, fake serves ${want.size}`);
    for (const row of rows) {
      assert.ok(want.has(row.key), `${table.name}: unexpected key ${row.key}`);
      assert.deepEqual(JSON.parse(row._raw), want.get(row.key), `${table.name} ${row.key} differs from what the fake served`);
    }
  }
}
