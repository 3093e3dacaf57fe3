// Report windows: Harvest's reports take `from`/`to` and refuse ranges over 365 days.
// Windows are 365 days long (364 days between from and to, so no reading of Harvest's
// rule can refuse them), laid end to end from a fixed anchor so that the same dates
// always fall into the same window: the window is part of a report row's key.
// Pure: the workflows and the activities both use it.

export interface ReportWindow {
  /** First day, YYYY-MM-DD. */
  from: string;
  /** Last day, YYYY-MM-DD (inclusive). */
  to: string;
}

const DAY_MS = 86_400_000;
export const WINDOW_DAYS = 365;
const ANCHOR_MS = Date.UTC(2000, 0, 1);

const day = (iso: string): number => Math.floor((Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) - ANCHOR_MS) / DAY_MS);
const iso = (dayNumber: number): string => new Date(ANCHOR_MS + dayNumber * DAY_MS).toISOString().slice(0, 10);

/** The window holding a date. */
export function windowOf(date: string): ReportWindow {
  const start = Math.floor(day(date) / WINDOW_DAYS) * WINDOW_DAYS;
  return { from: iso(start), to: iso(start + WINDOW_DAYS - 1) };
}

/** Every window from the one holding `first` to the one holding `last`, oldest first. */
export function windowsBetween(first: string, last: string): ReportWindow[] {
  const out: ReportWindow[] = [];
  for (let w = windowOf(first); w.from <= last; w = windowOf(iso(day(w.to) + 1))) out.push(w);
  return out;
}

/** The distinct windows holding any of `dates`, oldest first. */
export function windowsHolding(dates: readonly string[]): ReportWindow[] {
  const byFrom = new Map(dates.map((d) => windowOf(d)).map((w) => [w.from, w]));
  return [...byFrom.values()].sort((a, b) => a.from.localeCompare(b.from));
}

/** Task queue of report pages: its own rate limit keeps to the reports API's budget. */
export function reportsTaskQueue(taskQueue: string): string {
  return `${taskQueue}-reports`;
}

