// The pacer: one long-lived workflow per Harvest token (its id is derived from a hash of
// the token, never the token) that grants request slots through an Update. Every worker
// in every process that uses the token asks the same workflow, so together they stay
// inside Harvest's windows; its ledger lives in workflow state, so it survives worker
// restarts. Only near slots are granted (GRANT_HORIZON_MS); a request whose slot is
// further away is told when to ask again and waits in its workflow. See docs/pacing.md.
import { condition, continueAsNew, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
import { emptyLedger, GRANT_HORIZON_MS, holdUntil, ledgerExpiry, mayEndIdle, planSlots, pruneLedger, releaseSlots, type Budget, type BudgetName, type LedgerState } from '../core/budget-window';

export interface PacerInput {
  budgets: Record<BudgetName, Budget>;
  /** Longest wait of a granted slot (default GRANT_HORIZON_MS). */
  horizonMs?: number;
  /** Carried over continue-as-new. */
  ledger?: LedgerState;
}

/** Slots wanted per budget (a worker asks for all its waiting requests at once). */
export interface SlotRequest {
  slots: Partial<Record<BudgetName, number>>;
  /** Harvest answered 429 with this Retry-After (ms, per budget): hold the budget that long first. */
  holds?: Partial<Record<BudgetName, number>>;
  /** Slots granted earlier (their times, `now` + wait of their grant) whose requests were not sent: given back first. */
  release?: Partial<Record<BudgetName, number[]>>;
}

/**
 * Per budget, in the order asked: `slots`, how long (ms) each granted request waits before
 * it is sent (at most the horizon); `later`, for each request left without a slot, how long
 * (ms) until it may ask again. Nothing is booked for those.
 */
export interface SlotGrant {
  /** The pacer's time of the grant (a slot's time is `now` + its wait: what `release` names). */
  now: number;
  slots: Partial<Record<BudgetName, number[]>>;
  later?: Partial<Record<BudgetName, number[]>>;
}

export const acquireSlotsUpdate = defineUpdate<SlotGrant, [SlotRequest]>('acquireSlots');
const BUDGETS: readonly BudgetName[] = ['general', 'reports'];

/** Ends after this long without a request, once the ledger holds nothing that matters. */
const IDLE_MS = 2 * 60_000;
/** Each grant costs a few events; roll over long before Temporal's limits. */
const HISTORY_LIMIT = 4_000;

// Long-lived: it moves to each new build (the pacing queue's workers default to AUTO_UPGRADE,
// src/worker/worker.ts; its changes go behind registered patches, patches.ts).
export async function harvestPacer(input: PacerInput): Promise<void> {
  const ledger = input.ledger ?? emptyLedger();
  const horizonMs = input.horizonMs ?? GRANT_HORIZON_MS;
  let lastRequest = Date.now();
  setHandler(
    acquireSlotsUpdate,
    (req: SlotRequest): SlotGrant => {
      const now = Date.now();
      lastRequest = now;
      for (const name of BUDGETS) if ((req.holds?.[name] ?? 0) > 0) holdUntil(ledger, name, now + req.holds![name]!);
      for (const name of BUDGETS) if (req.release?.[name]?.length) releaseSlots(ledger, name, req.release[name]);
      const grant: SlotGrant = { now, slots: {} };
      for (const name of BUDGETS) {
        const n = req.slots[name] ?? 0;
        if (n === 0) continue;
        const plan = planSlots(ledger, input.budgets, name, now, n, horizonMs);
        grant.slots[name] = plan.granted.map((t) => t - now);
        if (plan.later.length > 0) (grant.later ??= {})[name] = plan.later.map((t) => t - now);
      }
      return grant;
    },
    {
      validator: (req: SlotRequest): void => {
        for (const [name, n] of Object.entries(req.slots ?? {})) {
          if (!BUDGETS.includes(name as BudgetName)) throw new Error(`unknown budget ${name}`);
          if (!Number.isInteger(n) || n < 0 || n > 1000) throw new Error(`bad slot count ${String(n)}`);
        }
        for (const [name, ms] of Object.entries(req.holds ?? {})) {
          if (!BUDGETS.includes(name as BudgetName)) throw new Error(`unknown budget ${name}`);
          if (!Number.isFinite(ms) || ms < 0) throw new Error(`bad hold ${String(ms)}`);
        }
        for (const [name, times] of Object.entries(req.release ?? {})) {
          if (!BUDGETS.includes(name as BudgetName)) throw new Error(`unknown budget ${name}`);
          if (!Array.isArray(times) || times.length > 1000 || !times.every((t) => Number.isFinite(t))) throw new Error('bad release');
        }
      },
    },
  );
  const historyFull = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= HISTORY_LIMIT;
  for (;;) {
    // Quiet for a while, and nothing left that a fresh ledger would not know: a slot still
    // inside its window, or a hold (Retry-After) still ahead. Until then the pacer stays,
    // so a restarted one can never grant a window that overlaps slots already spent.
    const wakeMs = Math.max(lastRequest + IDLE_MS, ledgerExpiry(ledger, input.budgets)) - Date.now();
    if (await condition(historyFull, Math.max(1_000, wakeMs))) break;
    if (mayEndIdle(ledger, input.budgets, Date.now(), lastRequest, IDLE_MS)) return; // the next request starts a fresh pacer
  }
  // The update handler is synchronous: nothing is left half-done when we roll over.
  pruneLedger(ledger, input.budgets, Date.now());
  await continueAsNew<typeof harvestPacer>({ budgets: input.budgets, ...(input.horizonMs !== undefined ? { horizonMs: input.horizonMs } : {}), ledger });
}
