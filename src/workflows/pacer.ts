// The pacer: one long-lived workflow per Harvest token (its id is derived from a hash of
// the token, never the token) that grants request slots through an Update. Every worker
// in every process that uses the token asks the same workflow, so together they stay
// inside Harvest's windows; its ledger lives in workflow state, so it survives worker
// restarts. See docs/pacing.md.
import { condition, continueAsNew, defineUpdate, setHandler, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { emptyLedger, grantSlot, holdUntil, pruneLedger, type Budget, type BudgetName, type LedgerState } from '../pacing/window';

export interface PacerInput {
  budgets: Record<BudgetName, Budget>;
  /** Carried over continue-as-new. */
  ledger?: LedgerState;
}

/** Slots wanted per budget (a worker asks for all its waiting requests at once). */
export interface SlotRequest {
  slots: Partial<Record<BudgetName, number>>;
  /** Harvest answered 429 with this Retry-After: hold the budget that long first. */
  hold?: { budget: BudgetName; retryAfterMs: number };
}

/** Per budget, how long (ms) each granted request waits before it is sent. */
export type SlotGrant = Partial<Record<BudgetName, number[]>>;

export const acquireSlotsUpdate = defineUpdate<SlotGrant, [SlotRequest]>('acquireSlots');
const BUDGETS: readonly BudgetName[] = ['general', 'reports'];

/** The reports window is the longest one: after that long without a request there is nothing to remember. */
const IDLE_MS = 16 * 60_000;
/** Each grant costs a few events; roll over long before Temporal's limits. */
const HISTORY_LIMIT = 4_000;

// Long-lived: it moves to each new build (its changes go behind registered patches, patches.ts).
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, harvestPacer);
export async function harvestPacer(input: PacerInput): Promise<void> {
  const ledger = input.ledger ?? emptyLedger();
  let handled = 0;
  setHandler(
    acquireSlotsUpdate,
    (req: SlotRequest): SlotGrant => {
      handled++;
      const now = Date.now();
      if (req.hold && req.hold.retryAfterMs > 0) holdUntil(ledger, req.hold.budget, now + req.hold.retryAfterMs);
      const grant: SlotGrant = {};
      for (const name of BUDGETS) {
        const n = req.slots[name] ?? 0;
        if (n > 0) grant[name] = Array.from({ length: n }, () => grantSlot(ledger, input.budgets, name, now) - now);
      }
      return grant;
    },
    {
      validator: (req: SlotRequest): void => {
        for (const [name, n] of Object.entries(req.slots ?? {})) {
          if (!BUDGETS.includes(name as BudgetName)) throw new Error(`unknown budget ${name}`);
          if (!Number.isInteger(n) || n < 0 || n > 1000) throw new Error(`bad slot count ${String(n)}`);
        }
        if (req.hold && !BUDGETS.includes(req.hold.budget)) throw new Error(`unknown budget ${String(req.hold.budget)}`);
      },
    },
  );
  const historyFull = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= HISTORY_LIMIT;
  for (;;) {
    const seen = handled;
    if (await condition(historyFull, IDLE_MS)) break;
    if (handled === seen) return; // idle: the next request starts a fresh pacer
  }
  // The update handler is synchronous: nothing is left half-done when we roll over.
  pruneLedger(ledger, input.budgets, Date.now());
  await continueAsNew<typeof harvestPacer>({ budgets: input.budgets, ledger });
}
