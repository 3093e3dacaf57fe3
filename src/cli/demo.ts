// `harvest-sync demo`: the whole pipeline on embedded defaults against a generated
// sandbox account served by the fake Harvest API: a first full sync, a few edits in
// "Harvest", an incremental sync that reads only those, then a look at the data.
import { parseArgs } from 'node:util';
import { loadConfig, type Env } from '../config';
import { openClickHouse } from '../clickhouse/connect';
import { tableRef } from '../clickhouse/schema';
import { CATALOG } from '../catalog';
import { ANALYTICS_VIEWS } from '../clickhouse/views';
import { openSession, type Output } from './session';

export async function runDemo(args: string[], env: Env, out: Output): Promise<number> {
  const { values } = parseArgs({ args, options: { 'time-entries': { type: 'string' } }, strict: true });
  const timeEntries = Number(values['time-entries'] ?? 20_000);
  // Loaded lazily so the other commands never load the sandbox.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startFakeHarvest, generateAccount } = require('../../fake-harvest/src') as typeof import('../../fake-harvest/src');
  out.write(`demo: generating a sandbox Harvest account with ${timeEntries.toLocaleString('en-US')} time entries…\n`);
  const data = generateAccount({ timeEntries });
  const token = 'demo-personal-access-token';
  const fake = await startFakeHarvest({ data, tokens: [token] });
  try {
    const cfg = loadConfig(
      {
        ...env,
        // The demo is self-contained: embedded Temporal and the sandbox, whatever is configured.
        TEMPORAL_ADDRESS: undefined,
        HARVEST_ACCOUNT_ID: String(data.accountId),
        HARVEST_ACCESS_TOKEN: token,
        HARVEST_CLIENT_ID: undefined,
        HARVEST_CLIENT_SECRET: undefined,
        HARVEST_REFRESH_TOKEN: undefined,
        HARVEST_START_DATE: undefined,
        HARVEST_BASE_URL: fake.baseUrl,
        HARVEST_TOKEN_URL: fake.tokenUrl,
        CLICKHOUSE_DATABASE: env.CLICKHOUSE_DATABASE ?? 'harvest_demo',
        // The sandbox's reports allow 100 requests / 15 min: a demo's few dozen go at once.
        HARVEST_REPORTS_REQUESTS_PER_SECOND: env.HARVEST_REPORTS_REQUESTS_PER_SECOND ?? '20',
      },
      { requireHarvest: true },
    );
    out.write(`demo: sandbox API at ${fake.baseUrl}; ClickHouse ${cfg.clickhouse.url ?? `embedded at ${cfg.clickhouse.path}`}, database ${cfg.clickhouse.database}\n`);
    const session = await openSession(cfg, out);
    try {
      out.write('\n1) first sync: everything\n');
      const first = await session.runSync({ mode: 'full' });
      if (!first.ok) throw new Error(first.message);

      out.write('\n2) meanwhile in Harvest: 3 time entries edited, 1 project renamed\n');
      for (const entry of data.timeEntries.slice(0, 3)) fake.update('timeEntries', entry.id as number, { notes: 'edited during the demo' });
      fake.update('projects', data.projects[0].id as number, { name: `${String(data.projects[0].name)} (renamed)` });

      out.write('\n3) incremental sync: only what changed\n');
      const second = await session.runSync({});
      if (!second.ok) throw new Error(second.message);

      out.write('\n4) in ClickHouse\n');
      await showData(cfg.clickhouse, String(data.accountId), out);
      return 0;
    } finally {
      await session.close();
    }
  } finally {
    await fake.close();
  }
}

async function showData(cfg: Parameters<typeof openClickHouse>[0], accountId: string, out: Output): Promise<void> {
  const ch = openClickHouse(cfg);
  try {
    // Live rows per table, three tables a line.
    const cells: string[] = [];
    for (const spec of CATALOG) {
      const [{ n }] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${tableRef(ch.database, spec.name)} FINAL WHERE account_id = {a:UInt64} AND _deleted = 0`, { a: accountId });
      cells.push(`${spec.name} ${Number(n).toLocaleString('en-US')}`);
    }
    out.write(`  live rows per table of ${ch.database}:\n`);
    for (let i = 0; i < cells.length; i += 3) out.write(`    ${cells.slice(i, i + 3).map((c) => c.padEnd(34)).join('').trimEnd()}\n`);
    const rows = <T>(query: string): Promise<T[]> => ch.query<T>(query, { a: accountId }, { output_format_json_quote_64bit_integers: 0 });
    out.write('\n  top projects by hours (view v_project_budget):\n');
    const top = await rows<{ project_name: string; hours_spent: number; budget_unit: string | null; budget_used_pct: number | null }>(
      `SELECT project_name, hours_spent, budget_unit, budget_used_pct FROM ${tableRef(ch.database, 'v_project_budget')}
       WHERE account_id = {a:UInt64} ORDER BY hours_spent DESC LIMIT 5`,
    );
    for (const r of top) {
      const budget = r.budget_used_pct === null ? 'no budget' : `${r.budget_used_pct}% of the ${r.budget_unit} budget used`;
      out.write(`    ${String(r.project_name).padEnd(40)} ${r.hours_spent.toFixed(1).padStart(9)} h  (${budget})\n`);
    }
    out.write('\n  run log (_sync_runs):\n');
    const runs = await rows<{ started_at: string; mode: string; status: string; rows: number; requests: number }>(
      `SELECT toString(started_at) AS started_at, mode, status, rows, requests FROM ${tableRef(ch.database, '_sync_runs')} FINAL
       WHERE account_id = {a:UInt64} ORDER BY started_at`,
    );
    for (const r of runs) out.write(`    ${r.started_at}  ${r.mode.padEnd(11)} ${r.status.padEnd(9)} ${r.rows.toLocaleString('en-US').padStart(7)} rows  ${r.requests} requests\n`);
    out.write(`\n  more views: ${ANALYTICS_VIEWS.map((v) => v.name).join(', ')} (docs/analytics.md)\n`);
  } finally {
    await ch.close();
  }
}
