// The worker side of pacing: before each Harvest request, ask the token's pacer workflow
// for a slot and wait until it starts. The pacer grants only near slots: a request whose
// slot is further away gets a PacingWait, and its activity returns without sending it
// (the workflow waits on a durable timer and asks again). See docs/pacing.md.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { Budget, BudgetName } from './window';
import type { SlotGrant, SlotRequest } from '../workflows/pacer';
import { HARVEST_BUDGETS } from './window';

/**
 * No slot of `budget` starts soon: ask again at `waitUntil` (ms epoch). Nothing was booked,
 * so a request that never comes back costs the budget nothing.
 */
export class PacingWait extends Error {
  constructor(
    readonly budget: BudgetName,
    readonly waitUntil: number,
  ) {
    super(`no ${budget} request slot before ${new Date(waitUntil).toISOString()}`);
    this.name = 'PacingWait';
  }
}

export interface Pacer {
  /**
   * Resolves when a request against `budget` may be sent (after at most a short wait);
   * rejects with a PacingWait when its slot is further away.
   */
  acquire(budget: BudgetName, signal?: AbortSignal): Promise<void>;
  /** Harvest answered 429: hold the budget for `retryAfterMs` (every worker of the token). */
  rateLimited(budget: BudgetName, retryAfterMs: number): Promise<void>;
}

/** A granted slot (wait that long, then send), or none soon (ask again at `later`, ms epoch). */
type Answer = { waitMs: number; askedAt: number } | { later: number };

/** Every worker polls this queue, whatever its deployment's task queue: any of them can serve a token's pacer. */
export const PACING_TASK_QUEUE = 'harvest-sync-pacing';

/**
 * Id of the pacer of one credential at one API: a hash, so the token never reaches
 * Temporal. The same token against another base URL (a test fake) is another budget;
 * spellings of one URL (trailing slash, case of the host, default port) are one.
 */
export function pacerWorkflowId(credential: string, baseUrl: string): string {
  const digest = createHash('sha256').update(canonicalBaseUrl(baseUrl)).update('\0').update(credential).digest('hex');
  return `harvest-pacer-${digest.slice(0, 24)}`;
}

/** One spelling per API base: scheme and host lower case, no default port, no trailing slash. */
export function canonicalBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl.trim());
  } catch {
    return baseUrl;
  }
  // URL lower-cases scheme and host and drops the scheme's default port; the path keeps its case.
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}${url.search}`;
}

export class WorkflowPacer implements Pacer {
  private waiting: Array<{ budget: BudgetName; resolve: (grant: Answer) => void; reject: (err: unknown) => void }> = [];
  private asking = false;
  private reasked = 0;
  /** Longest round trip whose grants are used as they are: the smallest margin of the budgets. */
  private readonly maxLagMs: number;

  constructor(
    private readonly client: Client,
    private readonly workflowId: string,
    private readonly budgets: Record<BudgetName, Budget> = HARVEST_BUDGETS,
    /** Longest wait of a granted slot (the pacer's default unless given: tests). */
    private readonly horizonMs?: number,
  ) {
    this.maxLagMs = Math.min(...Object.values(budgets).map((b) => b.marginMs));
  }

  async acquire(budget: BudgetName, signal?: AbortSignal): Promise<void> {
    for (let late = 0; ; late++) {
      const answer = await this.grant(budget, signal);
      if ('later' in answer) throw new PacingWait(budget, answer.later);
      const { waitMs, askedAt } = answer;
      if (waitMs > 0) await sleep(waitMs, undefined, signal ? { signal } : undefined);
      // The slot starts no earlier than askedAt + waitMs. A request sent later than that by
      // more than the margin (a busy event loop wakes timers late) could overlap the next
      // window's slots: the slot is given up (counted, unused: only conservative) and
      // another one asked for.
      if (Date.now() - (askedAt + waitMs) <= this.maxLagMs || late >= 5) return;
      this.lateSlots++;
    }
  }

  /** Slots given up because their request would have left too late. */
  lateSlots = 0;

  private async grant(budget: BudgetName, signal?: AbortSignal): Promise<Answer> {
    signal?.throwIfAborted();
    let onAbort: (() => void) | undefined;
    return new Promise<Answer>((resolve, reject) => {
      const entry = { budget, resolve, reject };
      this.waiting.push(entry);
      // A cancelled activity (or a worker shutting down, which may also be the one that
      // runs the pacer) stops waiting for its grant at once; a slot granted to it later
      // goes unused, which is only conservative.
      onAbort = () => {
        this.waiting = this.waiting.filter((w) => w !== entry);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pump();
    }).finally(() => {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    });
  }

  async rateLimited(budget: BudgetName, retryAfterMs: number): Promise<void> {
    await this.ask({ slots: {}, hold: { budget, retryAfterMs } });
  }

  /**
   * One Update in flight per process: the requests that queued meanwhile go together in
   * the next one (Temporal caps the Updates in flight per workflow, and one grant of many
   * slots costs the pacer's history what one slot does).
   */
  private pump(): void {
    if (this.asking || this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    this.asking = true;
    const slots: SlotRequest['slots'] = {};
    for (const w of batch) slots[w.budget] = (slots[w.budget] ?? 0) + 1;
    const sent = Date.now();
    this.ask({ slots })
      .then((grant) => {
        // The pacer granted these slots at its own "now", somewhere within this round trip;
        // a request sent later than that by more than the margin could overlap the next
        // window's slots. A slow answer's slots are given up (counted, unused: only
        // conservative) and asked for again.
        if (Date.now() - sent > this.maxLagMs && this.reasked < 5) {
          this.reasked++;
          this.waiting.unshift(...batch);
          return;
        }
        this.reasked = 0;
        // Measured from the answer's arrival, so a request never asks again too early.
        const arrived = Date.now();
        const next: Partial<Record<BudgetName, number>> = {};
        for (const w of batch) {
          const i = (next[w.budget] = (next[w.budget] ?? -1) + 1);
          const granted = grant.slots[w.budget] ?? [];
          if (i < granted.length) w.resolve({ waitMs: granted[i], askedAt: sent });
          else w.resolve({ later: arrived + (grant.later?.[w.budget]?.[i - granted.length] ?? 0) });
        }
      })
      .catch((err: unknown) => {
        for (const w of batch) w.reject(err);
      })
      .finally(() => {
        this.asking = false;
        this.pump();
      });
  }

  /** Update-with-start: the first request (or the first after an idle pacer ended) starts it. */
  private async ask(req: SlotRequest): Promise<SlotGrant> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.client.workflow.executeUpdateWithStart<Workflow, SlotGrant, [SlotRequest]>('acquireSlots', {
          args: [req],
          // A fresh operation per call: one can be used only once.
          startWorkflowOperation: new WithStartWorkflowOperation<Workflow>('harvestPacer', {
            workflowId: this.workflowId,
            taskQueue: PACING_TASK_QUEUE,
            args: [{ budgets: this.budgets, ...(this.horizonMs !== undefined ? { horizonMs: this.horizonMs } : {}) }],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
      } catch (err) {
        // The pacer may be rolling over (continue-as-new) or ending idle just now.
        if (attempt >= 8) throw err;
        await sleep(100 * attempt);
      }
    }
  }
}

/** No pacing (HARVEST_PACING=queue: Temporal's task-queue rate limits alone). */
export const NO_PACING: Pacer = {
  acquire: async () => undefined,
  rateLimited: async () => undefined,
};
