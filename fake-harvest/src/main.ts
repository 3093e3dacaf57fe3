/**
 * Runs the fake Harvest standalone, e.g. to point the CLI or curl at it:
 *   npx tsx fake-harvest/src/main.ts [--port 8787] [--time-entries N] [--seed S] [--no-rate-limit] [--token T]
 *     [--accounts N] [--role admin|member]
 */
import { parseArgs } from 'node:util';
import { generateAccount } from './generate';
import { startFakeHarvest } from './server';

function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'time-entries': { type: 'string' },
      seed: { type: 'string' },
      'no-rate-limit': { type: 'boolean' },
      token: { type: 'string' },
      accounts: { type: 'string' },
      role: { type: 'string' },
    },
    strict: true,
  });
  const token = values.token ?? 'test-pat';
  const started = Date.now();
  const data = generateAccount({
    seed: intOption(values.seed, 'seed', 1),
    timeEntries: intOption(values['time-entries'], 'time-entries', 3000),
  });
  const role = values.role ?? 'admin';
  if (role !== 'admin' && role !== 'member') throw new Error('--role must be admin or member');
  // Further accounts: the next seeds, smaller (a second company the same token reaches).
  const more = Array.from({ length: Math.max(0, intOption(values.accounts, 'accounts', 1) - 1) }, (_, i) =>
    generateAccount({ seed: intOption(values.seed, 'seed', 1) + i + 1, timeEntries: 500 }),
  );
  const fake = await startFakeHarvest({
    data,
    accounts: more,
    tokens: [token],
    port: intOption(values.port, 'port', 8787),
    rateLimit: values['no-rate-limit'] ? false : undefined,
    role,
  });
  const lines = [
    `fake Harvest up (${data.timeEntries.length} time entries, generated in ${Date.now() - started} ms); Ctrl-C to stop`,
    `HARVEST_BASE_URL=${fake.baseUrl}`,
    `HARVEST_TOKEN_URL=${fake.tokenUrl}`,
    `HARVEST_ACCOUNT_ID=${data.accountId}`,
    ...more.map((a) => `# also served: account ${a.accountId} (${String(a.company.name)})`),
    // The fake's own throwaway token: printing it is the point of this command.
    `HARVEST_ACCESS_TOKEN=${token}`,
    `HARVEST_USER_AGENT=harvest-sync-dev (dev@example.com)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.once('SIGINT', () => {
    void fake.close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-harvest: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
