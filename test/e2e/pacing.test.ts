// Pacing: Harvest's windows per token, granted by one pacer workflow to every worker.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { generateAccount, startFakeHarvest, type FakeAccountData, type RequestLogEntry } from '../../fake-harvest/src';
import { reportsTaskQueue, windowsBetween } from '../../src/core/windows';
import type { ResourceProgress, SyncSummary } from '../../src/core/types';
import { CATALOG, getResource } from '../../src/catalog';
import { firstPageUrl, HarvestClient } from '../../src/harvest/client';
import { PACING_TASK_QUEUE, PacingWait, pacerWorkflowId, WorkflowPacer } from '../../src/pacing/pacer';
import { emptyLedger, GRANT_HORIZON_MS, grantSlot, HARVEST_BUDGETS, holdUntil, ledgerExpiry, mayEndIdle, planSlots, pruneLedger, releaseSlots, type Budget, type BudgetName } from '../../src/core/budget-window';
import { PROJECT_ROOT, query, runSync, temporalEnv, testConfig, TMP, unique, workflowBundle } from '../support/harness';

const run = promisify(execFile);

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
          return { now: 1_000 * asks.length, slots: { general: Array.from({ length: opts.args[0].slots.general ?? 0 }, () => 50) } };
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
    assert.deepEqual(asks[1], { slots: { general: 1 }, release: { general: [1_050] } }, 'giving the unused slot back');
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

  it('a slot given back (granted, never sent) is granted again, even after the ledger held more than a window of slots', () => {
    const ledger = emptyLedger();
    // Two windows' worth booked at once (3 now, 3 a window later), the later three given back.
    assert.deepEqual(planSlots(ledger, budgets, 'general', 0, 3, HORIZON).granted, [0, 0, 0]);
    assert.deepEqual(planSlots(ledger, budgets, 'general', 1_000, 3, HORIZON).granted, [1_050, 1_050, 1_050]);
    releaseSlots(ledger, 'general', [1_050, 1_050]);
    // The first window's three still count: only the two given back are free again.
    assert.deepEqual(planSlots(ledger, budgets, 'general', 1_000, 3, HORIZON), { granted: [1_050, 1_050], later: [2_100] });
    // Giving back a time never granted changes nothing.
    releaseSlots(ledger, 'general', [999]);
    assert.deepEqual(planSlots(ledger, budgets, 'general', 1_000, 1, HORIZON).granted, []);
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

  it('random asks and give-backs: every grant starts within the horizon of its ask, and no window holds more than its limit', () => {
    // Random asks at random times, some of their slots given back unused (a late answer):
    // every grant is within the horizon of its ask, and any window holds at most `limit`
    // of the slots kept.
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ledger = emptyLedger();
    const all: number[] = [];
    let released = 0;
    let now = 0;
    for (let i = 0; i < 400; i++) {
      now += Math.floor(rnd() * 400);
      const plan = planSlots(ledger, budgets, 'general', now, 1 + Math.floor(rnd() * 4), HORIZON);
      for (const t of plan.granted) assert.ok(t >= now && t - now <= HORIZON, `slot ${t} asked at ${now}`);
      for (const t of plan.later) assert.ok(t - now > HORIZON);
      const unused = plan.granted.filter(() => rnd() < 0.3);
      releaseSlots(ledger, 'general', unused);
      const kept = [...plan.granted];
      for (const t of unused) kept.splice(kept.indexOf(t), 1);
      all.push(...kept);
      released += unused.length;
    }
    assert.ok(released > 50, `only ${released} slots given back`);
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

describe('pacing: a slow answer', () => {
  it('its slots are given back with the next ask (their requests were not sent), not left to fill the window', async () => {
    const asks: Array<{ slots: Partial<Record<BudgetName, number>>; release?: Partial<Record<BudgetName, number[]>> }> = [];
    const client = {
      workflow: {
        executeUpdateWithStart: async (_name: string, opts: { args: [{ slots: Partial<Record<BudgetName, number>> }] }) => {
          asks.push(opts.args[0]);
          // The first answer takes longer than the margin (a loaded machine).
          if (asks.length === 1) await new Promise((r) => setTimeout(r, 700));
          return { now: 5_000 * asks.length, slots: { reports: Array.from({ length: opts.args[0].slots.reports ?? 0 }, (_, i) => i * 10) } };
        },
      },
    };
    const pacer = new WorkflowPacer(client as never, 'pacer-under-test', small(3, 1000, 500));
    await Promise.all([pacer.acquire('reports'), pacer.acquire('reports')]);
    // The first ask went alone; the second carries its slot back, and the request queued meanwhile.
    assert.equal(asks.length, 2);
    assert.deepEqual(asks[0], { slots: { reports: 1 } });
    assert.deepEqual(asks[1], { slots: { reports: 2 }, release: { reports: [5_000] } });
  });
});

describe('pacing: a burst of 429s', () => {
  it('is told to the pacer in one Update at a time (Temporal admits only 10 in flight per workflow), the longest Retry-After per budget', async () => {
    const asks: unknown[] = [];
    let inFlight = 0;
    let most = 0;
    const client = {
      workflow: {
        executeUpdateWithStart: async (_name: string, opts: { args: [unknown] }) => {
          asks.push(opts.args[0]);
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, 20));
          inFlight--;
          return { now: 0, slots: {} };
        },
      },
    };
    const pacer = new WorkflowPacer(client as never, 'pacer-under-test', small(3, 1000, 500));
    await Promise.all([...Array.from({ length: 15 }, (_, i) => pacer.rateLimited('reports', 1000 + i)), pacer.rateLimited('general', 7000)]);
    assert.equal(most, 1);
    assert.deepEqual(asks, [{ slots: {}, holds: { reports: 1000 } }, { slots: {}, holds: { reports: 1014, general: 7000 } }]);
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
    // Entries spread over ten years and small pages (100): date windows the lanes can share.
    const fake = await startFakeHarvest({
      data: generateAccount({ seed: 37, timeEntries: 9_000, users: 6, firstDate: '2016-01-01', lastDate: '2025-12-31' }),
      rateLimit: false,
      latency: { baseMs: 1500 },
    });
    try {
      const ids = unique('inflight');
      const { cfg } = testConfig(fake, ids, { HARVEST_CONCURRENCY: '24', HARVEST_PER_PAGE: '100' });
      const { summary, error } = await runSync(cfg, { resources: ['time_entries', 'users'], mode: 'full' });
      assert.ifError(error);
      const entries = summary!.resources.find((r) => r.resource === 'time_entries')!;
      // 9,000 entries: 90 pages' worth, in date windows (part pages where windows were cut, a round for changes).
      assert.ok(entries.pages >= 90 && entries.pages <= 120, `${entries.pages} time entry pages`);
      assert.ok((entries.mostInFlight ?? 0) >= 11 && (entries.mostInFlight ?? 0) <= 24, `time entries had at most ${entries.mostInFlight} pages in flight`);
      assert.ok(fake.maxInFlight >= 11, `Harvest saw at most ${fake.maxInFlight} requests at once`);
      process.stdout.write(`# 1.5 s pages: at most ${entries.mostInFlight} time entry pages in flight, ${fake.maxInFlight} requests at Harvest at once\n`);
      const [{ n }] = await query<{ n: string }>(`SELECT count() AS n FROM \`${ids.database}\`.time_entries FINAL WHERE _deleted = 0`);
      assert.equal(Number(n), fake.data.timeEntries.length);

      // A sync given a concurrency keeps to it whatever the latency.
      fake.resetLog();
      const fixed = await runSync(testConfig(fake, unique('inflight_fixed'), { HARVEST_CONCURRENCY: '24', HARVEST_PER_PAGE: '100' }).cfg, { resources: ['time_entries'], mode: 'full', concurrency: 3 });
      assert.ifError(fixed.error);
      const fixedEntries = fixed.summary!.resources.find((r) => r.resource === 'time_entries')!;
      assert.ok((fixedEntries.mostInFlight ?? 0) <= 3, `fixed concurrency 3, yet ${fixedEntries.mostInFlight} in flight`);
    } finally {
      await fake.close();
    }
  });
});

// The reports window scaled down (100 per 3 min, or per 30 s, instead of 15 min) in the
// fake and in the pacer alike, and a page activity's time limit scaled down too (15 s
// instead of 180 s): a slot a window away is further off than one attempt may last, which
// is what stalled syncs when pages waited for their slot inside the activity. The tests
// that hold a sync to its window-aware bound use 3 minutes: the seconds a sync's engine
// takes to spend a fresh window (36 report pages and their window replacements at a time,
// on a busy machine) must not weigh more against the window than they do in Harvest.
interface Scaled {
  budget: Budget;
  /** The worker's environment: window pacing to the scaled reports budget. */
  env: Record<string, string>;
  /** The fake's reports limit. */
  fake: { limit: number; windowMs: number };
}
const scaledReports = (windowS: number): Scaled => ({
  budget: { limit: 100, windowMs: windowS * 1000, marginMs: HARVEST_BUDGETS.reports.marginMs },
  env: { HARVEST_PACING: 'window', HARVEST_PACING_BUDGETS: `reports=100/${windowS}`, HARVEST_CONCURRENCY: '32' },
  fake: { limit: 100, windowMs: windowS * 1000 },
});
const BOUND_SCALE = scaledReports(180);
const PAGE_TIMEOUT_S = 15;
const today = (): string => new Date().toISOString().slice(0, 10);
/** Every report; the sync adds what they depend on (time entries, expenses and theirs). */
const REPORTS = CATALOG.filter((r) => r.report).map((r) => r.name);

/** Report windows a full sync of the account reads (from its oldest entry or expense to today). */
function windowsOf(data: FakeAccountData): number {
  const dates = [...data.timeEntries, ...data.expenses].map((r) => String(r.spent_date));
  return windowsBetween(dates.reduce((a, b) => (b < a ? b : a), today()), today()).length;
}

interface Attempts {
  /** Page and record activities completed, and those of the reports task queue. */
  pages: number;
  reportPages: number;
  /** Activities that took more than one attempt, or failed or timed out for good. */
  retried: string[];
}

/** Every attempt of every activity of the workflows on `taskQueue` (their histories tell: a retry starts as attempt 2+). */
async function activityAttempts(client: Client, taskQueue: string): Promise<Attempts> {
  const out: Attempts = { pages: 0, reportPages: 0, retried: [] };
  for await (const wf of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const scheduled = new Map<string, { type: string; queue: string }>();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '', queue: s.taskQueue?.name ?? '' });
      const started = e.activityTaskStartedEventAttributes;
      if (started) {
        const what = scheduled.get(String(started.scheduledEventId));
        if (what?.type === 'fetchPage' || what?.type === 'fetchRecord') {
          out.pages++;
          if (what.queue === reportsTaskQueue(taskQueue)) out.reportPages++;
        }
        if ((started.attempt ?? 1) > 1) out.retried.push(`${wf.workflowId}: ${what?.type} attempt ${started.attempt} (${started.lastFailure?.message ?? ''})`);
      }
      if (e.activityTaskTimedOutEventAttributes) out.retried.push(`${wf.workflowId}: an activity timed out`);
      if (e.activityTaskFailedEventAttributes) out.retried.push(`${wf.workflowId}: an activity failed: ${e.activityTaskFailedEventAttributes.failure?.message}`);
    }
  }
  return out;
}

/**
 * The window-aware bound of a run: its report requests cannot start before the time
 * entries and expenses they are built from are stored (the first report request), and
 * then N of them need floor((N-1)/L) more windows of the budget (each with the pacer's
 * margin); its general requests likewise from the run's start. The larger of the two.
 */
function windowBound(log: RequestLogEntry[], started: number, reportsBudget: Budget): { boundS: number; reports: number; general: number; firstReportS: number } {
  const ok = log.filter((r) => r.path.startsWith('/v2/') && r.status !== 429);
  const reports = ok.filter((r) => r.path.startsWith('/v2/reports/'));
  const general = ok.length - reports.length;
  const firstReportS = reports.length ? (Math.min(...reports.map((r) => r.at)) - started) / 1000 : 0;
  const windows = (n: number, b: Budget): number => (n === 0 ? 0 : Math.floor((n - 1) / b.limit) * (b.windowMs + b.marginMs)) / 1000;
  const boundS = Math.max(windows(general, HARVEST_BUDGETS.general), firstReportS + windows(reports.length, reportsBudget));
  return { boundS, reports: reports.length, general, firstReportS };
}

/** 429s answered after the warm-up (the first general window). */
const limitedAfterWarmUp = (log: RequestLogEntry[], started: number): number =>
  log.filter((r) => r.status === 429 && r.at - started > HARVEST_BUDGETS.general.windowMs).length;

/** Live ids of a top-level table of one account in the test engine. */
async function liveIds(database: string, table: string, accountId: number): Promise<string[]> {
  const rows = await query<{ id: string }>(`SELECT toString(id) AS id FROM \`${database}\`.\`${table}\` FINAL WHERE _deleted = 0 AND account_id = {a:UInt64}`, { a: accountId });
  return rows.map((r) => r.id).sort();
}

/** Top-level tables a sync of the reports may read too (their dependencies), by the fake's field. */
const TOP_LEVEL: Array<[string, keyof FakeAccountData]> = [['time_entries', 'timeEntries'], ['expenses', 'expenses'], ['users', 'users'], ['projects', 'projects'], ['tasks', 'tasks']];
/** Those the sync read (at least the two the windowed reports are built from). */
function exactTables(resources: ResourceProgress[]): Array<[string, keyof FakeAccountData]> {
  const read = TOP_LEVEL.filter(([t]) => resources.some((r) => r.resource === t));
  assert.ok(read.length >= 2, 'time entries and expenses were read');
  return read;
}
const idsOf = (data: FakeAccountData, field: keyof FakeAccountData): string[] => (data[field] as Array<{ id: unknown }>).map((r) => String(r.id)).sort();

/** Every windowed report read each of the account's windows (one page each), and nothing failed. */
function assertReports(resources: ResourceProgress[], windows: number, label: string): void {
  const reports = resources.filter((r) => r.resource.startsWith('report_') && r.resource !== 'report_project_budget');
  assert.equal(reports.length, 9, `${label}: windowed reports`);
  for (const r of reports) {
    assert.equal(r.state, 'done', `${label}: ${r.resource} ${r.state} ${r.error ?? ''}`);
    assert.equal(r.pages, windows, `${label}: ${r.resource} read ${r.pages} of ${windows} windows`);
  }
  for (const r of resources) assert.equal(r.state, 'done', `${label}: ${r.resource} ${r.state} ${r.error ?? r.warning ?? ''}`);
}

describe('pacing: the reports window is waited out in the workflow, never inside an activity', () => {
  // The reports and what they depend on (time entries, expenses, users, projects, tasks,
  // assignments): the reports window, not the general one, bounds these syncs.
  it('a 21-year account (≈200 report requests) under the scaled reports window: no page activity retried or timed out, 0 × 429, within 1.1× the window-aware bound, exact', async () => {
    const env = await temporalEnv();
    const data = generateAccount({ seed: 41, timeEntries: 2000, expenses: 200, users: 6, projects: 8, clients: 4, firstDate: '2006-01-01', lastDate: today() });
    const windows = windowsOf(data);
    const fake = await startFakeHarvest({ data, reportsRateLimit: BOUND_SCALE.fake });
    try {
      const ids = unique('reports21');
      const { cfg } = testConfig(fake, ids, BOUND_SCALE.env);
      let started = 0;
      const { summary, error } = await runSync(cfg, { mode: 'full', resources: REPORTS, pageTimeout: PAGE_TIMEOUT_S }, { during: async () => void (started = Date.now()) });
      const wallS = (Date.now() - started) / 1000;
      assert.ifError(error);
      assertReports(summary!.resources, windows, 'the account');
      const b = windowBound(fake.requests, started, BOUND_SCALE.budget);
      assert.ok(b.reports >= 190, `only ${b.reports} report requests`);
      const attempts = await activityAttempts(env.client, cfg.temporal.taskQueue);
      const waits = summary!.resources.reduce((n, r) => n + (r.pacingWaits ?? 0), 0);
      if (process.env.PACING_TRACE) {
        process.stdout.write(`# resources: ${summary!.resources.map((r) => `${r.resource} ${r.pages}p ${r.requests}r ${r.pacingWaits ?? 0}w`).join(', ')}\n`);
        for await (const wf of env.client.workflow.list({ query: `TaskQueue = "${cfg.temporal.taskQueue}"` })) {
          if (!wf.workflowId.endsWith('report_time_clients')) continue;
          const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
          const names = new Map<string, string>();
          const line = (history.events ?? []).map((e) => {
            const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6) - started;
            const sch = e.activityTaskScheduledEventAttributes;
            if (sch) names.set(String(e.eventId), sch.activityType?.name ?? '');
            const name = sch?.activityType?.name ?? names.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? '';
            return `${(at / 1000).toFixed(2)} ${String(e.eventType)}${name ? `:${name}` : ''}`;
          });
          process.stdout.write(`# trace ${wf.workflowId}: ${line.join(' | ')}\n`);
        }
        process.stdout.write(`# requests (s): ${fake.requests.filter((r) => r.path.startsWith('/v2/')).map((r) => `${((r.at - started) / 1000).toFixed(1)}${r.path.startsWith('/v2/reports/') ? 'r' : 'g'}`).join(' ')}\n`);
      }
      process.stdout.write(
        `# 21 years, ${windows} windows: ${b.reports} report + ${b.general} general requests in ${wallS.toFixed(1)} s; bound ${b.boundS.toFixed(1)} s ` +
          `(first report request at ${b.firstReportS.toFixed(1)} s): ${(wallS / b.boundS).toFixed(2)}×; ${waits} waits in workflows; ` +
          `${attempts.reportPages} report page activities, ${attempts.retried.length} retried; 429s ${fake.requests.filter((r) => r.status === 429).length}\n`,
      );
      assert.deepEqual(attempts.retried, [], 'no page activity timed out, failed or was retried');
      assert.ok(attempts.reportPages >= b.reports, 'the histories hold every report page');
      assert.ok(waits > 0, 'the pages beyond the first window waited in their workflows');
      assert.equal(limitedAfterWarmUp(fake.requests, started), 0, '0 × 429 after warm-up');
      assert.ok(wallS <= 1.1 * b.boundS, `${wallS.toFixed(1)} s is over 1.1 × the bound ${b.boundS.toFixed(1)} s`);
      for (const [table, field] of exactTables(summary!.resources)) assert.deepEqual(await liveIds(ids.database, table, data.accountId), idsOf(data, field), `${table} exact`);
    } finally {
      await fake.close();
    }
  });

  it('a Retry-After of 15 minutes (scaled) on a report is waited out in the workflow: no activity waits it, nothing is sent meanwhile, no stall', async () => {
    const env = await temporalEnv();
    const data = generateAccount({ seed: 43, timeEntries: 500, users: 4 });
    const windows = windowsOf(data);
    // Scaled 30× (a reports window of 30 s, Retry-After 30 s): longer than a page activity may last.
    const scale = scaledReports(30);
    const fake = await startFakeHarvest({ data, reportsRateLimit: scale.fake });
    const retryAfterS = 900 * (scale.budget.windowMs / HARVEST_BUDGETS.reports.windowMs);
    try {
      const ids = unique('retryafter');
      const { cfg } = testConfig(fake, ids, scale.env);
      fake.faults.add({ kind: '429', count: 1, pathPrefix: '/v2/reports/', retryAfter: retryAfterS });
      let started = 0;
      const { summary, error } = await runSync(cfg, { mode: 'full', resources: REPORTS, pageTimeout: PAGE_TIMEOUT_S }, { during: async () => void (started = Date.now()) });
      const ended = Date.now();
      assert.ifError(error);
      assertReports(summary!.resources, windows, 'the account');
      const reports = fake.requests.filter((r) => r.path.startsWith('/v2/reports/'));
      const limited = reports.filter((r) => r.status === 429);
      assert.equal(limited.length, 1);
      const held = limited[0].at;
      // Granted before the 429 arrived: sent within the horizon. Then nothing until Retry-After passed.
      const during = reports.filter((r) => r.at > held + GRANT_HORIZON_MS + 1000 && r.at < held + retryAfterS * 1000);
      assert.deepEqual(during.map((r) => `${r.at - held} ms ${r.path}`), [], 'report requests sent while the budget was held');
      const after = reports.filter((r) => r.at >= held + retryAfterS * 1000);
      assert.ok(after.length >= 1, 'the page that was answered 429 was asked again after Retry-After');
      // No stall: it ends soon after the hold (one more round of pages, stored).
      const tailS = (ended - held) / 1000 - retryAfterS;
      const attempts = await activityAttempts(env.client, cfg.temporal.taskQueue);
      const rateLimited = summary!.resources.reduce((n, r) => n + r.rateLimited, 0);
      process.stdout.write(`# Retry-After ${retryAfterS} s on a report at ${((held - started) / 1000).toFixed(1)} s: ${after.length} report requests after it, ended ${tailS.toFixed(1)} s after the hold; ${attempts.retried.length} activities retried\n`);
      assert.ok(tailS < 10, `the sync ended ${tailS.toFixed(1)} s after the hold`);
      assert.deepEqual(attempts.retried, [], 'no activity waited out the hold (timed out) or failed');
      assert.equal(rateLimited, 1, 'the 429 is counted');
      assert.ok(summary!.resources.some((r) => (r.pacingWaits ?? 0) > 0));
    } finally {
      await fake.close();
    }
  });

  it('3 accounts on one token across 2 worker processes share one budget (reports included): exact, 0 × 429 after warm-up, within 1.1× the window-aware bound', async () => {
    const env = await temporalEnv();
    const accounts = [51, 52, 53].map((seed) => generateAccount({ seed, timeEntries: 1200, expenses: 150, users: 5, projects: 6, clients: 3, firstDate: '2020-01-01', lastDate: today() }));
    const fake = await startFakeHarvest({ data: accounts[0], accounts: accounts.slice(1), reportsRateLimit: BOUND_SCALE.fake });
    const here = unique('shared2p');
    const there = unique('shared2p');
    const chPath = path.join(TMP, `shared2p-clickhouse-${Date.now()}`);
    // The second process: its own deployment (task queue and embedded ClickHouse), the same token and API.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'worker', 'worker.ts')], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        ...BOUND_SCALE.env,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: there.taskQueue,
        HARVEST_ACCOUNT_ID: String(accounts[2].accountId),
        HARVEST_ACCESS_TOKEN: 'test-pat',
        HARVEST_BASE_URL: `${fake.baseUrl}/`, // another spelling of the same API: the same budget
        HARVEST_USER_AGENT: 'harvest-sync tests (tests@example.com)',
        CLICKHOUSE_PATH: chPath,
        CLICKHOUSE_DATABASE: there.database,
        HARVEST_SYNC_STATE_DIR: path.join(TMP, 'shared2p-state'),
        LOG_LEVEL: 'WARN',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let childLog = '';
    child.stderr!.on('data', (d: Buffer) => (childLog = (childLog + d.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      // Until the child polls its queue (it bundles the workflows first).
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the worker process exited: ${childLog}`);
        const res = await env.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: there.taskQueue }, taskQueueType: 1 });
        if ((res.pollers ?? []).length > 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const { cfg } = testConfig(fake, here, { ...BOUND_SCALE.env, HARVEST_ACCOUNT_ID: `${accounts[0].accountId},${accounts[1].accountId}` });
      let started = 0;
      let theirs: Promise<SyncSummary> | undefined;
      const ours = await runSync(cfg, { mode: 'full', resources: REPORTS, pageTimeout: PAGE_TIMEOUT_S }, {
        during: async () => {
          started = Date.now();
          const handle = await env.client.workflow.start('harvestSync', { taskQueue: there.taskQueue, workflowId: `shared2p-${Date.now()}`, args: [{ mode: 'full', resources: REPORTS, pageTimeout: PAGE_TIMEOUT_S }] });
          theirs = handle.result() as Promise<SyncSummary>;
          await theirs.catch(() => undefined);
        },
      });
      const wallS = (Date.now() - started) / 1000;
      assert.ifError(ours.error);
      const theirSummary = await theirs!;
      // Per account: every resource done, every report window read.
      const perAccount: Array<[FakeAccountData, ResourceProgress[]]> = [];
      for (const a of ours.summary!.accounts ?? []) {
        assert.equal(a.status, 'succeeded', `account ${a.accountId}: ${a.error ?? ''}`);
        const result = (await env.client.workflow.getHandle(a.workflowId, a.runId).result()) as SyncSummary;
        perAccount.push([accounts.find((d) => String(d.accountId) === a.accountId)!, result.resources]);
      }
      assert.equal(perAccount.length, 2);
      perAccount.push([accounts[2], theirSummary.resources]);
      for (const [data, resources] of perAccount) assertReports(resources, windowsOf(data), `account ${data.accountId}`);
      const b = windowBound(fake.requests, started, BOUND_SCALE.budget);
      const attempts = [await activityAttempts(env.client, here.taskQueue), await activityAttempts(env.client, there.taskQueue)];
      const limited = fake.requests.filter((r) => r.status === 429).length;
      process.stdout.write(
        `# 3 accounts, 2 processes: ${b.reports} report + ${b.general} general requests in ${wallS.toFixed(1)} s; bound ${b.boundS.toFixed(1)} s ` +
          `(first report request at ${b.firstReportS.toFixed(1)} s): ${(wallS / b.boundS).toFixed(2)}×; 429s ${limited} (${limitedAfterWarmUp(fake.requests, started)} after warm-up); ` +
          `${attempts.map((a) => a.reportPages).join(' + ')} report page activities, ${attempts[0].retried.length + attempts[1].retried.length} retried\n`,
      );
      if (process.env.PACING_TRACE) {
        // What the pacer granted (its Update results), against what reached Harvest.
        let granted = 0;
        let later = 0;
        let updates = 0;
        for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${pacerWorkflowId('pat:test-pat', fake.baseUrl)}"` })) {
          const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
          for (const e of history.events ?? []) {
            const done = e.workflowExecutionUpdateCompletedEventAttributes;
            if (!done?.outcome?.success?.payloads?.[0]?.data) continue;
            const grant = JSON.parse(Buffer.from(done.outcome.success.payloads[0].data).toString()) as { slots: Record<string, number[]>; later?: Record<string, number[]> };
            updates++;
            granted += grant.slots.reports?.length ?? 0;
            later += grant.later?.reports?.length ?? 0;
          }
        }
        process.stdout.write(`# pacer: ${updates} updates, ${granted} report slots granted, ${later} told later; report requests ${fake.requests.filter((r) => r.path.startsWith('/v2/reports/')).map((r) => ((r.at - started) / 1000).toFixed(1)).join(' ')}\n`);
      }
      assert.ok(b.reports > BOUND_SCALE.budget.limit, `${b.reports} report requests: more than a window's worth`);
      assert.equal(limitedAfterWarmUp(fake.requests, started), 0, '0 × 429 after warm-up');
      assert.deepEqual([...attempts[0].retried, ...attempts[1].retried], [], 'no page activity timed out, failed or was retried');
      assert.ok(attempts[0].reportPages > 0 && attempts[1].reportPages > 0, 'both processes sent report pages');
      assert.ok(wallS <= 1.1 * b.boundS, `${wallS.toFixed(1)} s is over 1.1 × the bound ${b.boundS.toFixed(1)} s`);
      // Exact: the in-process deployment's two accounts here, the child's in its own engine.
      for (const [data, resources] of perAccount.slice(0, 2)) {
        for (const [table, field] of exactTables(resources)) assert.deepEqual(await liveIds(here.database, table, data.accountId), idsOf(data, field), `account ${data.accountId}: ${table} exact`);
      }
      child.kill('SIGTERM');
      await exited;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test', 'support', 'ch-dump.ts'), chPath, there.database], { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 });
      const dump = JSON.parse(stdout) as Record<string, { keys: string[] }>;
      for (const [table, field] of exactTables(theirSummary.resources)) assert.deepEqual([...dump[table].keys].sort(), idsOf(accounts[2], field), `account ${accounts[2].accountId}: ${table} exact`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      await fake.close();
    }
  });
});
