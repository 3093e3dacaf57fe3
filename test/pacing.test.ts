// Pacing: Harvest's windows per token, granted by one pacer workflow to every worker.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { generateAccount, startFakeHarvest } from '../fake-harvest/src';
import { getResource } from '../src/catalog';
import { firstPageUrl, HarvestClient } from '../src/harvest/client';
import { PACING_TASK_QUEUE, pacerWorkflowId, WorkflowPacer } from '../src/pacing/pacer';
import { emptyLedger, grantSlot, holdUntil, type Budget, type BudgetName } from '../src/pacing/window';
import { query, runSync, temporalEnv, testConfig, unique, workflowBundle } from './support/harness';

const small = (limit: number, windowMs: number, marginMs = 0): Record<BudgetName, Budget> => ({
  general: { limit, windowMs, marginMs },
  reports: { limit, windowMs: windowMs * 10, marginMs },
});

describe('pacing: a slot whose request would leave late', () => {
  it('is given up and asked for again when the event loop wakes its timer later than the margin', async () => {
    const asks: unknown[] = [];
    // A stand-in for the pacer workflow: every Update grants its slots 50 ms from now.
    const client = {
      workflow: {
        executeUpdateWithStart: async (_name: string, opts: { args: [{ slots: Partial<Record<BudgetName, number>> }] }) => {
          asks.push(opts.args[0]);
          return { general: Array.from({ length: opts.args[0].slots.general ?? 0 }, () => 50) };
        },
      },
    };
    const pacer = new WorkflowPacer(client as never, 'pacer-under-test', small(100, 1000, 500));
    // The thread is busy from 10 ms to 1,200 ms: the 50 ms timer fires ~1,150 ms late (margin 500 ms).
    setTimeout(() => {
      const until = Date.now() + 1190;
      while (Date.now() < until);
    }, 10);
    const started = Date.now();
    await pacer.acquire('general');
    assert.equal(pacer.lateSlots, 1, 'the late slot was given up');
    assert.equal(asks.length, 2, 'and another one asked for');
    assert.ok(Date.now() - started >= 1250, 'the request waited for its second slot');
    // On an idle thread the grant is used as it is.
    await pacer.acquire('general');
    assert.equal(pacer.lateSlots, 1);
    assert.equal(asks.length, 3);
  });
});

describe('pacing: the window ledger', () => {
  it('spends a fresh window at once, then holds the window pace; Retry-After holds the budget', () => {
    const budgets = small(3, 1000, 50);
    const ledger = emptyLedger();
    const slots = Array.from({ length: 7 }, () => grantSlot(ledger, budgets, 'general', 10_000));
    assert.deepEqual(slots, [10_000, 10_000, 10_000, 11_050, 11_050, 11_050, 12_100]);
    // Any window of 1000 ms holds at most 3 slots.
    for (const t of slots) assert.ok(slots.filter((s) => s >= t && s < t + 1000).length <= 3);
    // The reports budget is its own.
    assert.equal(grantSlot(ledger, budgets, 'reports', 10_000), 10_000);
    holdUntil(ledger, 'reports', 20_000);
    assert.equal(grantSlot(ledger, budgets, 'reports', 10_500), 20_000);
  });
});

describe('pacing: a cancelled request stops waiting', () => {
  it('acquire rejects at once on abort while its grant is unanswered (the pacer may be on a worker that is stopping)', async () => {
    let asked = 0;
    // A client whose pacer never answers, as when the only worker that runs it is shutting down.
    const silent = { workflow: { executeUpdateWithStart: () => (asked++, new Promise<never>(() => undefined)) } };
    const pacer = new WorkflowPacer(silent as unknown as ConstructorParameters<typeof WorkflowPacer>[0], 'harvest-pacer-test', small(3, 1000));
    const first = new AbortController();
    const second = new AbortController();
    const a = pacer.acquire('general', first.signal);
    const b = pacer.acquire('general', second.signal); // queued behind the unanswered ask
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(asked, 1);
    first.abort(new Error('cancelled a'));
    second.abort(new Error('cancelled b'));
    await assert.rejects(a, /cancelled a/);
    await assert.rejects(b, /cancelled b/);
    await assert.rejects(pacer.acquire('general', first.signal), /cancelled a/, 'an already aborted request does not ask');
    assert.equal(asked, 1);
  });
});

describe('pacing: one pacer workflow for every worker of a token', () => {
  it('three clients (three processes in production) sharing a token burst a fresh window, then pace it, with no 429', async () => {
    const env = await temporalEnv();
    const limit = 10;
    const windowMs = 4000;
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 31, timeEntries: 50, users: 3 }), rateLimit: { limit, windowMs } });
    const { cfg } = testConfig(fake, unique('pacing'));
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: PACING_TASK_QUEUE, workflowBundle: await workflowBundle() });
    const id = pacerWorkflowId('pat:test-pat', fake.baseUrl);
    assert.doesNotMatch(id, /test-pat/);
    const clients = [1, 2, 3].map(() => new HarvestClient(cfg.harvest!, undefined, new WorkflowPacer(env.client, id, small(limit, windowMs, 1000))));
    try {
      await worker.runUntil(async () => {
        const spec = getResource('tasks');
        const url = firstPageUrl(cfg.harvest!.baseUrl, spec);
        // Warm-up: the pacer starts (its first grants come slowly and are asked again), then its window passes.
        await clients[0].listPage(spec, url, String(fake.data.accountId));
        await new Promise((r) => setTimeout(r, windowMs + 1000));
        fake.resetLog();
        const started = Date.now();
        await Promise.all(Array.from({ length: 30 }, (_, i) => clients[i % 3].listPage(spec, url, String(fake.data.accountId))));
        const api = fake.requests.filter((r) => r.path.startsWith('/v2/'));
        assert.equal(api.length, 30);
        assert.equal(api.filter((r) => r.status === 429).length, 0, 'no 429');
        const at = api.map((r) => r.at - started).sort((a, b) => a - b);
        // A fresh window spent at once: the first `limit` requests did not wait for each other.
        assert.ok(at[limit - 1] - at[0] < windowMs / 2, `first window spread over ${at[limit - 1] - at[0]} ms`);
        // Then the window's pace: 30 requests need two more windows.
        assert.ok(at[29] - at[0] >= 2 * windowMs, `30 requests took only ${at[29] - at[0]} ms`);
      });
    } finally {
      for (const c of clients) await c.close();
      await fake.close();
    }
  });
});

describe('pacing: requests in flight follow latency', () => {
  it('a slow Harvest gets more pages in flight (budget rate × lane time), a given concurrency stays fixed, and every record lands', async () => {
    // 1.5 s a page: the general budget (100 / 15 s) needs about 6.7 × 1.5 × 1.25 ≈ 13 pages in flight, not a fixed 8.
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 37, timeEntries: 36_000, users: 6 }), rateLimit: false, latency: { baseMs: 1500 } });
    try {
      const ids = unique('inflight');
      const { cfg } = testConfig(fake, ids, { HARVEST_CONCURRENCY: '24' });
      const { summary, error } = await runSync(cfg, { resources: ['time_entries', 'users'], mode: 'full' });
      assert.ifError(error);
      const entries = summary!.resources.find((r) => r.resource === 'time_entries')!;
      assert.equal(entries.pages, 18);
      assert.ok((entries.mostInFlight ?? 0) >= 11 && (entries.mostInFlight ?? 0) <= 24, `time entries had at most ${entries.mostInFlight} pages in flight`);
      assert.ok(fake.maxInFlight >= 11, `Harvest saw at most ${fake.maxInFlight} requests at once`);
      process.stdout.write(`# 1.5 s pages: at most ${entries.mostInFlight} time entry pages in flight, ${fake.maxInFlight} requests at Harvest at once\n`);
      const [{ n }] = await query<{ n: string }>(`SELECT count() AS n FROM \`${ids.database}\`.time_entries FINAL WHERE _deleted = 0`);
      assert.equal(Number(n), fake.data.timeEntries.length);

      // A sync given a concurrency keeps to it whatever the latency.
      fake.resetLog();
      const fixed = await runSync(testConfig(fake, unique('inflight_fixed'), { HARVEST_CONCURRENCY: '24' }).cfg, { resources: ['time_entries'], mode: 'full', concurrency: 3 });
      assert.ifError(fixed.error);
      const fixedEntries = fixed.summary!.resources.find((r) => r.resource === 'time_entries')!;
      assert.ok((fixedEntries.mostInFlight ?? 0) <= 3, `fixed concurrency 3, yet ${fixedEntries.mostInFlight} in flight`);
    } finally {
      await fake.close();
    }
  });
});
