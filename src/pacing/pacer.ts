// The worker side of pacing: before each Harvest request, ask the token's pacer workflow
// for a slot and wait until it starts. See docs/pacing.md.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { Budget, BudgetName } from './window';
import type { SlotGrant, SlotRequest } from '../workflows/pacer';
import { HARVEST_BUDGETS } from './window';

export interface Pacer {
  /** Resolves when a request against `budget` may be sent. */
  acquire(budget: BudgetName, signal?: AbortSignal): Promise<void>;
  /** Harvest answered 429: hold the budget for `retryAfterMs` (every worker of the token). */
  rateLimited(budget: BudgetName, retryAfterMs: number): Promise<void>;
}

/** Every worker polls this queue, whatever its deployment's task queue: any of them can serve a token's pacer. */
export const PACING_TASK_QUEUE = 'harvest-sync-pacing';

/**
 * Id of the pacer of one credential at one API: a hash, so the token never reaches
 * Temporal. The same token against another base URL (a test fake) is another budget.
 */
export function pacerWorkflowId(credential: string, baseUrl: string): string {
  const digest = createHash('sha256').update(baseUrl).update('\0').update(credential).digest('hex');
  return `harvest-pacer-${digest.slice(0, 24)}`;
}

export class WorkflowPacer implements Pacer {
  private waiting: Array<{ budget: BudgetName; resolve: (grant: { waitMs: number; askedAt: number }) => void; reject: (err: unknown) => void }> = [];
  private asking = false;
  private reasked = 0;
  /** Longest round trip whose grants are used as they are: the smallest margin of the budgets. */
  private readonly maxLagMs: number;

  constructor(
    private readonly client: Client,
    private readonly workflowId: string,
    private readonly budgets: Record<BudgetName, Budget> = HARVEST_BUDGETS,
  ) {
    this.maxLagMs = Math.min(...Object.values(budgets).map((b) => b.marginMs));
  }

  async acquire(budget: BudgetName, signal?: AbortSignal): Promise<void> {
    for (let late = 0; ; late++) {
      const { waitMs, askedAt } = await this.grant(budget, signal);
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

  private async grant(budget: BudgetName, signal?: AbortSignal): Promise<{ waitMs: number; askedAt: number }> {
    signal?.throwIfAborted();
    let onAbort: (() => void) | undefined;
    return new Promise<{ waitMs: number; askedAt: number }>((resolve, reject) => {
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
        const next: Partial<Record<BudgetName, number>> = {};
        for (const w of batch) {
          const i = (next[w.budget] = (next[w.budget] ?? -1) + 1);
          w.resolve({ waitMs: grant[w.budget]?.[i] ?? 0, askedAt: sent });
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
            args: [{ budgets: this.budgets }],
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
