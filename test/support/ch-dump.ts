// Prints the live keys of every table in an embedded ClickHouse directory as JSON.
// A separate process: the engine allows one data directory per process.
import { openClickHouse } from '../../src/clickhouse/connect';
import { ALL_TABLES, liveRowsSQL } from './oracle';

async function main(): Promise<void> {
  const [dir, database] = process.argv.slice(2);
  const ch = openClickHouse({ path: dir, database });
  const out: Record<string, { keys: string[]; rawRows: number }> = {};
  try {
    for (const table of ALL_TABLES) {
      const keys = (await ch.query<{ key: string }>(liveRowsSQL(database, table))).map((r) => r.key);
      const [raw] = await ch.query<{ n: string }>(`SELECT count() AS n FROM \`${database}\`.\`${table.name}\``);
      out[table.name] = { keys, rawRows: Number(raw.n) };
    }
  } finally {
    await ch.close();
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
