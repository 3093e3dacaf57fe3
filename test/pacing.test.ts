// Pacing: Harvest's windows per token, granted by one pacer workflow to every worker.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { generateAccount, startFakeHarvest } from '../src/sandbox';
import { getResource } from '../src/harvest/catalog';
import { firstPageUrl, HarvestClient } from '../src/harvest/client';
import { PACING_TASK_QUEUE, PacingWait, pacerWorkflowId, WorkflowPacer } from '../src/pacing/pacer';
import { emptyLedger, grantSlot, holdUntil, ledgerExpiry, mayEndIdle, planSlots, pruneLedger, type Budget, type BudgetName } from '../src/pacing/window';
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
          return { slots: { general: Array.from({ length: opts.args[0].slots.general ?? 0 }, () => 50) } };
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

describe('pacing: only near slots are granted', () => {
  const budgets = small(3, 1000, 50);
  const HORIZON = 200;

  it('grants what starts within the horizon, books nothing beyond it, and tells the rest when to come back', () => {
    const ledger = emptyLedger();
    // A fresh window: 3 at once; the 4th and 5th would start a window later, beyond the horizon.
    const first = planSlots(ledger, budgets, 'general', 10_000, 5, HORIZON);
    assert.deepEqual(first.granted, [10_000, 10_000, 10_000]);
    assert.deepEqual(first.later, [11_050, 11_050]);
    assert.deepEqual(ledger.granted.general, [10_000, 10_000, 10_000], 'nothing booked for the requests told to wait');
    // Asked again and again before then: still nothing booked, the answer does not move.
    for (let t = 10_100; t < 10_850; t += 100) {
      const again = planSlots(ledger, budgets, 'general', t, 2, HORIZON);
      assert.deepEqual(again.granted, []);
      assert.deepEqual(again.later, [11_050, 11_050]);
    }
    assert.equal(ledger.granted.general!.length, 3);
    // Within the horizon of the freed window: granted, with a short wait.
    const near = planSlots(ledger, budgets, 'general', 10_900, 4, HORIZON);
    assert.deepEqual(near.granted, [11_050, 11_050, 11_050]);
    assert.deepEqual(near.later, [12_100]);
  });

  it('waiters told to come back are spread over the slots that free up, not all sent to the first', () => {
    const ledger = emptyLedger();
    // Slots granted one by one (a window spent gradually).
    for (const t of [0, 300, 600]) assert.deepEqual(planSlots(ledger, budgets, 'general', t, 1, HORIZON).granted, [t]);
    const plan = planSlots(ledger, budgets, 'general', 700, 4, HORIZON);
    assert.deepEqual(plan.granted, []);
    assert.deepEqual(plan.later, [1_050, 1_350, 1_650, 2_100]);
  });

  it('an abandoned asker (timed out, cancelled) leaks at most a near slot: the queue never moves without requests', () => {
    // Today's failure: every timed-out attempt booked a far slot and its retry booked one
    // further. Here a requester that gives up and asks again any number of times finds the
    // same slot, and the budget still holds exactly its window's slots.
    const ledger = emptyLedger();
    planSlots(ledger, budgets, 'reports', 0, 3, HORIZON); // the reports window (10 s) spent
    const told = planSlots(ledger, budgets, 'reports', 100, 1, HORIZON).later[0];
    for (let retry = 0; retry < 50; retry++) assert.equal(planSlots(ledger, budgets, 'reports', 200 + retry, 1, HORIZON).later[0], told);
    assert.equal(told, 10_050);
    // A slot granted and never used (its activity died) costs only itself.
    assert.deepEqual(planSlots(ledger, budgets, 'reports', told - 100, 1, HORIZON).granted, [told]);
    assert.deepEqual(planSlots(ledger, budgets, 'reports', told, 3, HORIZON).granted, [told, told]);
  });

  it('Retry-After holds the budget: no grant before it, and nothing booked meanwhile', () => {
    const ledger = emptyLedger();
    holdUntil(ledger, 'reports', 60_000);
    const plan = planSlots(ledger, budgets, 'reports', 1_000, 2, HORIZON);
    assert.deepEqual(plan, { granted: [], later: [60_000, 60_000] });
    assert.equal(ledger.granted.reports!.length, 0);
    assert.deepEqual(planSlots(ledger, budgets, 'reports', 59_900, 1, HORIZON).granted, [60_000]);
  });

  it('the idle rule: a pacer may end only when quiet and when nothing in its ledger matters any more', () => {
    const ledger = emptyLedger();
    const IDLE = 5_000;
    assert.equal(mayEndIdle(ledger, budgets, 100_000, 0, IDLE), true, 'an empty ledger, long quiet');
    assert.equal(mayEndIdle(ledger, budgets, 100_000, 99_000, IDLE), false, 'a request a moment ago');
    // Reports slots are 10 s windows (+50 ms margin) here: they matter that long after the last one.
    planSlots(ledger, budgets, 'reports', 1_000, 3, 0);
    assert.equal(ledgerExpiry(ledger, budgets), 11_050);
    assert.equal(mayEndIdle(ledger, budgets, 11_049, 1_000, IDLE), false, 'a slot still inside its window');
    assert.equal(mayEndIdle(ledger, budgets, 11_050, 1_000, IDLE), true);
    // A hold (Retry-After) further ahead keeps it too.
    holdUntil(ledger, 'general', 900_000);
    assert.equal(mayEndIdle(ledger, budgets, 20_000, 1_000, IDLE), false, 'a hold still ahead');
    assert.equal(mayEndIdle(ledger, budgets, 900_000, 1_000, IDLE), true);
    // Pruning (before continue-as-new) keeps what still matters.
    const kept = emptyLedger();
    planSlots(kept, budgets, 'reports', 1_000, 3, 0);
    holdUntil(kept, 'general', 50_000);
    pruneLedger(kept, budgets, 5_000);
    assert.equal(ledgerExpiry(kept, budgets), 50_000);
    assert.deepEqual(kept.granted.reports, [1_000, 1_000, 1_000]);
  });

  it('random asks: every grant starts within the horizon of its ask, and no window holds more than its limit', () => {
    // Random asks at random times: every grant is within the horizon of its ask, and any
    // window holds at most `limit` granted slots.
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ledger = emptyLedger();
    const all: number[] = [];
    let now = 0;
    for (let i = 0; i < 400; i++) {
      now += Math.floor(rnd() * 400);
      const plan = planSlots(ledger, budgets, 'general', now, 1 + Math.floor(rnd() * 4), HORIZON);
      for (const t of plan.granted) assert.ok(t >= now && t - now <= HORIZON, `slot ${t} asked at ${now}`);
      for (const t of plan.later) assert.ok(t - now > HORIZON);
      all.push(...plan.granted);
    }
    for (const t of all) assert.ok(all.filter((s) => s >= t && s < t + 1000 + 50).length <= 3, `window from ${t} holds too many`);
  });
});

describe('pacing: one budget per API, however its URL is spelt', () => {
  it('trailing slashes, the case of the host and the default port do not make another pacer', () => {
    const id = pacerWorkflowId('pat:x', 'https://api.harvestapp.com/v2');
    for (const spelling of ['https://api.harvestapp.com/v2/', 'https://api.harvestapp.com/v2//', 'HTTPS://API.HarvestApp.com/v2', 'https://api.harvestapp.com:443/v2/', ' https://api.harvestapp.com/v2 ']) {
      assert.equal(pacerWorkflowId('pat:x', spelling), id, spelling);
    }
    // Another path, port, scheme, host or credential is another budget.
    for (const other of ['https://api.harvestapp.com/v3', 'https://api.harvestapp.com:8443/v2', 'http://api.harvestapp.com/v2', 'https://api.example.com/v2', 'http://127.0.0.1:4000/v2']) {
      assert.notEqual(pacerWorkflowId('pat:x', other), id, other);
    }
    assert.notEqual(pacerWorkflowId('pat:y', 'https://api.harvestapp.com/v2'), id);
    assert.equal(pacerWorkflowId('pat:x', 'http://127.0.0.1:4000/v2/'), pacerWorkflowId('pat:x', 'http://127.0.0.1:4000/v2'));
  });
});

describe('pacing: a request whose slot is far away', () => {
  it('is told when to come back (PacingWait) without waiting, and the next near slot is used at once', async () => {
    let calls = 0;
    const client = {
      workflow: {
        executeUpdateWithStart: async (_name: string, opts: { args: [{ slots: Partial<Record<BudgetName, number>> }] }) => {
          calls++;
          const n = opts.args[0].slots.reports ?? 0;
          // The first ask: no slot before 60 s from now; then one now.
          return calls === 1 ? { slots: { reports: [] }, later: { reports: Array.from({ length: n }, () => 60_000) } } : { slots: { reports: Array.from({ length: n }, () => 0) } };
        },
      },
    };
    const pacer = new WorkflowPacer(client as never, 'pacer-under-test', small(3, 1000, 500));
    const before = Date.now();
    const err = await pacer.acquire('reports').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof PacingWait, `expected a PacingWait, got ${String(err)}`);
    assert.ok(Date.now() - before < 1000, 'it did not wait');
    assert.ok(err.waitUntil >= before + 60_000 && err.waitUntil <= Date.now() + 60_000, `waitUntil ${err.waitUntil - before} ms after the ask`);
    await pacer.acquire('reports');
    assert.equal(calls, 2);
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
    // A horizon shorter than the window: slots a window away are not granted, only announced.
    const clients = [1, 2, 3].map(() => new HarvestClient(cfg.harvest!, undefined, new WorkflowPacer(env.client, id, small(limit, windowMs, 1000), 2000)));
    try {
      await worker.runUntil(async () => {
        const spec = getResource('tasks');
        const url = firstPageUrl(cfg.harvest!.baseUrl, spec);
        // Warm-up: the pacer starts (its first grants come slowly and are asked again), then its window passes.
        await clients[0].listPage(spec, url, String(fake.data.accountId));
        await new Promise((r) => setTimeout(r, windowMs + 1000));
        fake.resetLog();
        const started = Date.now();
        // A request told "no slot before T" waits until then and asks again, as a workflow does.
        const paced = async (client: HarvestClient): Promise<void> => {
          for (;;) {
            try {
              await client.listPage(spec, url, String(fake.data.accountId));
              return;
            } catch (err) {
              if (!(err instanceof PacingWait)) throw err;
              waits++;
              await new Promise((r) => setTimeout(r, err.waitUntil - Date.now()));
            }
          }
        };
        let waits = 0;
        await Promise.all(Array.from({ length: 30 }, (_, i) => paced(clients[i % 3])));
        assert.ok(waits > 0, 'requests beyond the horizon were told to come back');
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
