// `harvest-sync demo`: the whole pipeline on embedded defaults against a generated
// sandbox account served by the fake Harvest API: a first full sync, a few edits in
// "Harvest", an incremental sync that reads only those, then a look at the data.
import { parseArgs } from 'node:util';
import { loadConfig, type Env } from './config';
import { openClickHouse } from './clickhouse/connect';
import { tableRef } from './clickhouse/schema';
import { CATALOG } from './harvest/catalog';
import { openSession, type Output } from './session';

export async function runDemo(args: string[], env: Env, out: Output): Promise<number> {
  const { values } = parseArgs({ args, options: { 'time-entries': { type: 'string' } }, strict: true });
  const timeEntries = Number(values['time-entries'] ?? 20_000);
  // The sandbox lives with the tests; loaded lazily so production paths never need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startFakeHarvest, generateAccount } = require('../test/fake-harvest') as typeof import('../test/fake-harvest');
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
    for (const spec of CATALOG) {
      const res = await ch.client.query({
        query: `SELECT count() AS n FROM ${tableRef(ch.database, spec.name)} FINAL WHERE account_id = {a:UInt64} AND _deleted = 0`,
        query_params: { a: accountId },
        format: 'JSONEachRow',
      });
      const [{ n }] = await res.json<{ n: string }>();
      out.write(`  ${ch.database}.${spec.name.padEnd(26)} ${Number(n).toLocaleString('en-US').padStart(9)} rows\n`);
    }
    const top = await ch.client.query({
      query: `SELECT project_name, round(sum(hours), 1) AS total, round(coalesce(sumIf(hours, billable = true), 0), 1) AS billable_hours
              FROM ${tableRef(ch.database, 'time_entries')} FINAL
              WHERE account_id = {a:UInt64} AND _deleted = 0
              GROUP BY project_name ORDER BY total DESC LIMIT 5`,
      query_params: { a: accountId },
      format: 'JSONEachRow',
    });
    out.write('\n  top projects by hours (time_entries FINAL):\n');
    for (const r of await top.json<{ project_name: string; total: number; billable_hours: number }>()) {
      out.write(`    ${String(r.project_name).padEnd(40)} ${String(r.total).padStart(9)} h  (${r.billable_hours} billable)\n`);
    }
  } finally {
    await ch.close();
  }
}
