// Harvest's budgets as what they are: windows per token. A ledger of the slots granted
// recently, per budget. Pure and deterministic: the pacer workflow keeps it in its state.

import type { Budget, BudgetName } from '../config/budgets';

export { HARVEST_BUDGETS, type Budget, type BudgetName } from '../config/budgets';

/**
 * Only a slot that starts within this long is granted (booked); a later one is answered
 * "not before T" and booked by nobody. A request waits for its slot inside its activity at
 * most this long, so an activity that times out or is cancelled wastes at most a near slot;
 * longer waits are durable timers in the workflow. Far below the page activities' timeouts
 * and their heartbeat timeout.
 */
export const GRANT_HORIZON_MS = 5_000;

export interface LedgerState {
  /** Per budget: start times (ms epoch) of the slots granted in the last window (and later), ascending. */
  granted: Partial<Record<BudgetName, number[]>>;
  /** Per budget: no slot before this time (Harvest answered 429 with Retry-After). */
  notBefore: Partial<Record<BudgetName, number>>;
}

export function emptyLedger(): LedgerState {
  return { granted: {}, notBefore: {} };
}

/**
 * When the next slot of `name` could start, at `nowMs` or later. Slots are granted in time
 * order, so the slot `limit` places back bounds the window: a new slot lies at least a
 * window (plus margin) after it, and no window ever holds more than `limit` slots. A fresh
 * window is spent at once; then the window's pace holds.
 */
function nextSlot(times: readonly number[], notBefore: number | undefined, budget: Budget, nowMs: number): number {
  let at = Math.max(nowMs, notBefore ?? 0);
  if (times.length > 0) at = Math.max(at, times[times.length - 1]);
  if (times.length >= budget.limit) at = Math.max(at, times[times.length - budget.limit] + budget.windowMs + budget.marginMs);
  return at;
}

function book(times: number[], at: number): void {
  times.push(at);
}

/** Slots that left their window (and margin) before `nowMs` bound no slot from then on. */
function forgetOld(times: number[], budget: Budget, nowMs: number): void {
  let old = 0;
  while (old < times.length && times[old] <= nowMs - budget.windowMs - budget.marginMs) old++;
  if (old > 0) times.splice(0, old);
}

/** Grants (books) the next slot of `name` whenever it starts; returns its time. */
export function grantSlot(state: LedgerState, budgets: Record<BudgetName, Budget>, name: BudgetName, nowMs: number): number {
  const times = (state.granted[name] ??= []);
  const at = nextSlot(times, state.notBefore[name], budgets[name], nowMs);
  book(times, at);
  return at;
}

export interface SlotPlan {
  /** Start times of the slots granted (booked), at most `horizonMs` after now, in order. */
  granted: number[];
  /**
   * For each request left without a slot: the earliest time it may ask again (when the
   * slot it would have got starts, were nothing else granted meanwhile). Not booked.
   */
  later: number[];
}

/**
 * `n` requests of `name` at `nowMs`: those whose slot starts within `horizonMs` get it
 * (booked); the others are told when to ask again, and nothing is booked for them, so a
 * request that never comes back leaves the queue as it was.
 */
export function planSlots(state: LedgerState, budgets: Record<BudgetName, Budget>, name: BudgetName, nowMs: number, n: number, horizonMs: number): SlotPlan {
  const budget = budgets[name];
  const times = (state.granted[name] ??= []);
  forgetOld(times, budget, nowMs);
  const plan: SlotPlan = { granted: [], later: [] };
  let i = 0;
  for (; i < n; i++) {
    const at = nextSlot(times, state.notBefore[name], budget, nowMs);
    if (at - nowMs > horizonMs) break;
    book(times, at);
    plan.granted.push(at);
  }
  // The rest, each at the slot it would get behind the others (on a copy): they come back
  // spread over the slots that free up, not all at the first one.
  const shadow = times.slice();
  for (; i < n; i++) {
    const at = nextSlot(shadow, state.notBefore[name], budget, nowMs);
    book(shadow, at);
    plan.later.push(at);
  }
  return plan;
}

/**
 * Gives back slots granted but never used: their grant or their timer came too late for
 * the request to be sent within the margin, so it was not sent and asks again. Without
 * this, a loaded worker (slow answers, late timers) would spend the window on nothing.
 * Removing slots keeps every window within its limit: the slots granted after them were
 * placed with them counted, which is only conservative.
 */
export function releaseSlots(state: LedgerState, name: BudgetName, times: readonly number[]): void {
  const list = state.granted[name];
  if (!list) return;
  for (const t of times) {
    const i = list.lastIndexOf(t);
    if (i >= 0) list.splice(i, 1);
  }
}

/**
 * Harvest said 429, wait `retryAfterMs`: someone else spends this token too (or the
 * ledger started after requests it did not grant). No slot before then.
 */
export function holdUntil(state: LedgerState, name: BudgetName, untilMs: number): void {
  state.notBefore[name] = Math.max(state.notBefore[name] ?? 0, untilMs);
}

/** Forgets what can no longer matter: slots older than a window, holds that passed. */
export function pruneLedger(state: LedgerState, budgets: Record<BudgetName, Budget>, nowMs: number): void {
  for (const name of Object.keys(state.granted) as BudgetName[]) {
    const b = budgets[name];
    state.granted[name] = state.granted[name]!.filter((t) => t > nowMs - b.windowMs - b.marginMs);
  }
  for (const name of Object.keys(state.notBefore) as BudgetName[]) {
    if (state.notBefore[name]! <= nowMs) delete state.notBefore[name];
  }
}

/**
 * From when on the ledger holds nothing that matters (0: already): the last slot granted
 * has left its window, and no hold lasts. Until then a fresh ledger could grant a window
 * that overlaps slots already spent.
 */
export function ledgerExpiry(state: LedgerState, budgets: Record<BudgetName, Budget>): number {
  let until = 0;
  for (const name of Object.keys(state.granted) as BudgetName[]) {
    const times = state.granted[name]!;
    const b = budgets[name];
    if (times.length > 0) until = Math.max(until, times[times.length - 1] + b.windowMs + b.marginMs);
  }
  for (const name of Object.keys(state.notBefore) as BudgetName[]) until = Math.max(until, state.notBefore[name]!);
  return until;
}

/**
 * Whether a pacer may end (and a later request start a fresh, empty one): no request for
 * `idleMs`, and its ledger holds nothing that matters any more.
 */
export function mayEndIdle(state: LedgerState, budgets: Record<BudgetName, Budget>, nowMs: number, lastRequestMs: number, idleMs: number): boolean {
  return nowMs - lastRequestMs >= idleMs && nowMs >= ledgerExpiry(state, budgets);
}
