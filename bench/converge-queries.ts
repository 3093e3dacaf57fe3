// The state queries this sync adds to every run, timed on the embedded engine:
// stale report windows (derivation from versions), one window's audit, the rotating
// re-check of open parents. The fake Harvest's generated time entries (whole records, as
// Harvest sends them) stored through the real store functions. Each query: its median
// time, and the process's peak resident memory while it ran (the engine is in-process).
//   node --import tsx bench/converge-queries.ts [--time-entries 200000]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openClickHouse } from '../src/clickhouse/connect';
import { ensureSchema } from '../src/clickhouse/schema';
import { buildTables } from '../src/clickhouse/rows';
import { auditReportWindow, disturbedWindows, parentIds, recordParentChecks, staleEntryDates, storePage, unseenCandidates } from '../src/clickhouse/store';
import { CATALOG, getResource } from '../src/catalog';
import { windowOf } from '../src/core/windows';
import { generateAccount } from '../fake-harvest/src';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const n = arg('time-entries', 200_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'converge-bench-'));
  const ch = openClickHouse({ path: dir, database: 'bench' });
  const db = 'bench';
  try {
    await ensureSchema(ch, db, CATALOG);
    const entries = getResource('time_entries');
    const store = async (records: Array<Record<string, unknown>>, syncId: string) => {
      for (let i = 0; i < records.length; i += 2000) {
        await storePage(ch, db, entries, '1', syncId, buildTables(entries, records.slice(i, i + 2000), { accountId: '1', syncedAt: new Date(), syncId }));
      }
    };
    const generated = generateAccount({ seed: 1, timeEntries: n, firstDate: '2024-01-01', lastDate: '2025-12-31' }).timeEntries;
    await store(generated, 'before');
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    // An incremental run's worth of changes: 500 entries, 50 of them moved to another date.
    await store(Array.from({ length: 500 }, (_, i) => ({ ...generated[i * 37]!, hours: 2, ...(i < 50 ? { spent_date: '2025-06-01' } : {}) })), 'now');
    const invoices = getResource('invoices');
    await storePage(ch, db, invoices, '1', 'before', buildTables(invoices, Array.from({ length: 5000 }, (_, i) => ({
      id: i + 1, state: i % 2 ? 'open' : 'paid', updated_at: '2024-01-01T00:00:00Z', line_items: [],
    })), { accountId: '1', syncedAt: new Date(), syncId: 'before' }));

    const time = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      // Linux: "5" resets the peak resident set (VmHWM) of this process.
      const resetPeak = (): void => fs.writeFileSync('/proc/self/clear_refs', '5');
      const peakMiB = (): number => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
      const rssMiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
      const base = rssMiB();
      resetPeak();
      await fn(); // warm
      const peak = peakMiB() - base;
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await fn();
        runs.push(performance.now() - t);
      }
      runs.sort((a, b) => a - b);
      process.stdout.write(`${what.padEnd(58)} median ${runs[2].toFixed(1)} ms (min ${runs[0].toFixed(1)}, max ${runs[4].toFixed(1)}), peak +${peak.toFixed(0)} MiB\n`);
    };
    process.stdout.write(`${n.toLocaleString('en-US')} generated time entries (+500 new versions), 5,000 invoices\n`);
    await time('stale entry dates since the report cursor', () => staleEntryDates(ch, db, '1', { since, notBy: 'x' }));
    await time('stale entry dates written by one sync (500)', () => staleEntryDates(ch, db, '1', { writtenBy: 'now' }));
    await time('stale entry dates written by a first full sync (all)', () => staleEntryDates(ch, db, '1', { writtenBy: 'before' }));
    await time('audit of one report window (report_time_projects)', () => auditReportWindow(ch, db, '1', 'report_time_projects', windowOf('2025-06-01'), 'audit'));
    await time('audits of three windows at once (a full sync\'s time report)', () =>
      Promise.all(['2024-01-01', '2024-12-31', '2025-06-01'].map((d) => auditReportWindow(ch, db, '1', 'report_time_projects', windowOf(d), 'audit'))));
    await time('deletion candidates after a full listing (most seen)', () => unseenCandidates(ch, db, entries, '1', 'before', since, 500));
    await time('deletion candidates after a full listing (none seen)', () => unseenCandidates(ch, db, entries, '1', 'other', since, 500));
    await time('disturbed paged windows (8 windows, 500 edits)', () =>
      disturbedWindows(ch, db, entries, '1', Array.from({ length: 8 }, (_, i) => ({ id: i + 1, from: `2025-0${i + 1}-01`, to: `2025-0${i + 1}-28`, since }))));
    await time('re-check parents (rotation, 2,500 open invoices)', () => parentIds(ch, db, '1', getResource('invoice_payments'), 0, 200, 'sync'));
    await time('record the parent checks', () => recordParentChecks(ch, db, '1', getResource('invoice_payments'), 'sync', true));
  } finally {
    await ch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
