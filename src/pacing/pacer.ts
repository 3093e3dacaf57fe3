// The worker side of pacing: before each Harvest request, ask the token's pacer workflow
// for a slot and wait until it starts. The pacer grants only near slots: a request whose
// slot is further away gets a PacingWait, and its activity returns without sending it
// (the workflow waits on a durable timer and asks again). See docs/pacing.md.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { Budget, BudgetName } from '../core/budget-window';
import type { SlotGrant, SlotRequest } from '../workflows/pacer';
import { HARVEST_BUDGETS } from '../core/budget-window';

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

/**
 * A granted slot (wait that long, then send; `at`: its time in the pacer's clock, to give it
 * back if unused), or none soon (ask again at `later`, ms epoch).
 */
type Answer = { waitMs: number; askedAt: number; at?: number } | { later: number };

interface Waiter {
  budget: BudgetName;
  resolve: (grant: Answer) => void;
  reject: (err: unknown) => void;
  /** A slot granted to this request earlier and not used: given back with the next ask. */
  release?: number;
}

/** The pacers' task queue of unversioned workers: every one polls it, whatever its own task queue. */
export const PACING_TASK_QUEUE = 'harvest-sync-pacing';

/**
 * The pacers' task queue of a worker deployment: every worker of the deployment polls it,
 * whatever its own task queue, so any of them can serve a token's pacer (a task queue
 * belongs to one deployment).
 */
export function pacingTaskQueue(deployment: string | null): string {
  return deployment ? `${deployment}-pacing` : PACING_TASK_QUEUE;
}

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
  private waiting: Waiter[] = [];
  /** 429s to tell the pacer, sent with the next ask (not an Update each: Temporal admits 10 at once per workflow). */
  private holds: Array<{ budget: BudgetName; retryAfterMs: number; resolve: () => void; reject: (err: unknown) => void }> = [];
  private asking = false;
  private reasked = 0;

  constructor(
    private readonly client: Client,
    private readonly workflowId: string,
    private readonly budgets: Record<BudgetName, Budget> = HARVEST_BUDGETS,
    /** Longest wait of a granted slot (the pacer's default unless given: tests). */
    private readonly horizonMs?: number,
    private readonly taskQueue: string = PACING_TASK_QUEUE,
  ) {
  }

  async acquire(budget: BudgetName, signal?: AbortSignal): Promise<void> {
    let release: number | undefined;
    for (let late = 0; ; late++) {
      const answer = await this.grant(budget, signal, release);
      if ('later' in answer) throw new PacingWait(budget, answer.later);
      const { waitMs, askedAt } = answer;
      if (waitMs > 0) await sleep(waitMs, undefined, signal ? { signal } : undefined);
      // The slot starts no earlier than askedAt + waitMs. A request sent later than that by
      // more than the margin (a busy event loop wakes timers late) could overlap the next
      // window's slots: the slot is given back (it was not used) and another one asked for.
      if (Date.now() - (askedAt + waitMs) <= this.budgets[budget].marginMs || late >= 5) return;
      release = answer.at;
      this.lateSlots++;
    }
  }

  /** Slots given up because their request would have left too late. */
  lateSlots = 0;

  private async grant(budget: BudgetName, signal?: AbortSignal, release?: number): Promise<Answer> {
    signal?.throwIfAborted();
    let onAbort: (() => void) | undefined;
    return new Promise<Answer>((resolve, reject) => {
      const entry: Waiter = { budget, resolve, reject, ...(release !== undefined ? { release } : {}) };
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
    return new Promise<void>((resolve, reject) => {
      this.holds.push({ budget, retryAfterMs, resolve, reject });
      this.pump();
    });
  }

  /**
   * One Update in flight per process: the requests that queued meanwhile go together in
   * the next one (Temporal caps the Updates in flight per workflow, and one grant of many
   * slots costs the pacer's history what one slot does).
   */
  private pump(): void {
    if (this.asking || (this.waiting.length === 0 && this.holds.length === 0)) return;
    const batch = this.waiting;
    const holding = this.holds;
    this.waiting = [];
    this.holds = [];
    this.asking = true;
    const holds: NonNullable<SlotRequest['holds']> = {};
    for (const h of holding) holds[h.budget] = Math.max(holds[h.budget] ?? 0, h.retryAfterMs);
    const slots: SlotRequest['slots'] = {};
    const release: NonNullable<SlotRequest['release']> = {};
    for (const w of batch) {
      slots[w.budget] = (slots[w.budget] ?? 0) + 1;
      if (w.release !== undefined) (release[w.budget] ??= []).push(w.release);
      delete w.release;
    }
    const sent = Date.now();
    this.ask({ slots, ...(Object.keys(release).length ? { release } : {}), ...(holding.length ? { holds } : {}) })
      .then((grant) => {
        for (const h of holding) h.resolve();
        // Measured from the answer's arrival, so a request never asks again too early.
        const arrived = Date.now();
        // The pacer granted these slots at its own "now", somewhere within this round trip;
        // a request sent later than that by more than its budget's margin could overlap the
        // next window's slots. A slow answer's slots are given back (with the next ask:
        // their requests were not sent) and asked for again.
        const slow = (b: BudgetName): boolean => arrived - sent > this.budgets[b].marginMs && this.reasked < 5;
        const again: Waiter[] = [];
        const next: Partial<Record<BudgetName, number>> = {};
        for (const w of batch) {
          const i = (next[w.budget] = (next[w.budget] ?? -1) + 1);
          const granted = grant.slots[w.budget] ?? [];
          const at = grant.now !== undefined && i < granted.length ? grant.now + granted[i] : undefined;
          if (i >= granted.length) w.resolve({ later: arrived + (grant.later?.[w.budget]?.[i - granted.length] ?? 0) });
          else if (slow(w.budget)) {
            // The same entry (a cancellation finds it by identity), asked again with its slot given back.
            if (at !== undefined) w.release = at;
            again.push(w);
          }
          else w.resolve({ waitMs: granted[i], askedAt: sent, ...(at !== undefined ? { at } : {}) });
        }
        if (again.length > 0) {
          this.reasked++;
          this.waiting.unshift(...again);
        } else this.reasked = 0;
      })
      .catch((err: unknown) => {
        for (const w of batch) w.reject(err);
        for (const h of holding) h.reject(err);
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
            taskQueue: this.taskQueue,
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
