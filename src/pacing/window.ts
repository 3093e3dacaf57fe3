// Harvest's budgets as what they are: windows per token. A ledger of the slots granted
// recently, per budget. Pure and deterministic: the pacer workflow keeps it in its state.

export type BudgetName = 'general' | 'reports';

export interface Budget {
  /** Requests allowed in any window of `windowMs`. */
  limit: number;
  windowMs: number;
  /**
   * Added to every window: a request granted for time t reaches Harvest a little later
   * (the grant's round trip, the event loop, the network), and not every request by the
   * same delay. The margin absorbs that difference.
   */
  marginMs: number;
}

export const HARVEST_BUDGETS: Record<BudgetName, Budget> = {
  general: { limit: 100, windowMs: 15_000, marginMs: 1_000 },
  reports: { limit: 100, windowMs: 15 * 60_000, marginMs: 2_000 },
};

export interface LedgerState {
  /** Per budget: start times (ms epoch) of the last `limit` slots granted, ascending. */
  granted: Partial<Record<BudgetName, number[]>>;
  /** Per budget: no slot before this time (Harvest answered 429 with Retry-After). */
  notBefore: Partial<Record<BudgetName, number>>;
}

export function emptyLedger(): LedgerState {
  return { granted: {}, notBefore: {} };
}

/**
 * Grants the next slot of `name` at `nowMs` or later and records it; returns its time.
 * Slots are granted in time order, so the slot `limit` places back bounds the window:
 * a new slot lies at least a window (plus margin) after it, and no window ever holds
 * more than `limit` slots. A fresh window is spent at once; then the window's pace holds.
 */
export function grantSlot(state: LedgerState, budgets: Record<BudgetName, Budget>, name: BudgetName, nowMs: number): number {
  const budget = budgets[name];
  const times = (state.granted[name] ??= []);
  let at = Math.max(nowMs, state.notBefore[name] ?? 0);
  if (times.length > 0) at = Math.max(at, times[times.length - 1]);
  if (times.length >= budget.limit) at = Math.max(at, times[times.length - budget.limit] + budget.windowMs + budget.marginMs);
  times.push(at);
  if (times.length > budget.limit) times.splice(0, times.length - budget.limit);
  return at;
}

/**
 * Harvest said 429, wait `retryAfterMs`: someone else spends this token too (or the
 * ledger started after requests it did not grant). No slot before then, and the slots
 * granted meanwhile move behind it.
 */
export function holdUntil(state: LedgerState, name: BudgetName, untilMs: number): void {
  state.notBefore[name] = Math.max(state.notBefore[name] ?? 0, untilMs);
}

/** Forgets what can no longer matter: slots older than a window. */
export function pruneLedger(state: LedgerState, budgets: Record<BudgetName, Budget>, nowMs: number): void {
  for (const name of Object.keys(state.granted) as BudgetName[]) {
    const b = budgets[name];
    state.granted[name] = state.granted[name]!.filter((t) => t > nowMs - b.windowMs - b.marginMs);
  }
  for (const name of Object.keys(state.notBefore) as BudgetName[]) {
    if (state.notBefore[name]! <= nowMs) delete state.notBefore[name];
  }
}
