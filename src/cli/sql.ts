// `harvest-sync sql "SELECT …"`: a query against the configured ClickHouse — the way to
// look at the embedded engine's tables and views while no worker holds its directory.
import { loadConfig, type Env } from '../config';
import { openClickHouse } from '../clickhouse/connect';
import type { Output } from './session';
import { CliUsageError } from './schedule';

export async function sqlCommand(args: string[], env: Env, out: Output): Promise<number> {
  const json = args.includes('--json');
  const rest = args.filter((a) => a !== '--json');
  if (rest.length !== 1) throw new CliUsageError('sql takes one query, e.g. harvest-sync sql "SELECT * FROM harvest.v_last_sync"');
  const cfg = loadConfig(env, { requireHarvest: false });
  const ch = openClickHouse(cfg.clickhouse);
  try {
    out.write(await ch.queryText(rest[0], json ? 'JSONEachRow' : 'TabSeparatedWithNames', { output_format_json_quote_64bit_integers: 0 }));
    return 0;
  } finally {
    await ch.close();
  }
}
