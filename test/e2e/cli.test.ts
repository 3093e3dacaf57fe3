// The command line as users type it: bad configuration, the catalog listing, and a real
// `run` on embedded Temporal against the fake.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateAccount, startFakeHarvest } from '../../fake-harvest/src';
import { TMP, temporalCli } from '../support/harness';
import { BIN, cli } from '../support/cli';
import { spawn, type ChildProcess } from 'node:child_process';
import { CATALOG } from '../../src/catalog';

describe('command line', () => {
  it('missing configuration: one message listing every problem, exit code 2', async () => {
    const r = await cli(['run', '--since', 'last tuesday', '--resources', 'users,team_rates'], {});
    assert.equal(r.code, 2, r.stderr);
    for (const needle of ['HARVEST_ACCOUNT_ID', 'HARVEST_ACCESS_TOKEN', 'since', 'team_rates']) assert.match(r.stderr, new RegExp(needle));
  });

  it('bad configuration fails before any network call and never prints the secret', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 31, timeEntries: 10, users: 2 }), rateLimit: false });
    try {
      const r = await cli(['run'], {
        HARVEST_ACCOUNT_ID: String(fake.data.accountId),
        HARVEST_ACCESS_TOKEN: 'super-secret-pat',
        HARVEST_CLIENT_SECRET: 'also-secret',
        HARVEST_BASE_URL: fake.baseUrl,
        HARVEST_START_DATE: '2024-13-45',
        CLICKHOUSE_DATABASE: 'no-dashes-allowed',
      });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /HARVEST_START_DATE/);
      assert.match(r.stderr, /CLICKHOUSE_DATABASE/);
      assert.match(r.stderr, /not both/);
      assert.doesNotMatch(r.stderr + r.stdout, /super-secret-pat|also-secret/);
      assert.equal(fake.requests.length, 0);
    } finally {
      await fake.close();
    }
  });

  it('a .env file in the working directory is read', async () => {
    const dir = fs.mkdtempSync(path.join(TMP, 'cli-dotenv-'));
    fs.writeFileSync(path.join(dir, '.env'), 'HARVEST_ACCOUNT_ID=12345\nHARVEST_ACCESS_TOKEN=x\nHARVEST_REQUESTS_PER_SECOND=-1\n');
    const r = await cli(['run'], {}, dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /HARVEST_REQUESTS_PER_SECOND/);
    assert.doesNotMatch(r.stderr, /HARVEST_ACCOUNT_ID/);
  });

  it('worker and status without TEMPORAL_ADDRESS say so', async () => {
    const r = await cli(['status'], {});
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TEMPORAL_ADDRESS is required/);
    const u = await cli(['frobnicate'], {});
    assert.equal(u.code, 2);
    assert.match(u.stderr, /unknown command/);
  });

  it('resources lists every resource with its dependencies', async () => {
    const r = await cli(['resources'], {});
    assert.equal(r.code, 0, r.stderr);
    for (const spec of CATALOG) assert.match(r.stdout, new RegExp(`^${spec.name}\\s`, 'm'));
    assert.match(r.stdout, /user_projects .*after users/);
    assert.match(r.stdout, /project_tasks .*after projects, tasks/);
  });

  it('run syncs on an embedded Temporal server with progress and a summary', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 32, timeEntries: 2100, users: 4 }), rateLimit: false });
    try {
      const dir = fs.mkdtempSync(path.join(TMP, 'cli-run-'));
      const r = await cli(['run'], {
        HARVEST_ACCOUNT_ID: String(fake.data.accountId),
        HARVEST_ACCESS_TOKEN: 'test-pat',
        HARVEST_BASE_URL: fake.baseUrl,
        HARVEST_REQUESTS_PER_SECOND: '50',
        HARVEST_REPORTS_REQUESTS_PER_SECOND: '50',
        TEMPORAL_CLI_PATH: temporalCli(),
      }, dir);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      // Not a terminal: one line per state change, no table printed again and again.
      // Rows written: the 2,100 entries, and a few of a window's oldest day read again by the next.
      assert.equal(r.stdout.match(/^✔ time_entries done: 2,1\d\d rows, [2-5] pages/gm)?.length, 1, r.stdout);
      assert.match(r.stdout, /^[\d,]+ rows in \d+ pages, [\d.]+ s \(33 resources: 33 done\)$/m);
      assert.match(r.stdout, /next run reads from/);
      assert.ok(fs.existsSync(path.join(dir, '.harvest-sync', 'clickhouse')), 'embedded ClickHouse in ./.harvest-sync/clickhouse');

      // The embedded engine is free again: its tables, views and run log can be queried.
      const q = await cli(['sql', 'SELECT count() AS n FROM harvest.time_entries FINAL WHERE _deleted = 0', '--json'], {}, dir);
      assert.equal(q.code, 0, q.stderr);
      assert.deepEqual(JSON.parse(q.stdout), { n: 2100 });
      const runs = await cli(['sql', 'SELECT status, mode, trigger FROM harvest.v_sync_runs'], {}, dir);
      assert.equal(runs.stdout, 'status\tmode\ttrigger\nsucceeded\tincremental\tmanual\n');
    } finally {
      await fake.close();
    }
  });

  it('server: a local Temporal dev server whose schedules survive a restart', async () => {
    const dir = fs.mkdtempSync(path.join(TMP, 'cli-server-'));
    const port = 17000 + Math.floor(Math.random() * 2000);
    const env = { TEMPORAL_CLI_PATH: temporalCli(), TEMPORAL_ADDRESS: `127.0.0.1:${port}` };
    const start = (): ChildProcess =>
      spawn(process.execPath, [BIN, 'server', '--port', String(port), '--ui-port', String(port + 1000)], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        stdio: 'ignore',
      });
    const stop = async (child: ChildProcess): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    };
    const ready = async (): Promise<{ stdout: string; stderr: string }> => {
      for (let i = 0; i < 60; i++) {
        const r = await cli(['schedule', 'list'], env, dir);
        if (r.code === 0) return r;
        await new Promise((res) => setTimeout(res, 500));
      }
      throw new Error('the local server did not come up');
    };
    let server = start();
    try {
      assert.match((await ready()).stdout, /no harvest-sync schedules/);
      const created = await cli(['schedule', 'create', '--every', '2h', '--account', '4242'], env, dir);
      assert.equal(created.code, 0, created.stderr);
      await stop(server);
      server = start();
      assert.match((await ready()).stdout, /harvest-sync-4242\s+account 4242\s+every 2h/);
      assert.ok(fs.existsSync(path.join(dir, '.harvest-sync', 'temporal.db')));
    } finally {
      await stop(server);
    }
  });
});
