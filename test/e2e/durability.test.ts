// Cancellation, ClickHouse failures by kind, the durable embedded `run`, and the worker
// group: real Temporal dev server, real workers, real chdb, real HTTP to the fake.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { generateAccount, startFakeHarvest, type FakeHarvest } from '../../fake-harvest/src';
import { ALL_TABLES, liveRowsSQL, servedTables } from '../support/oracle';
import { PROJECT_ROOT, TMP, query, rootMessage, runSync, temporalCli, temporalEnv, testClickHouse, testConfig, unique, workflowBundle } from '../support/harness';
import { BIN, cli } from '../support/cli';
import type { RunRow } from '../support/runs';
import { createSyncWorker, WorkerGroup } from '../../src/worker/worker';
import { classifyClickHouseError } from '../../src/clickhouse/errors';
import type { ClickHouseStore } from '../../src/clickhouse/port';
import { intercepted } from '../support/store-faults';
import { ensureSchema } from '../../src/clickhouse/schema';
import { insertRowsWithToken, markUnseenDeleted } from '../../src/clickhouse/store';
import { getResource, CATALOG } from '../../src/catalog';
import { fetchProgress } from '../../src/cli/session';
import { EMBEDDED_LOCK_FILE, isAlive } from '../../src/temporal/embedded-server';

async function assertComplete(db: string, fake: FakeHarvest): Promise<void> {
  const served = await servedTables(fake);
  for (const table of ALL_TABLES) {
    const rows = await query<{ key: string }>(liveRowsSQL(db, table));
    const keys = rows.map((r) => r.key);
    assert.equal(new Set(keys).size, keys.length, `${table.name}: more than one live row per record`);
    assert.deepEqual(keys.sort(), [...served.get(table.name)!.keys()].sort(), `${table.name} is not exact`);
  }
}

async function cursors(db: string): Promise<Record<string, string>> {
  const rows = await query<{ resource: string; cursor: string }>(`SELECT resource, toString(cursor) AS cursor FROM \`${db}\`._sync_state FINAL ORDER BY resource`);
  return Object.fromEntries(rows.map((r) => [r.resource, r.cursor]));
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

function startCli(args: string[], env: Record<string, string>, cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

const timeEntryPages = (fake: FakeHarvest) => fake.requests.filter((r) => r.path === '/v2/time_entries');

describe('cancellation', () => {
  it('Ctrl-C on `run` against a cluster cancels the sync: slow requests aborted, run logged cancelled, no cursor moved, the next run exact', async () => {
    const env = await temporalEnv();
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 81, timeEntries: 9000, users: 6 }), rateLimit: false });
    const ids = unique('cancel');
    const { cfg, env: vars } = testConfig(fake, ids);
    try {
      // A first sync sets every cursor.
      const first = await runSync(cfg, { mode: 'full' });
      assert.ifError(first.error);
      const before = await cursors(ids.database);
      assert.ok(Object.keys(before).length > 5, 'cursors committed');

      // Meanwhile in Harvest: a change the next runs must pick up.
      const edited = fake.data.timeEntries[10].id as number;
      fake.update('timeEntries', edited, { notes: 'edited before the cancelled run' });

      // Time entry requests from the second on hang for a minute (the fault, added as the
      // second arrives, applies to it and the three after it): in flight when Ctrl-C comes.
      let pagesSeen = 0;
      fake.onRequest((r) => {
        if (r.path === '/v2/time_entries' && ++pagesSeen === 2) fake.faults.add({ kind: 'slow', count: 4, pathPrefix: '/v2/time_entries', delayMs: 60_000 });
      });
      const sw = await createSyncWorker(cfg, { connection: env.nativeConnection, workflowBundle: await workflowBundle() });
      const dir = fs.mkdtempSync(path.join(TMP, 'cancel-cli-'));
      const firstRunRequests = fake.requests.length;
      const run = await sw.worker.runUntil(async () => {
        const { child, output } = startCli(['run', '--full'], { ...(vars as Record<string, string>), TEMPORAL_ADDRESS: env.address }, dir);
        await waitFor('a slow time entry request in flight', () => timeEntryPages(fake).filter((r) => r.status === 0).length >= 1, 90_000);
        const interruptedAt = Date.now();
        child.kill('SIGINT');
        await exited(child);
        return { code: child.exitCode, output: output(), seconds: (Date.now() - interruptedAt) / 1000 };
      });
      await sw.release();
      assert.equal(run.code, 130, run.output);
      assert.match(run.output, /cancelling sync/);
      assert.match(run.output, /cancelled: _sync_runs records it as cancelled and no cursor moved/);
      assert.ok(run.seconds < 45, `the cancelled run ended ${run.seconds} s after Ctrl-C, not after the 60 s pages`);
      const hung = fake.requests.slice(firstRunRequests).filter((r) => r.path === '/v2/time_entries' && r.status !== 200);
      assert.ok(hung.length >= 1);
      assert.ok(hung.every((r) => r.aborted === true && r.status === 0), `in-flight requests aborted: ${JSON.stringify(hung)}`);

      const runs = await query<RunRow>(`SELECT * FROM \`${ids.database}\`._sync_runs FINAL ORDER BY started_at`);
      assert.equal(runs.length, 2);
      assert.equal(runs[1].status, 'cancelled', JSON.stringify(runs[1]));
      assert.ok(runs[1].finished_at, 'the cancelled run has its end time');
      assert.deepEqual(await cursors(ids.database), before, 'no cursor moved');

      // The next run reads from the old cursors and lands everything exactly.
      fake.faults.clear();
      const next = await runSync(cfg);
      assert.ifError(next.error);
      const te = next.summary!.resources.find((r) => r.resource === 'time_entries')!;
      assert.ok(te.updatedSince !== null && te.updatedSince <= new Date(before.time_entries.replace(' ', 'T') + 'Z').toISOString(), 'read from the old cursor');
      await assertComplete(ids.database, fake);
      const notes = await query<{ notes: string }>(`SELECT notes FROM \`${ids.database}\`.time_entries FINAL WHERE id = {id:UInt64}`, { id: edited });
      assert.equal(notes[0].notes, 'edited before the cancelled run');
    } finally {
      await fake.close();
    }
  });
});

describe('ClickHouse errors by kind', () => {
  it('classifies server codes, socket errors and timeouts', () => {
    const server = (code: string, type: string) => Object.assign(new Error(`${type} happened`), { code, type });
    for (const [err, retryable, name] of [
      [server('252', 'TOO_MANY_PARTS'), true, 'TOO_MANY_PARTS'],
      [server('241', 'MEMORY_LIMIT_EXCEEDED'), true, 'MEMORY_LIMIT_EXCEEDED'],
      [server('159', 'TIMEOUT_EXCEEDED'), true, 'TIMEOUT_EXCEEDED'],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }), true, 'ECONNREFUSED'],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true, 'ECONNRESET'],
      [new Error('Timeout error.'), true, 'TIMEOUT'],
      [server('62', 'SYNTAX_ERROR'), false, 'SYNTAX_ERROR'],
      [server('53', 'TYPE_MISMATCH'), false, 'TYPE_MISMATCH'],
      [server('60', 'UNKNOWN_TABLE'), false, 'UNKNOWN_TABLE'],
      [server('16', 'NO_SUCH_COLUMN_IN_TABLE'), false, 'NO_SUCH_COLUMN_IN_TABLE'],
      [server('516', 'AUTHENTICATION_FAILED'), false, 'AUTHENTICATION_FAILED'],
    ] as const) {
      const kind = classifyClickHouseError(err);
      assert.equal(kind.retryable, retryable, `${name} retryable`);
      assert.equal(kind.name, name);
    }
    assert.equal(classifyClickHouseError(server('516', 'AUTHENTICATION_FAILED')).auth, true);
  });

  it('a ClickHouse outage of 30 s mid-sync costs time, not data; status shows why it retries', async () => {
    const env = await temporalEnv();
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 82, timeEntries: 4200, users: 6 }), rateLimit: false });
    const ids = unique('chdown');
    const { cfg } = testConfig(fake, ids);
    let reasons: string[] = [];
    // The worker's store fails every call while the outage lasts.
    let outageUntil = 0;
    let n = 0;
    const outage = (store: ClickHouseStore): ClickHouseStore =>
      intercepted(store, () => {
        if (Date.now() > outageUntil) return;
        // Alternately a refused connection and a server busy merging.
        if (n++ % 2 === 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
        throw Object.assign(new Error('Too many parts (3001) in table. Merges are processing significantly slower than inserts'), { code: '252', type: 'TOO_MANY_PARTS' });
      });
    try {
      const outcome = await runSync(cfg, {}, {
        wrapStore: outage,
        during: async (handle) => {
          await waitFor('time entries being read', () => timeEntryPages(fake).length >= 1, 90_000);
          outageUntil = Date.now() + 30_000;
          while (Date.now() < outageUntil) {
            const rows = (await fetchProgress(env.client, handle.workflowId)) ?? [];
            reasons.push(...rows.flatMap((r) => (r.retrying ? [r.retrying] : [])));
            await new Promise((r) => setTimeout(r, 1000));
          }
        },
      });
      assert.ifError(outcome.error);
      reasons = [...new Set(reasons)];
      assert.ok(reasons.some((r) => /ECONNREFUSED/.test(r) || /TOO_MANY_PARTS/.test(r)), `status showed the retry reason: ${reasons.join(' | ')}`);
      await assertComplete(ids.database, fake);
    } finally {
      await fake.close();
    }
  });

  it('a schema error fails at once, naming the table and ClickHouse\'s message', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 83, timeEntries: 100, users: 3 }), rateLimit: false });
    const ids = unique('chbad');
    const { cfg } = testConfig(fake, ids);
    // The worker's store: the server refuses inserts into time_entries (the table is gone).
    const refusing = (store: ClickHouseStore): ClickHouseStore =>
      intercepted(store, (call) => {
        if (call.op === 'insert' && call.table === `${ids.database}.time_entries`) {
          throw Object.assign(new Error(`Unknown table expression identifier '${ids.database}.time_entries'`), { code: '60', type: 'UNKNOWN_TABLE' });
        }
      });
    try {
      const started = Date.now();
      const { error } = await runSync(cfg, { resources: ['time_entries'], strict: true }, { wrapStore: refusing });
      assert.ok(error, 'the sync fails');
      const message = rootMessage(error);
      assert.match(message, new RegExp(`${ids.database}\\.time_entries`));
      assert.match(message, /UNKNOWN_TABLE/);
      assert.match(message, /Unknown table expression identifier/);
      // Not retried: one request for the one page.
      assert.equal(timeEntryPages(fake).length, 1);
      assert.ok(Date.now() - started < 30_000);
    } finally {
      await fake.close();
    }
  });

  it('a wrong CLICKHOUSE_PASSWORD fails fast and clearly, without printing it', async () => {
    // chdb has no passwords: a loopback server answers like a ClickHouse 24.8 server that
    // rejects the credentials, and the real @clickhouse/client talks HTTP to it.
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(String(req.headers.authorization ?? ''));
      req.resume();
      res.writeHead(401, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Server-Display-Name': 'clickhouse-test',
        'X-ClickHouse-Exception-Code': '516',
      });
      res.end('Code: 516. DB::Exception: harvest: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) (version 24.8.4.13 (official build))\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 84, timeEntries: 10, users: 2 }), rateLimit: false });
    try {
      const started = Date.now();
      const r = await cli(['run'], {
        HARVEST_ACCOUNT_ID: String(fake.data.accountId),
        HARVEST_ACCESS_TOKEN: 'test-pat',
        HARVEST_BASE_URL: fake.baseUrl,
        CLICKHOUSE_URL: url,
        CLICKHOUSE_USER: 'harvest',
        CLICKHOUSE_PASSWORD: 'wrong-secret-pw',
        TEMPORAL_CLI_PATH: temporalCli(),
      });
      const seconds = (Date.now() - started) / 1000;
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stderr, /Authentication failed: password is incorrect/);
      assert.match(r.stderr, /ClickHouse error 516 AUTHENTICATION_FAILED/);
      assert.match(r.stderr, /check CLICKHOUSE_USER \(now "harvest"\) and CLICKHOUSE_PASSWORD/);
      assert.ok(r.stderr.includes(url), 'names the server');
      assert.doesNotMatch(r.stderr + r.stdout, /wrong-secret-pw/);
      assert.equal(seen.length, 1, 'asked once, not retried');
      assert.equal(seen[0], `Basic ${Buffer.from('harvest:wrong-secret-pw').toString('base64')}`);
      assert.equal(fake.requests.length, 0, 'nothing read from Harvest');
      assert.ok(seconds < 60, `failed after ${seconds} s`);
    } finally {
      server.close();
      await fake.close();
    }
  });
});

describe('durable embedded run', () => {
  it('SIGKILL mid-way through time entries: the next run, of another build, takes the sync over where it stood and re-reads only what was unfinished', async () => {
    // Date windows of 100 entries: the first answers go through, then the fake holds every
    // later window, so the kill comes once some windows are stored and others are in flight.
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 85, timeEntries: 3_000, users: 8 }), rateLimit: false });
    const dir = fs.mkdtempSync(path.join(TMP, 'durable-'));
    const chPath = path.join(dir, 'clickhouse');
    const stateDir = path.join(dir, 'state');
    const env = {
      HARVEST_ACCOUNT_ID: String(fake.data.accountId),
      HARVEST_ACCESS_TOKEN: 'test-pat',
      HARVEST_BASE_URL: fake.baseUrl,
      HARVEST_TOKEN_URL: fake.tokenUrl,
      HARVEST_REQUESTS_PER_SECOND: '50',
      HARVEST_REPORTS_REQUESTS_PER_SECOND: '50',
      HARVEST_PER_PAGE: '100',
      CLICKHOUSE_PATH: chPath,
      CLICKHOUSE_DATABASE: 'harvest',
      HARVEST_SYNC_STATE_DIR: stateDir,
      TEMPORAL_CLI_PATH: temporalCli(),
    };
    // A request of time entries as Harvest sees it: its filters and page.
    const key = (r: { query: Record<string, string> }): string => JSON.stringify(['from', 'to', 'updated_since', 'page'].map((k) => r.query[k] ?? null));
    let slow = true;
    let letThrough = 6;
    fake.onRequest(async (r) => {
      if (r.path === '/v2/time_entries' && slow && letThrough-- <= 0) await new Promise((res) => setTimeout(res, 45_000));
    });
    let first: ChildProcess | undefined;
    try {
      const started = startCli(['run'], { ...env, TEMPORAL_WORKER_BUILD_ID: 'release-A' }, dir);
      first = started.child;
      const answered = () => timeEntryPages(fake).filter((r) => r.status === 200);
      await waitFor('six time entry windows answered and more in flight', () => answered().length >= 6 && timeEntryPages(fake).some((r) => r.status === 0), 180_000);
      // Answered is not yet stored: give the worker time to insert them and report them done.
      await new Promise((res) => setTimeout(res, 5_000));
      // Meanwhile a second run on the same state directory is told who holds it.
      const second = await cli(['run'], env, dir);
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, new RegExp(`another harvest-sync run \\(pid ${first.pid}, started .*\\) is using the embedded Temporal state in ${stateDir}`));

      const lock = JSON.parse(fs.readFileSync(path.join(stateDir, EMBEDDED_LOCK_FILE), 'utf8')) as { pid: number; serverPid: number };
      assert.equal(lock.pid, first.pid);
      const doneBefore = new Set(answered().map(key));
      first.kill('SIGKILL');
      await exited(first);
      assert.ok(isAlive(lock.serverPid), 'a SIGKILLed run leaves its dev server behind');
      const firstRun = fake.requests.length;
      slow = false;

      // The next release: another build id, the same workflow code.
      const again = await cli(['run'], { ...env, TEMPORAL_WORKER_BUILD_ID: 'release-B' }, dir);
      assert.equal(again.code, 0, again.stderr + again.stdout);
      // The killed run's server is either still up (taken over: stopped and restarted on its state)
      // or already gone with its parent's pipes; either way nothing is left running and the sync resumes.
      assert.match(again.stdout, /resuming harvest-sync-.* a run stopped before it finished( \(its Temporal server was left running; stopped and restarted on its state\))?; it goes on from the page it reached/);
      assert.match(again.stdout, /it was started by build release-A; its history replays on this build \(release-B\), which takes it over from the page it reached/);
      assert.doesNotMatch(again.stdout, /^sync harvest-sync-.* started/m, 'the resumed sync is the one asked for: no second sync');
      assert.ok(!isAlive(lock.serverPid), 'the orphaned server was taken over');
      assert.ok(!fs.existsSync(path.join(stateDir, EMBEDDED_LOCK_FILE)), 'the lock is released at the end');

      const after = fake.requests.slice(firstRun).filter((r) => r.path === '/v2/time_entries' && r.status === 200).map(key);
      const reread = after.filter((k) => doneBefore.has(k));
      assert.deepEqual(reread, [], 'no window answered before the kill was asked again');
      process.stdout.write(`# durable embedded run: ${doneBefore.size} time entry windows done before SIGKILL, ${after.length} asked after, none of them again\n`);

      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test', 'support', 'ch-dump.ts'), chPath, 'harvest'], { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 });
      const dump = JSON.parse(stdout) as Record<string, { keys: string[] }>;
      for (const [table, want] of await servedTables(fake)) {
        const keys = dump[table].keys;
        assert.equal(new Set(keys).size, keys.length, `${table}: more than one row per record`);
        assert.deepEqual([...keys].sort(), [...want.keys()].sort(), `${table}: records missing or extra`);
      }
    } finally {
      if (first && first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
      await fake.close();
    }
  });
});

describe('durable embedded run: Ctrl-C', () => {
  it('Ctrl-C on an embedded run pauses it and says the next run resumes it; nothing is left running', { timeout: 300_000 }, async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 86, timeEntries: 4200, users: 4 }), rateLimit: false });
    const dir = fs.mkdtempSync(path.join(TMP, 'durable-int-'));
    const stateDir = path.join(dir, 'state');
    fake.onRequest(async (r) => {
      if (r.path === '/v2/time_entries') await new Promise((res) => setTimeout(res, 30_000));
    });
    try {
      const { child, output } = startCli(['run'], {
        HARVEST_ACCOUNT_ID: String(fake.data.accountId),
        HARVEST_ACCESS_TOKEN: 'test-pat',
        HARVEST_BASE_URL: fake.baseUrl,
        HARVEST_REQUESTS_PER_SECOND: '50',
        CLICKHOUSE_PATH: path.join(dir, 'clickhouse'),
        HARVEST_SYNC_STATE_DIR: stateDir,
        TEMPORAL_CLI_PATH: temporalCli(),
      }, dir);
      await waitFor('time entries being read', () => timeEntryPages(fake).length >= 1, 180_000);
      const lock = JSON.parse(fs.readFileSync(path.join(stateDir, EMBEDDED_LOCK_FILE), 'utf8')) as { serverPid: number };
      child.kill('SIGINT');
      const stopped = await Promise.race([exited(child).then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 120_000))]);
      if (!stopped) child.kill('SIGKILL');
      assert.ok(stopped, `a Ctrl-C'd run did not stop within 120 s; its output:\n${output()}`);
      assert.equal(child.exitCode, 130, output());
      assert.match(output(), /interrupted: sync harvest-sync-\S+ stopped at the page it reached; nothing was committed, the cursors are unchanged/);
      assert.match(output(), /the next `harvest-sync run` resumes it there/);
      assert.ok(output().includes(path.join(stateDir, 'temporal-run.db')));
      assert.ok(!isAlive(lock.serverPid), 'the embedded server stopped with it');
      assert.ok(!fs.existsSync(path.join(stateDir, EMBEDDED_LOCK_FILE)), 'lock released');
    } finally {
      await fake.close();
    }
  });
});

describe('worker group and tombstones', () => {
  it('a failing worker stops the others before the group rejects', async () => {
    const env = await temporalEnv();
    const ids = unique('group');
    const make = (queue: string): Promise<Worker> =>
      Worker.create({ connection: env.nativeConnection, taskQueue: queue, activities: { noop: async () => undefined } });
    const a = await make(`${ids.taskQueue}-a`);
    const b = await make(`${ids.taskQueue}-b`);
    const aRunning = a.run();
    // `a` is already running: its second run() rejects at once, as a failing worker does.
    const group = new WorkerGroup([a, b]);
    await assert.rejects(group.run(), /already started|Poller/i);
    assert.equal(b.getState(), 'STOPPED', 'the other worker was stopped and waited for');
    // The group stopped every worker it holds, the failing one's running poller included.
    await aRunning;
    assert.equal(a.getState(), 'STOPPED');
  });

  it('tombstones keep UInt64 ids above 2^53 exact', async () => {
    const ch = testClickHouse();
    const ids = unique('bigid');
    await ensureSchema(ch, ids.database, CATALOG);
    const spec = getResource('time_entries');
    const big = '9007199254740993'; // 2^53 + 1: a JS number would read it as ...992
    await insertRowsWithToken(ch, ids.database, 'time_entries', [{ account_id: '1', id: big, _raw: '{}', _synced_at: '2024-01-01 00:00:00.000', _deleted: 0, _sync_id: 'old' }], `bigid-${Date.now()}`);
    const marked = await markUnseenDeleted(ch, ids.database, spec, '1', 'new-sync', new Date().toISOString());
    assert.equal(marked, 1);
    const rows = await query<{ id: string; _deleted: number }>(
      `SELECT toString(id) AS id, _deleted FROM \`${ids.database}\`.time_entries FINAL ORDER BY id`,
    );
    assert.deepEqual(rows, [{ id: big, _deleted: 1 }]);
  });
});
