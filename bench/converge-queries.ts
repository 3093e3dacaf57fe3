// The state queries this sync adds to every run, timed on the embedded engine:
// stale report windows (derivation from versions), one window's audit, the rotating
// re-check of open parents. Synthetic rows stored through the real store functions.
//   node --import tsx bench/converge-queries.ts [--time-entries 200000]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openClickHouse } from '../src/clickhouse/connect';
import { ensureSchema } from '../src/clickhouse/schema';
import { buildTables } from '../src/clickhouse/rows';
import { auditReportWindow, parentIds, recordParentChecks, staleEntryDates, storePage } from '../src/clickhouse/store';
import { CATALOG, getResource } from '../src/catalog';
import { windowOf } from '../src/core/windows';

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
    const day0 = Date.UTC(2022, 0, 1);
    const entry = (id: number, hours: number) => ({
      id, spent_date: new Date(day0 + (id % 1500) * 86_400_000).toISOString().slice(0, 10), hours, rounded_hours: hours,
      user: { id: id % 40, name: 'u' }, project: { id: id % 300, name: 'p', code: '' }, client: { id: id % 60, name: 'c', currency: 'EUR' },
      task: { id: 1, name: 't' }, updated_at: '2024-01-01T00:00:00Z', created_at: '2024-01-01T00:00:00Z',
    });
    const store = async (records: Array<Record<string, unknown>>, syncId: string) => {
      for (let i = 0; i < records.length; i += 2000) {
        await storePage(ch, db, entries, '1', syncId, buildTables(entries, records.slice(i, i + 2000), { accountId: '1', syncedAt: new Date(), syncId }));
      }
    };
    await store(Array.from({ length: n }, (_, i) => entry(i + 1, 1.25)), 'before');
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    // An incremental run's worth of changes: 500 entries, 50 of them moved to another date.
    await store(Array.from({ length: 500 }, (_, i) => ({ ...entry(i * 37 + 1, 2), ...(i < 50 ? { spent_date: '2025-06-01' } : {}) })), 'now');
    const invoices = getResource('invoices');
    await storePage(ch, db, invoices, '1', 'before', buildTables(invoices, Array.from({ length: 5000 }, (_, i) => ({
      id: i + 1, state: i % 2 ? 'open' : 'paid', updated_at: '2024-01-01T00:00:00Z', line_items: [],
    })), { accountId: '1', syncedAt: new Date(), syncId: 'before' }));

    const time = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      await fn(); // warm
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await fn();
        runs.push(performance.now() - t);
      }
      runs.sort((a, b) => a - b);
      process.stdout.write(`${what.padEnd(58)} median ${runs[2].toFixed(1)} ms (min ${runs[0].toFixed(1)}, max ${runs[4].toFixed(1)})\n`);
    };
    process.stdout.write(`${n.toLocaleString('en-US')} time entries (+500 new versions), 5,000 invoices\n`);
    await time('stale entry dates since the report cursor', () => staleEntryDates(ch, db, '1', { since, notBy: 'x' }));
    await time('stale entry dates written by one sync', () => staleEntryDates(ch, db, '1', { writtenBy: 'now' }));
    await time('audit of one report window (report_time_projects)', () => auditReportWindow(ch, db, '1', 'report_time_projects', windowOf('2024-06-01'), 'audit'));
    await time('re-check parents (rotation, 2,500 open invoices)', () => parentIds(ch, db, '1', getResource('invoice_payments'), 0, 200, 'sync'));
    await time('record the parent checks', () => recordParentChecks(ch, db, '1', getResource('invoice_payments'), 'sync', true));
  } finally {
    await ch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
