// Records the workflow histories of real runs of this release into test/histories/, for
// the replay test (test/workflows/replay.test.ts): they are what syncs of this release look
// like, and the pacer (which moves to each new build) must keep replaying them.
//   npm run record:histories            (all scenarios)
//   npm run record:histories -- full    (some)
// Real components: the Temporal dev server, an in-process worker, embedded ClickHouse, the
// fake Harvest over HTTP. Recorded at each release (docs/releasing.md).
import { generateAccount, startFakeHarvest, type FakeHarvest } from '../../fake-harvest/src';
import { createSyncWorker } from '../../src/worker/worker';
import { pacingTaskQueue } from '../../src/pacing/pacer';
import type { SyncInput } from '../../src/core/types';
import { runSync, teardown, temporalEnv, testConfig, testDeployment, unique, workflowBundle, type TestSetup } from './harness';
import { collectHistories, writeScenario } from './histories';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

interface Scenario {
  name: string;
  description: string;
  run(): Promise<string>; // the task queue whose executions make the scenario
}

const account = (seed: number, timeEntries = 600, users = 6): ReturnType<typeof generateAccount> => generateAccount({ seed, timeEntries, users });

async function withFake<T>(data: ReturnType<typeof generateAccount>, fn: (fake: FakeHarvest) => Promise<T>, more: { accounts?: Array<ReturnType<typeof generateAccount>> } = {}): Promise<T> {
  const fake = await startFakeHarvest({ data, rateLimit: false, ...(more.accounts ? { accounts: more.accounts } : {}) });
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

async function sync(setup: TestSetup, input: SyncInput): Promise<void> {
  const { error } = await runSync(setup.cfg, input);
  if (error) throw error;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'full',
    description: 'a first full sync of every resource under window pacing: reports, nested lines, per-parent fan-outs, deletion confirmation and marking, and the token\'s pacer',
    run: () => withFake(account(101), async (fake) => {
      const ids = unique('rec_full');
      await sync(testConfig(fake, ids, { HARVEST_PACING: 'window' }), { mode: 'full' });
      return ids.taskQueue;
    }),
  },
  {
    name: 'in-flight',
    description: 'a full sync whose time entries span several numbered pages, read as a sliding window of requests in flight sized by latency',
    run: () => withFake(account(108, 7000, 8), async (fake) => {
      const ids = unique('rec_inflight');
      await sync(testConfig(fake, ids), { mode: 'full', resources: ['time_entries', 'users', 'user_projects'] });
      return ids.taskQueue;
    }),
  },
  {
    name: 'incremental',
    description: 'an incremental run after edits: change-driven fan-out, changed report windows, committed cursors',
    run: () => withFake(account(102), async (fake) => {
      const first = unique('rec_inc_first');
      await sync(testConfig(fake, first), {});
      for (const e of fake.data.timeEntries.slice(0, 3)) fake.update('timeEntries', e.id, { hours: 3.5 });
      fake.update('users', fake.data.users[1].id, { first_name: 'Renamed' });
      fake.update('invoices', fake.data.invoices[0].id, { subject: 'edited' });
      const ids = { database: first.database, taskQueue: unique('rec_inc').taskQueue };
      await sync(testConfig(fake, ids), {});
      return ids.taskQueue;
    }),
  },
  {
    name: 'backfill',
    description: 'a backfill of a date range (date-ranged lists and report windows; no cursor)',
    run: () => withFake(account(103), async (fake) => {
      const ids = unique('rec_backfill');
      const dates = fake.data.timeEntries.map((e) => String(e.spent_date)).sort();
      await sync(testConfig(fake, ids), { mode: 'backfill', since: dates[0], until: dates[Math.floor(dates.length / 2)] });
      return ids.taskQueue;
    }),
  },
  {
    name: 'accounts',
    description: 'HARVEST_ACCOUNT_ID=all with two accounts: one account sync child each',
    run: () => withFake(account(104, 200, 3), async (fake) => {
      const ids = unique('rec_accounts');
      await sync(testConfig(fake, ids, { HARVEST_ACCOUNT_ID: 'all' }), { resources: ['time_entries', 'users'] });
      return ids.taskQueue;
    }, { accounts: [account(105, 300, 4)] }),
  },
  {
    name: 'continue-as-new',
    description: 'a page-numbered list read in parallel and a fan-out, both continuing as new with carried state',
    run: () => withFake(generateAccount({ seed: 106, timeEntries: 9000, users: 60 }), async (fake) => {
      const ids = unique('rec_can');
      await sync(testConfig(fake, ids), { historyLimit: 20, concurrency: 2, resources: ['time_entries', 'user_projects'] });
      return ids.taskQueue;
    }),
  },
  {
    name: 'forbidden',
    description: 'a 403 on projects: skipped with its dependents, the rest lands; fullEvery promotes the run to full',
    run: () => withFake(account(107, 200, 4), async (fake) => {
      fake.faults.forbid('/v2/projects', 'Only administrators can list projects');
      const ids = unique('rec_403');
      await sync(testConfig(fake, ids), { fullEvery: '7d' });
      return ids.taskQueue;
    }),
  },
  {
    name: 'report-windows',
    description: 'a full sync of windowed reports over seven years of entries: 365-day windows read four at a time, each replaced once read',
    run: () => withFake(generateAccount({ seed: 109, timeEntries: 1500, users: 5, firstDate: '2019-06-01' }), async (fake) => {
      const ids = unique('rec_windows');
      await sync(testConfig(fake, ids), { mode: 'full', resources: ['time_entries', 'expenses', 'report_time_clients', 'report_expenses_categories'] });
      return ids.taskQueue;
    }),
  },
  {
    name: 'fan-outs',
    description: 'a full sync of per-parent fan-outs (users\' rates and assignments, invoices\' messages and payments) under window pacing, at least 16 in flight each',
    run: () => withFake(account(110, 400, 12), async (fake) => {
      const ids = unique('rec_fanouts');
      await sync(testConfig(fake, ids, { HARVEST_PACING: 'window' }), { mode: 'full', resources: ['users', 'invoices', 'billable_rates', 'user_projects', 'invoice_messages', 'invoice_payments'] });
      return ids.taskQueue;
    }),
  },
  {
    name: 'cancelled',
    description: 'a sync cancelled mid-way: the run log says cancelled, no cursor is committed',
    run: () => withFake(generateAccount({ seed: 108, timeEntries: 8000, users: 10 }), async (fake) => {
      const ids = unique('rec_cancel');
      const setup = testConfig(fake, ids, { HARVEST_REQUESTS_PER_SECOND: '4' });
      const env = await temporalEnv();
      const sw = await createSyncWorker(setup.cfg, { connection: env.nativeConnection, workflowBundle: await workflowBundle() });
      try {
        await sw.worker.runUntil(async () => {
          const handle = await env.client.workflow.start('harvestSync', { taskQueue: ids.taskQueue, workflowId: `rec-cancel-${Date.now()}`, args: [{}] });
          const deadline = Date.now() + 60_000;
          while (fake.requests.filter((r) => r.path === '/v2/time_entries').length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
          await handle.cancel();
          await handle.result().catch(() => undefined);
        });
      } finally {
        await sw.release();
      }
      return ids.taskQueue;
    }),
  },
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const env = await temporalEnv();
  for (const s of SCENARIOS.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
    const started = Date.now();
    const taskQueue = await s.run();
    await new Promise((r) => setTimeout(r, 2000)); // visibility catches up with the last executions
    const histories = await collectHistories(env.client, taskQueue);
    if (s.name === 'full') histories.push(...(await collectHistories(env.client, pacingTaskQueue(testDeployment(taskQueue)), { running: true })));
    const file = writeScenario({ scenario: s.name, description: s.description, version, recordedAt: new Date().toISOString(), histories });
    const events = histories.map((h) => h.events);
    process.stdout.write(`${s.name}: ${histories.length} executions, ${events.reduce((a, b) => a + b, 0)} events (largest ${Math.max(...events)}) → ${file} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
}

main()
  .catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => teardown());
