// Benchmark: what moving a table of the previous layout (ReplacingMergeTree(_synced_at))
// to `_version` costs at start (src/clickhouse/versions.ts). Builds `time_entries` the way
// the previous release did, with N rows (real generated records: 20,000 distinct ones,
// repeated under new ids, as 2,000-row parts), then times the move as the worker does it at
// start-up (embedded: the only writer) and samples the engine's memory while it runs.
//
//   npx tsx bench/version-migration-bench.ts [--rows 1000000]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { getResource, resourceTable } from '../src/catalog';
import { buildTables } from '../src/clickhouse/rows';
import { openClickHouse } from '../src/clickhouse/connect';
import { DATA_TABLE_SETTINGS, ensureSchema, tableColumns, tableRef } from '../src/clickhouse/schema';
import { storePage } from '../src/clickhouse/store';
import { generateAccount } from '../fake-harvest/src';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const ROWS = Number(values.rows);
const DISTINCT = 20_000;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'version-bench-'));
  const ch = openClickHouse({ path: dir, database: 'harvest' } as never);
  const c = ch;
  const db = 'harvest';
  const spec = getResource('time_entries');
  const table = resourceTable(spec);
  const q = <T>(sql: string): Promise<T[]> => c.query<T>(sql);
  try {
    // The rows, made by this release's pipeline in a scratch database.
    await ensureSchema(c, 'scratch', [spec]);
    const entries = generateAccount({ seed: 9, timeEntries: DISTINCT, users: 25 }).timeEntries;
    for (let i = 0; i < entries.length; i += 2000) {
      await storePage(c, 'scratch', spec, '1', 'bench', buildTables(spec, entries.slice(i, i + 2000), { accountId: '1', syncedAt: new Date(), syncId: 'bench' }));
    }
    // The previous layout, filled with ROWS rows in 2,000-row inserts' worth of parts.
    const cols = tableColumns(table).map(([n, t]) => `  \`${n}\` ${t}`).join(',\n');
    await c.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await c.command(
      [
        `CREATE TABLE ${tableRef(db, 'time_entries')} (\n${cols}\n)`,
        'ENGINE = ReplacingMergeTree(_synced_at)',
        'ORDER BY (`account_id`, `id`)',
        `SETTINGS non_replicated_deduplication_window = 10000, ${DATA_TABLE_SETTINGS.map(([k, v]) => `${k} = ${v}`).join(', ')}`,
      ].join('\n'),
    );
    const names = tableColumns(table).map(([n]) => `\`${n}\``);
    const fillStart = Date.now();
    for (let copy = 0; copy * DISTINCT < ROWS; copy++) {
      const select = names.map((n) => (n === '`id`' ? `id + ${copy} * 1000000000 AS id` : n)).join(', ');
      await c.command(
        `INSERT INTO ${tableRef(db, 'time_entries')} (${names.join(', ')}) SELECT ${select} FROM scratch.time_entries LIMIT ${Math.min(DISTINCT, ROWS - copy * DISTINCT)}`,
        {},
        { insert_deduplication_token: `fill-${copy}`, max_insert_block_size: '2000', min_insert_block_size_rows: '2000' },
      );
    }
    await c.command(`OPTIMIZE TABLE ${tableRef(db, 'time_entries')} FINAL`).catch(() => undefined);
    const [before] = await q<{ rows: string; bytes: string; parts: string }>(
      `SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes, count() AS parts FROM system.parts WHERE database = '${db}' AND table = 'time_entries' AND active`,
    );
    process.stdout.write(`# filled ${before.rows} rows (${(Number(before.bytes) / 2 ** 20).toFixed(0)} MiB on disk, ${before.parts} parts) in ${((Date.now() - fillStart) / 1000).toFixed(1)} s\n`);

    let peakTracked = 0;
    const sampler = setInterval(() => {
      void q<{ v: string }>("SELECT value AS v FROM system.metrics WHERE metric = 'MemoryTracking'").then((r) => {
        peakTracked = Math.max(peakTracked, Number(r[0]?.v ?? 0));
      }).catch(() => undefined);
    }, 200);
    const rssBefore = process.resourceUsage().maxRSS;
    const t0 = Date.now();
    await ensureSchema(c, db, [spec], { soleWriter: true });
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const [after] = await q<{ rows: string; bytes: string }>(
      `SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = '${db}' AND table = 'time_entries' AND active`,
    );
    const [engine] = await q<{ e: string }>(`SELECT engine_full AS e FROM system.tables WHERE database = '${db}' AND name = 'time_entries'`);
    process.stdout.write(
      `# moved to _version: ${after.rows} rows in ${seconds.toFixed(1)} s (${Math.round(Number(after.rows) / seconds).toLocaleString('en')} rows/s), ` +
        `${(Number(after.bytes) / 2 ** 20).toFixed(0)} MiB on disk after; peak engine memory ${(peakTracked / 2 ** 20).toFixed(0)} MiB, ` +
        `process max RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (before the move ${(rssBefore / 1024).toFixed(0)} MiB); ` +
        `engine ${engine.e.slice(0, 40)}…\n`,
    );
    if (after.rows !== before.rows) throw new Error(`rows before ${before.rows}, after ${after.rows}`);
  } finally {
    await ch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
