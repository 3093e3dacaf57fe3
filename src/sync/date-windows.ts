// The plan of a dated listing read in date windows (docs/listings.md): which window to ask
// next, what an answer leaves to read, when a round is done. Pure and deterministic: the
// workflow's dated reader drives it, and tests drive it against simulated Harvest lists.
import { addDays, daysBetween } from './dates';
import { PIECE_PAGES } from './tuning';
import type { DatedState, DateRange, DateWindow, PageDates, PageResult } from './types';


/** Round 0: the listing's own range (or every date), and the ranges to read in full beside it. */
export function firstRound(range: DateRange | undefined, reread: readonly DateRange[] | undefined, since: string | null, now: string): DatedState {
  const queue: DateWindow[] = [range ? { ...range } : {}];
  for (const r of reread ?? []) queue.push({ ...r, all: true });
  return { queue, crowded: [], round: 0, since, roundStartedAt: now, answers: 0, pageSize: 0 };
}

/**
 * The next round lists what was updated since `since` (the caller: when the previous round
 * began, less the cursor's margin): every record an edit moved meanwhile is among them.
 */
export function nextRound(state: DatedState, range: DateRange | undefined, since: string, now: string): void {
  Object.assign(state, { queue: [range ? { ...range } : {}], round: state.round + 1, since, roundStartedAt: now, answers: 0 });
}

/** The next window to ask. While lanes would idle, the window known to hold the most is cut first. */
export function takeWindow(state: DatedState, free: number): DateWindow | undefined {
  if (state.queue.length === 0) return undefined;
  if (free > state.queue.length && state.pageSize > 0) {
    let widest = 0;
    for (let i = 1; i < state.queue.length; i++) if ((state.queue[i].count ?? 0) > (state.queue[widest].count ?? 0)) widest = i;
    const w = state.queue[widest];
    const pieces = cut(w, Math.min(free - state.queue.length + 1, Math.floor((w.count ?? 0) / (PIECE_PAGES * state.pageSize))));
    state.queue.splice(widest, 1, ...pieces);
  }
  return state.queue.shift();
}

/**
 * A window known to end on `to` cut into `n` pieces of about as many records, by the
 * records per day seen next to it. The oldest piece keeps the window's own start (open or
 * not), so the pieces cover exactly the window whatever the guess.
 */
export function cut(w: DateWindow, n: number): DateWindow[] {
  if (n < 2 || w.to === undefined || !w.count || !w.perDay) return [w];
  const span = w.from !== undefined ? daysBetween(w.from, w.to) + 1 : Math.ceil(w.count / w.perDay);
  const step = Math.floor(span / n);
  if (step < 1) return [w];
  const pieces: DateWindow[] = [];
  let to = w.to;
  for (let i = 1; i < n; i++) {
    const from = addDays(w.to, -step * i + 1);
    pieces.push(piece(w, from, to, n));
    to = addDays(from, -1);
  }
  pieces.push(piece(w, w.from, to, n));
  return pieces;
}

const piece = (w: DateWindow, from: string | undefined, to: string, n: number): DateWindow => ({
  ...(from !== undefined ? { from } : {}),
  to,
  count: Math.ceil(w.count! / n),
  perDay: w.perDay,
  ...(w.all ? { all: true } : {}),
});

/** Harvest's from/to of a window (undefined: every date). */
export const rangeOf = (w: DateWindow): DateRange | undefined =>
  w.from === undefined && w.to === undefined ? undefined : { ...(w.from !== undefined ? { from: w.from } : {}), ...(w.to !== undefined ? { to: w.to } : {}) };

/** The first page of window `w` arrived: what it leaves unread joins the queue (or the crowded days). */
export function recordAnswer(state: DatedState, w: DateWindow, page: Pick<PageResult, 'rows' | 'totalPages' | 'totalEntries' | 'dates'>): void {
  state.answers++;
  if (page.totalPages === undefined || page.totalPages <= 1) return;
  state.pageSize = Math.max(state.pageSize, page.rows);
  const { windows, crowded } = rest(w, page);
  state.queue.push(...windows);
  if (crowded) state.crowded.push(crowded);
}

/** What of window `w` its first page left unread: windows to ask, and a range read by its links. */
function rest(w: DateWindow, page: Pick<PageResult, 'totalEntries' | 'dates'>): { windows: DateWindow[]; crowded?: DateWindow } {
  const d = page.dates;
  // No dates to cut by: the window is read by its links, with the totals check.
  if (!d) return { windows: [], crowded: w };
  const all = w.all ? { all: true as const } : {};
  const from = w.from !== undefined ? { from: w.from } : {};
  const newest = w.to ?? d.newest;
  if (d.ordered && d.oldest < newest) {
    // Every record dated after `oldest` is on this page: the rest ends on that day.
    const perDay = d.newerThanOldest / Math.max(1, daysBetween(d.oldest, newest));
    return { windows: [{ ...from, to: d.oldest, count: Math.max(1, (page.totalEntries ?? 0) - d.newerThanOldest), perDay, ...all }] };
  }
  if (d.ordered) {
    // A whole page of the window's newest day: that day holds more than a page.
    const day = d.oldest;
    return { windows: w.from === day ? [] : [{ ...from, to: addDays(day, -1), ...all }], crowded: { from: day, to: day, ...all } };
  }
  // Not in Harvest's documented order: nothing can be concluded from the page, so the
  // window is halved by its dates and each half asked again.
  const mid = addDays(d.oldest, Math.max(1, Math.floor(daysBetween(d.oldest, d.newest) / 2)));
  return { windows: [{ ...from, to: addDays(mid, -1), ...all }, { from: mid, ...(w.to !== undefined ? { to: w.to } : {}), ...all }] };
}

/** The record dates of a dated list's page, as the workflow splits its date windows by them. */
export function datesOf(records: readonly Record<string, unknown>[], field: string): { dates?: PageDates } {
  let newest: string | undefined;
  let oldest: string | undefined;
  let ordered = true;
  let previous: string | undefined;
  for (const r of records) {
    const date = r[field];
    if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return {};
    if (previous !== undefined && date > previous) ordered = false;
    previous = date;
    if (newest === undefined || date > newest) newest = date;
    if (oldest === undefined || date < oldest) oldest = date;
  }
  if (newest === undefined || oldest === undefined) return {};
  let newerThanOldest = 0;
  for (const r of records) if ((r[field] as string) > oldest) newerThanOldest++;
  return { dates: { newest, oldest, newerThanOldest, ordered } };
}
