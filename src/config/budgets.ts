// Harvest's budgets per token (docs/pacing.md), the default of HARVEST_PACING_BUDGETS.

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
