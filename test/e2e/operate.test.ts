// Operating harvest-sync the way Temporal users do: schedules created and driven from the
// CLI with a real scheduled run landing data, a backfill started with `temporal workflow
// start` and the README's JSON, no overlap between two syncs of one account, live
// status, and the `_sync_runs` log after success, skip and failure.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { generateAccount, startFakeHarvest } from '../../fake-harvest/src';
import { query, rootMessage, runSync, temporalCli, temporalEnv, testConfig, unique, workflowBundle } from '../support/harness';
import { cli } from '../support/cli';
import { createSyncWorker } from '../../src/worker/worker';
import { fetchProgress } from '../../src/cli/session';
import { collectStatus } from '../../src/cli/status';
import { createSchedule, type ScheduleReport } from '../../src/temporal/schedules';
import type { ResourceProgress, SyncSummary } from '../../src/core/types';
import type { Config } from '../../src/config';
import type { RunRow } from '../support/runs';

const exec = promisify(execFile);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const syncRuns = (db: string): Promise<RunRow[]> => query<RunRow>(`SELECT * FROM \`${db}\`._sync_runs FINAL ORDER BY started_at`);

/** Runs `fn` with an in-process worker for this config on the shared dev server. */
async function withWorker<T>(cfg: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const env = await temporalEnv();
  const sw = await createSyncWorker(cfg, { connection: env.nativeConnection, workflowBundle: await workflowBundle() });
  try {
    return await sw.worker.runUntil(() => fn(env.client));
  } finally {
    await sw.release();
  }
}

describe('operating harvest-sync', () => {
  it('schedules: create, describe, trigger a real scheduled run that lands data, pause, update, delete', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 61, timeEntries: 400, users: 4 }), rateLimit: false });
    try {
      const ids = unique('sched');
      const { cfg, env } = testConfig(fake, ids);
      const temporal = await temporalEnv();
      const cliEnv = { ...(env as Record<string, string>), TEMPORAL_ADDRESS: temporal.address };
      const account = String(fake.data.accountId);
      const scheduleId = `${ids.taskQueue}-${account}`;
      const describeJson = async (): Promise<ScheduleReport> => {
        const r = await cli(['schedule', 'describe', scheduleId, '--json'], cliEnv);
        assert.equal(r.code, 0, r.stderr);
        return (JSON.parse(r.stdout) as ScheduleReport[])[0];
      };

      // Without --full-every: each resource is reconciled every 7 days.
      const created = await cli(['schedule', 'create', '--every', '1h'], cliEnv);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, new RegExp(`created schedule ${scheduleId}: account ${account}, every 1h, full reconciliation of each resource every 7d`));
      const again = await cli(['schedule', 'create', '--every', '1h'], cliEnv);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /already exists; left as it is/);
      const bad = await cli(['schedule', 'create', '--every', 'hourly', '--cron', '0 * * *', '--resources', 'nope'], cliEnv);
      assert.equal(bad.code, 2);
      for (const needle of ['--every and --cron', '--every must be', '--cron must have five fields', 'unknown resource']) assert.ok(bad.stderr.includes(needle), `${needle} in ${bad.stderr}`);

      let d = await describeJson();
      assert.equal(d.accountId, account);
      assert.equal(d.overlap, 'SKIP');
      assert.equal(d.catchupWindow, '1h');
      assert.equal(d.pauseOnFailure, false);
      assert.deepEqual(d.input, { accountId: account, fullEvery: '7d' });
      assert.equal(d.timing, 'every 1h (UTC)');
      const next = Date.parse(d.nextRuns[0]);
      assert.ok(next > Date.now() - 1000 && next <= Date.now() + 3_600_000 + 1000, `next run ${d.nextRuns[0]} within the hour`);
      const listed = await cli(['schedule', 'list'], cliEnv);
      assert.match(listed.stdout, new RegExp(`${scheduleId}\\s+account ${account}`));

      await withWorker(cfg, async (client) => {
        const trig = await cli(['schedule', 'trigger', '--account', account], cliEnv);
        assert.equal(trig.code, 0, trig.stderr);
        const wfId = await waitFor('the scheduled run', async () => {
          const desc = await client.schedule.getHandle(scheduleId).describe();
          return desc.info.recentActions[0]?.action.workflow.workflowId;
        });
        assert.ok(wfId.startsWith(scheduleId), wfId);
        const summary = (await client.workflow.getHandle(wfId).result()) as SyncSummary;
        assert.equal(summary.status, 'succeeded');
        // First run with --full-every: a full reconciliation.
        assert.equal(summary.mode, 'full');

        // A backfill started from the CLI without waiting; the worker above runs it.
        const bf = await cli(['backfill', '--since', '2020-01-01', '--resources', 'clients', '--detach'], cliEnv);
        assert.equal(bf.code, 0, bf.stderr);
        const bfId = /backfill (\S+) started/.exec(bf.stdout)?.[1];
        assert.ok(bfId, bf.stdout);
        const bfSummary = (await client.workflow.getHandle(bfId).result()) as SyncSummary;
        assert.equal(bfSummary.mode, 'backfill');
      });
      const [live] = await query<{ n: number }>(`SELECT count() AS n FROM \`${ids.database}\`.time_entries FINAL WHERE _deleted = 0`);
      assert.equal(Number(live.n), fake.data.timeEntries.length, 'the scheduled run landed every time entry');
      const runs = await syncRuns(ids.database);
      const scheduled = runs.find((r) => r.trigger === 'schedule');
      assert.ok(scheduled, JSON.stringify(runs));
      assert.equal(scheduled.schedule_id, scheduleId);
      assert.equal(scheduled.status, 'succeeded');
      assert.equal(scheduled.mode, 'full');
      assert.ok(scheduled.rows >= fake.data.timeEntries.length && scheduled.requests >= scheduled['resources.name'].length);
      assert.ok(runs.some((r) => r.mode === 'backfill' && r.trigger === 'manual' && r.status === 'succeeded'));

      d = await describeJson();
      assert.equal(d.runsTaken, 1);
      assert.equal(d.recent[0].status, 'COMPLETED');
      assert.match(d.recent[0].outcome, /rows, \d+ requests \(full\)/);
      const text = await cli(['schedule', 'describe', scheduleId], cliEnv);
      assert.match(text.stdout, /last runs\s+\S+\s+COMPLETED/);

      assert.equal((await cli(['schedule', 'pause', scheduleId, '--note', 'maintenance'], cliEnv)).code, 0);
      d = await describeJson();
      assert.equal(d.paused, true);
      assert.equal(d.note, 'maintenance');
      assert.equal((await cli(['schedule', 'unpause', scheduleId], cliEnv)).code, 0);
      assert.equal((await cli(['schedule', 'update', scheduleId, '--every', '30m', '--resources', 'users,time_entries'], cliEnv)).code, 0);
      d = await describeJson();
      assert.equal(d.paused, false);
      assert.equal(d.timing, 'every 30m (UTC)');
      assert.deepEqual(d.input, { accountId: account, fullEvery: '7d', resources: ['users', 'time_entries'] });
      assert.equal((await cli(['schedule', 'update', scheduleId, '--cron', '15 3 * * 1-5', '--full-every', 'never', '--resources', 'all'], cliEnv)).code, 0);
      d = await describeJson();
      assert.equal(d.timing, 'cron "15 3 * * MONDAY-FRIDAY" (UTC)');
      assert.deepEqual(d.input, { accountId: account });

      const del = await cli(['schedule', 'delete', '--account', account], cliEnv);
      assert.equal(del.code, 0, del.stderr);
      assert.match((await cli(['schedule', 'list'], cliEnv)).stdout, /no harvest-sync schedules/);
      const gone = await cli(['schedule', 'describe', scheduleId], cliEnv);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /no schedule/);
    } finally {
      await fake.close();
    }
  });

  it('no overlap of a scheduled and a manual sync, live status, and a backfill from `temporal workflow start` that leaves the cursors alone', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 62, timeEntries: 2500, users: 5 }), rateLimit: false });
    let release: () => void = () => undefined;
    try {
      const ids = unique('overlap');
      const { cfg } = testConfig(fake, ids);
      const account = String(fake.data.accountId);
      const first = await runSync(cfg);
      assert.ifError(first.error);
      const cursorsBefore = await query<{ resource: string; cursor: string; sync_id: string }>(
        `SELECT resource, toString(cursor) AS cursor, sync_id FROM \`${ids.database}\`._sync_state FINAL ORDER BY resource`,
      );
      for (const e of fake.data.timeEntries.slice(0, 5)) fake.update('timeEntries', e.id, { notes: 'edited for the incremental run' });

      // Hold the regular run on its time entries page (backfills, which ask by date, pass).
      const gate = new Promise<void>((resolve) => (release = resolve));
      const unsubscribe = fake.onRequest(async (req) => {
        if (req.path.startsWith('/v2/time_entries') && !req.query.from) await gate;
      });
      const temporal = await temporalEnv();
      await withWorker(cfg, async (client) => {
        const a = await client.workflow.start('harvestSync', { taskQueue: ids.taskQueue, workflowId: `manual-a-${ids.taskQueue}`, args: [{}] });
        const laneId = `${ids.taskQueue}/${account}/sync`;

        // Status while it runs: per resource state, pages, rows, requests, position.
        const during = await waitFor('time_entries to be running', async () => {
          const progress = await fetchProgress(client, a.workflowId);
          const te = progress?.find((r) => r.resource === 'time_entries');
          const users = progress?.find((r) => r.resource === 'users');
          return te?.state === 'running' && users?.state === 'done' ? progress : undefined;
        });
        const users = during.find((r) => r.resource === 'users')!;
        assert.equal(users.state, 'done');
        assert.ok(users.requests >= users.pages && users.pages >= 1, JSON.stringify(users));
        const te = during.find((r) => r.resource === 'time_entries')!;
        assert.match(te.position ?? '', /date windows/);
        assert.ok(te.updatedSince, 'incremental: reads from the committed cursor');
        const status = await collectStatus(client, { workflowId: a.workflowId, limit: 1 });
        assert.equal(status[0].status, 'RUNNING');
        assert.deepEqual(status[0].accounts, [account]);
        assert.equal(status[0].mode, 'incremental');
        assert.ok(status[0].resources?.some((r) => r.resource === 'time_entries' && r.state === 'running'));

        // The account's schedule comes due while the manual sync runs: the scheduled run is skipped, visibly.
        const { scheduleId } = await createSchedule(client, ids.taskQueue, account, { every: '1h', catchupWindow: '1h' });
        await client.schedule.getHandle(scheduleId).trigger();
        const scheduledId = await waitFor('the scheduled run', async () => (await client.schedule.getHandle(scheduleId).describe()).info.recentActions[0]?.action.workflow.workflowId);
        const b = (await client.workflow.getHandle(scheduledId).result()) as SyncSummary;
        await client.schedule.getHandle(scheduleId).delete();
        assert.equal(b.status, 'skipped');
        assert.match(b.skippedBecause ?? '', new RegExp(`another sync of account ${account} is running \\(workflow ${laneId.replace(/[/]/g, '\\/')}\\)`));
        // And a second manual one too.
        const c = (await client.workflow.execute('harvestSync', { taskQueue: ids.taskQueue, workflowId: `manual-c-${ids.taskQueue}`, args: [{ accountId: account }] })) as SyncSummary;
        assert.equal(c.status, 'skipped');

        // A backfill runs beside it: the README's command and JSON, verbatim in shape.
        const input = JSON.stringify({ mode: 'backfill', since: '2024-01-01', until: '2024-06-30', resources: ['time_entries'] });
        const bfId = `backfill-${ids.taskQueue}`;
        await exec(temporalCli(), [
          'workflow', 'start', '--address', temporal.address, '--namespace', 'default',
          '--type', 'harvestSync', '--task-queue', ids.taskQueue, '--workflow-id', bfId, '--input', input,
        ]);
        const bf = (await client.workflow.getHandle(bfId).result()) as SyncSummary;
        assert.equal(bf.mode, 'backfill');
        const bfTe = bf.resources.find((r) => r.resource === 'time_entries')!;
        assert.equal(bfTe.state, 'done');
        assert.equal(bfTe.committedCursor, null, 'a backfill never commits a cursor');
        const inRange = fake.data.timeEntries.filter((e) => String(e.spent_date) >= '2024-01-01' && String(e.spent_date) <= '2024-06-30');
        assert.ok(inRange.length > 0 && inRange.length < fake.data.timeEntries.length, 'the range holds part of the history');
        assert.equal(bfTe.rows, inRange.length);
        assert.ok(fake.requests.filter((r) => r.path.startsWith('/v2/time_entries')).some((r) => r.query.from === '2024-01-01' && r.query.to === '2024-06-30'));
        // Findable in the UI and CLI by account and mode (search attributes), described by its memo.
        const found = await waitFor('the backfill by search attributes', async () => {
          const hits: string[] = [];
          for await (const wf of client.workflow.list({ query: `HarvestAccounts = '${account}' AND HarvestSyncMode = 'backfill' AND WorkflowType = 'harvestSync'` })) hits.push(wf.workflowId);
          return hits.includes(bfId) ? hits : undefined;
        }, 20_000);
        assert.ok(found.every((id) => !id.startsWith('manual-')));
        const memo = (await client.workflow.getHandle(bfId).describe()).memo as { accounts: string[]; mode: string; since: string; until: string; tokens?: Record<string, { role: string }> };
        const { tokens, ...described } = memo;
        assert.deepEqual(described, { accounts: [account], mode: 'backfill', resources: ['time_entries'], since: '2024-01-01', until: '2024-06-30' });
        // Whose token read the account, once its sync ended (the token's reach).
        assert.equal(tokens?.[account]?.role, 'administrator');

        release();
        const summaryA = (await a.result()) as SyncSummary;
        assert.equal(summaryA.status, 'succeeded');
        assert.ok(summaryA.resources.find((r) => r.resource === 'time_entries')!.rows >= 5);
      });
      unsubscribe();

      // Only regular syncs wrote cursors: the first run's, then run A's.
      const cursorsAfter = await query<{ resource: string; cursor: string; sync_id: string }>(
        `SELECT resource, toString(cursor) AS cursor, sync_id FROM \`${ids.database}\`._sync_state FINAL ORDER BY resource`,
      );
      assert.deepEqual(cursorsAfter.map((c) => c.resource), cursorsBefore.map((c) => c.resource));
      for (const c of cursorsAfter) {
        assert.match(c.sync_id, /\/sync@/, `${c.resource} cursor written by ${c.sync_id}`);
        assert.ok(c.cursor >= cursorsBefore.find((b) => b.resource === c.resource)!.cursor, `${c.resource} cursor never moves back`);
      }
      const written = await query<{ n: number; outside: number }>(
        `SELECT uniqExact(id) AS n, countIf(spent_date < '2024-01-01' OR spent_date > '2024-06-30') AS outside
         FROM \`${ids.database}\`.time_entries WHERE _sync_id LIKE '%/backfill@%'`,
      );
      assert.equal(Number(written[0].outside), 0);
      const [expected] = await query<{ n: number }>(
        `SELECT count() AS n FROM \`${ids.database}\`.time_entries FINAL WHERE _deleted = 0 AND spent_date BETWEEN '2024-01-01' AND '2024-06-30'`,
      );
      assert.equal(Number(written[0].n), Number(expected.n));

      const runs = await syncRuns(ids.database);
      assert.deepEqual(
        runs.map((r) => `${r.mode}:${r.status}:${r.trigger}`).sort(),
        ['backfill:succeeded:manual', 'incremental:skipped:schedule', 'incremental:skipped:manual', 'incremental:succeeded:manual', 'incremental:succeeded:manual'].sort(),
      );
      const skipped = runs.find((r) => r.status === 'skipped' && r.trigger === 'schedule')!;
      assert.ok(skipped.workflow_id.startsWith(`${ids.taskQueue}-${account}`), skipped.workflow_id);
      assert.equal(skipped.schedule_id, `${ids.taskQueue}-${account}`);
      assert.match(skipped.error, /another sync of account/);
      assert.ok(runs.every((r) => r.finished_at !== null));
    } finally {
      release();
      await fake.close();
    }
  });

  it('_sync_runs after 429s and after a failure; rate limits counted per resource', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 63, timeEntries: 50, users: 3 }), rateLimit: false });
    try {
      const ids = unique('runlog');
      const { cfg } = testConfig(fake, ids);
      fake.faults.add({ kind: '429', count: 2, pathPrefix: '/v2/tasks', retryAfter: 1 });
      const ok = await runSync(cfg, { resources: ['tasks', 'clients'] });
      assert.ifError(ok.error);
      const tasks = ok.summary!.resources.find((r) => r.resource === 'tasks') as ResourceProgress;
      assert.equal(tasks.rateLimited, 2);
      assert.equal(tasks.requests, tasks.pages + 2);

      fake.faults.forbid('/v2/clients', 'Admins only.');
      const failed = await runSync(cfg, { resources: ['tasks', 'clients'], strict: true });
      assert.ok(failed.error);
      assert.match(rootMessage(failed.error), /clients/);

      const runs = await syncRuns(ids.database);
      assert.equal(runs.length, 2);
      const [good, bad] = runs;
      assert.equal(good.status, 'succeeded');
      assert.equal(good.rate_limited, 2);
      assert.equal(good.errors, 0);
      const i = good['resources.name'].indexOf('tasks');
      assert.equal(good['resources.requests'][i], tasks.requests);
      assert.equal(bad.status, 'failed');
      assert.equal(bad.errors, 1);
      assert.match(bad.error, /clients.*Admins only/);
      assert.ok(!bad.error.includes('test-pat'));
    } finally {
      await fake.close();
    }
  });
});
