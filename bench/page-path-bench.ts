// Benchmark: the page path alone, in one process, without Temporal: fetch a page of time
// entries from the fake Harvest (no limit, no latency) → JSON.parse → rows → insert into
// embedded ClickHouse. Prints the time of each phase per 1,000 rows, and rows/s of the
// whole path on one core, so an optimisation of one phase shows as a ratio in one run.
//
//   npx tsx bench/page-path-bench.ts [--time-entries 40000] [--per-page 2000]
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { getResource } from '../src/catalog';
import { parseListPage } from '../src/harvest/client';
import { buildTables } from '../src/clickhouse/rows';
import { openClickHouse } from '../src/clickhouse/connect';
import { ensureSchema } from '../src/clickhouse/schema';
import { CATALOG } from '../src/catalog';
import { encodeTable, storePage } from '../src/clickhouse/store';
import { generateAccount, startFakeHarvest } from '../fake-harvest/src';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'time-entries': { type: 'string', default: '40000' }, 'per-page': { type: 'string', default: '2000' } } });
  const n = Number(values['time-entries']);
  const perPage = Number(values['per-page']);
  const data = generateAccount({ seed: 7, timeEntries: n, users: 25 });
  const fake = await startFakeHarvest({ data, tokens: ['bench-pat'], rateLimit: false, reportsRateLimit: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'page-bench-'));
  const ch = openClickHouse({ path: dir, database: 'harvest' } as never);
  try {
    await ensureSchema(ch, ch.database, CATALOG);
    const spec = getResource('time_entries');
    const t = { fetch: 0, parse: 0, rows: 0, store: 0, encode: 0 };
    let rows = 0;
    const started = performance.now();
    let url: string | null = `${fake.baseUrl}/time_entries?per_page=${perPage}&page=1`;
    while (url) {
      let t0 = performance.now();
      const res = await request(url, { headers: { authorization: 'Bearer bench-pat', 'harvest-account-id': String(data.accountId), 'user-agent': 'bench' } });
      const text = await res.body.text();
      t.fetch += performance.now() - t0;
      t0 = performance.now();
      const page = parseListPage(JSON.parse(text), spec, 'bench');
      // As the activity does: the page's dedup token from Harvest's answer and its context.
      const pageHash = createHash('sha256').update(JSON.stringify([spec.name, String(data.accountId), createHash('sha256').update(text).digest('hex')])).digest('hex');
      t.parse += performance.now() - t0;
      t0 = performance.now();
      const built = buildTables(spec, page.records, { accountId: String(data.accountId), syncedAt: new Date(), syncId: 'bench' });
      t.rows += performance.now() - t0;
      // Encoding once more on its own, to show its part of the store time.
      t0 = performance.now();
      encodeTable(built.table, pageHash);
      t.encode += performance.now() - t0;
      t0 = performance.now();
      await storePage(ch, ch.database, spec, String(data.accountId), 'bench', built, pageHash);
      t.store += performance.now() - t0;
      rows += built.table.rows.length;
      url = page.next;
    }
    const wall = (performance.now() - started) / 1000;
    const per1k = (ms: number): string => `${((ms / rows) * 1000).toFixed(1)} ms`;
    console.log(`${rows.toLocaleString('en-US')} time entries in ${wall.toFixed(1)} s: ${Math.round(rows / wall).toLocaleString('en-US')} rows/s on one process`);
    console.log(`per 1,000 rows: fetch ${per1k(t.fetch)} · JSON.parse ${per1k(t.parse)} · rows ${per1k(t.rows)} · store ${per1k(t.store)} (of which encoding ${per1k(t.encode)})`);
    const [stored] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ch.database}.time_entries FINAL`);
    const mem = process.memoryUsage();
    console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (V8 heap ${Math.round(mem.heapUsed / 2 ** 20)} MiB used of ${Math.round(mem.heapTotal / 2 ** 20)}, external ${Math.round(mem.external / 2 ** 20)} MiB; the fake Harvest and its account live in this process too)`);
    console.log(`stored: ${stored.n} (expected ${rows})`);
  } finally {
    await ch.close();
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
