// Benchmark: the embedded engine's memory while a large account lands, with the merge
// settings of the synced tables (every merge vertical) against ClickHouse's defaults
// (horizontal below 131,072 rows or 11 columns), in one run. Stores N time entries as
// 2,000-row pages through the page path's own storePage into a fresh embedded
// ClickHouse per variant, in a child process each (the engine binds one directory per
// process), sampling MemoryTracking and system.merges every 200 ms.
//
//   npx tsx bench/merge-memory-bench.ts [--time-entries 300000]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CATALOG, getResource } from '../src/catalog';
import { buildTables } from '../src/clickhouse/rows';
import { openClickHouse } from '../src/clickhouse/connect';
import { ensureSchema } from '../src/clickhouse/schema';
import { storePage } from '../src/clickhouse/store';
import { generateAccount } from '../fake-harvest/src';

const PER_PAGE = 2000;
// ClickHouse's defaults, set back on the table for the comparison.
const DEFAULTS = 'vertical_merge_algorithm_min_rows_to_activate = 131072, vertical_merge_algorithm_min_columns_to_activate = 11';

interface Figures {
  variant: string;
  seconds: number;
  peakRssMiB: number;
  peakTrackedMiB: number;
  peakMergeMiB: number;
  largestMerge: string;
  stored: number;
}

async function variant(name: string, n: number): Promise<Figures> {
  const data = generateAccount({ seed: 7, timeEntries: PER_PAGE, users: 25 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'merge-bench-'));
  const ch = openClickHouse({ path: dir, database: 'harvest' } as never);
  try {
    await ensureSchema(ch, ch.database, CATALOG);
    if (name === 'defaults') await ch.command(`ALTER TABLE harvest.time_entries MODIFY SETTING ${DEFAULTS}`);
    const spec = getResource('time_entries');
    let peakTracked = 0;
    let peakMerge = 0;
    let largestMerge = 'none seen';
    let polling = false;
    const poll = setInterval(() => {
      if (polling) return;
      polling = true;
      void ch
        .query<{ tracked: string; merging: string; merge: string }>(
          `SELECT (SELECT value FROM system.metrics WHERE metric = 'MemoryTracking') AS tracked,
                  (SELECT sum(memory_usage) FROM system.merges) AS merging,
                  (SELECT any(merge_algorithm || ', ' || toString(num_parts) || ' parts') FROM system.merges) AS merge`,
        )
        .then(([x]) => {
          peakTracked = Math.max(peakTracked, Number(x.tracked));
          if (Number(x.merging) > peakMerge) {
            peakMerge = Number(x.merging);
            largestMerge = x.merge;
          }
        })
        .catch(() => undefined)
        .finally(() => (polling = false));
    }, 200);
    const started = performance.now();
    for (let p = 0; p * PER_PAGE < n; p++) {
      // The same 2,000 records under fresh ids: the account's shape without holding N records.
      const records = data.timeEntries.map((r, i) => ({ ...r, id: p * PER_PAGE + i + 1 }));
      const built = buildTables(spec, records, { accountId: '1', syncedAt: new Date(), syncId: 'bench' });
      await storePage(ch, ch.database, spec, '1', 'bench', built, `bench-page-${p}`);
    }
    const seconds = (performance.now() - started) / 1000;
    // Merges that the last inserts started.
    await new Promise((r) => setTimeout(r, 5000));
    clearInterval(poll);
    const stored = Number((await ch.query<{ n: string }>('SELECT count() AS n FROM harvest.time_entries FINAL'))[0].n);
    const mib = (b: number): number => Math.round(b / 2 ** 20);
    return { variant: name, seconds, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), peakTrackedMiB: mib(peakTracked), peakMergeMiB: mib(peakMerge), largestMerge, stored };
  } finally {
    await ch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'time-entries': { type: 'string', default: '300000' }, variant: { type: 'string' } } });
  const n = Number(values['time-entries']);
  if (values.variant) {
    process.stdout.write(JSON.stringify(await variant(values.variant, n)) + '\n');
    return;
  }
  console.log(`merge memory: ${n.toLocaleString('en-US')} time entries as ${PER_PAGE}-row pages into embedded ClickHouse`);
  const figures: Figures[] = [];
  for (const v of ['defaults', 'synced tables']) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--time-entries', String(n), '--variant', v], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (child.status !== 0) throw new Error(`${v}: ${child.stderr.slice(-1000)}`);
    const f = JSON.parse(child.stdout.trim().split('\n').pop()!) as Figures;
    figures.push(f);
    console.log(
      `  ${f.variant.padEnd(14)} ${f.seconds.toFixed(1)} s · peak RSS ${f.peakRssMiB} MiB · engine tracked ${f.peakTrackedMiB} MiB · merges ${f.peakMergeMiB} MiB (largest: ${f.largestMerge}) · stored ${f.stored.toLocaleString('en-US')}${f.stored === n ? '' : ` of ${n} — NOT EXACT`}`,
    );
  }
  const [a, b] = figures;
  console.log(`  ratio (synced ÷ defaults): peak RSS ${(b.peakRssMiB / a.peakRssMiB).toFixed(2)}, merge memory ${(b.peakMergeMiB / Math.max(1, a.peakMergeMiB)).toFixed(2)}, time ${(b.seconds / a.seconds).toFixed(2)}`);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
