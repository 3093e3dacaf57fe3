// The plan of a dated listing (docs/listings.md): time entries, expenses, invoices and
// estimates take `from`/`to` on their date, and Harvest sorts them by it, newest first.
//
// - Snapshot windows: a window that fits one page is one answer, one snapshot: no edit
//   elsewhere can hide a record of it. A window that holds more is read on from the oldest
//   day of its first page (that page holds every record dated after it).
// - Paged windows: where records are dense (a page spans few days) reading on from a page's
//   oldest day re-reads much of that day, so the rest is cut into windows of several pages
//   read page after page, and checked: a window whose total changed between its pages, or
//   whose dates an edit touched while it was read (the next round stores every record
//   updated meanwhile, with its dates before and after), is read again.
// - Rounds: once a round's windows are read, the next lists what was updated since the
//   round began, so a record whose date moved into a window already read still lands.
//
// Pure and deterministic: the workflow's dated reader drives it; tests drive it against
// simulated Harvest lists.
import { addDays, daysBetween } from './dates';
import { PAGED_WINDOW_PAGES, PAGED_WINDOWS_AHEAD, PIECE_PAGES, RECUT_PAGES, SNAPSHOT_DAYS } from './tuning';
import type { DatedState, DateRange, DateWindow, PageDates, PageResult, PagedWindow } from './types';

/** One request of the plan: a snapshot window, or a page of a paged window. */
export type DatedAsk = { snapshot: DateWindow } | { paged: number; page: number };

type Answer = Pick<PageResult, 'rows' | 'totalPages' | 'totalEntries' | 'dates'>;

/** Round 0: the listing's own range (or every date), and ranges to read in full beside it. */
export function firstRound(range: DateRange | undefined, reread: readonly DateRange[] | undefined, since: string | null, now: string): DatedState {
  const queue: DateWindow[] = [range ? { ...range } : {}];
  for (const r of reread ?? []) queue.push({ ...r, since: null });
  return { queue, paged: [], read: [], toCheck: [], nextPaged: 1, round: 0, since, roundStartedAt: now, answers: 0, pageSize: 0 };
}

/**
 * The next round lists what was updated since `since` (the caller: when this round began,
 * less the cursor's margin): every record an edit moved meanwhile is among them. The paged
 * windows read in this round are checked once that listing is stored.
 */
export function nextRound(state: DatedState, range: DateRange | undefined, since: string, now: string): void {
  Object.assign(state, {
    queue: [range ? { ...range } : {}],
    toCheck: state.read,
    read: [],
    round: state.round + 1,
    since,
    roundStartedAt: now,
    answers: 0,
  });
}

/** Whether this round settles the listing: one snapshot answered it, and no paged window waits for its check. */
export const settled = (state: DatedState): boolean => state.answers <= 1 && state.read.length === 0 && state.toCheck.length === 0;

/**
 * The next request: the next page of a paged window whose pages so far have answered
 * (each is read in order, which the check relies on), then new paged windows, then
 * snapshot windows.
 */
export function nextAsk(state: DatedState, free: number, now: string): DatedAsk | undefined {
  for (const p of state.paged) {
    const idle = p.answered === p.nextPage - 1;
    if (p.nextPage === 1) {
      p.readAt = now;
      return { paged: p.id, page: p.nextPage++ };
    }
    if (idle && !p.shifted && p.nextPage <= (p.totalPages ?? 0)) return { paged: p.id, page: p.nextPage++ };
  }
  const snapshot = takeWindow(state, free);
  return snapshot ? { snapshot } : undefined;
}

/** The next snapshot window; while lanes would idle, the window known to hold the most is cut first. */
export function takeWindow(state: DatedState, free: number): DateWindow | undefined {
  if (state.queue.length === 0) return undefined;
  if (free > state.queue.length && state.pageSize > 0) {
    let widest = 0;
    for (let i = 1; i < state.queue.length; i++) if ((state.queue[i].count ?? 0) > (state.queue[widest].count ?? 0)) widest = i;
    const w = state.queue[widest];
    state.queue.splice(widest, 1, ...cut(w, Math.min(free - state.queue.length + 1, Math.floor((w.count ?? 0) / (PIECE_PAGES * state.pageSize)))));
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
    pieces.push({ from, to, count: Math.ceil(w.count / n), perDay: w.perDay, ...inherit(w) });
    to = addDays(from, -1);
  }
  pieces.push({ ...startOf(w), to, count: Math.ceil(w.count / n), perDay: w.perDay, ...inherit(w) });
  return pieces;
}

/** What a window passes on to the windows cut from it: its own lower bound, and whether it is read as snapshots only. */
const inherit = (w: DateWindow): Pick<DateWindow, 'since' | 'chain'> => ({ ...(w.since !== undefined ? { since: w.since } : {}), ...(w.chain ? { chain: true } : {}) });
const startOf = (w: { from?: string }): { from?: string } => (w.from !== undefined ? { from: w.from } : {});

/** Harvest's from/to of a window (undefined: every date). */
export const rangeOf = (w: { from?: string; to?: string }): DateRange | undefined =>
  w.from === undefined && w.to === undefined ? undefined : { ...startOf(w), ...(w.to !== undefined ? { to: w.to } : {}) };

/** A snapshot window's answer: what it leaves unread joins the plan. */
export function recordSnapshot(state: DatedState, w: DateWindow, page: Answer): void {
  state.answers++;
  if (page.totalPages === undefined || page.totalPages <= 1) return;
  state.pageSize = Math.max(state.pageSize, page.rows);
  const d = page.dates;
  const newest = w.to ?? d?.newest;
  if (!d || !d.ordered || newest === undefined) {
    // Nothing can be concluded from the page (no dates, or not in Harvest's order): read the
    // window by its pages, checked like every paged window.
    addPaged(state, w);
    return;
  }
  if (d.oldest === newest) {
    // A whole page of one day: the day holds more than a page and is read by its pages. A
    // second such day in a row: the records are that dense, and the rest is paged too.
    if (w.crowded && !w.chain) return pageDense(state, { ...w, to: newest, count: page.totalEntries ?? page.rows, perDay: page.rows });
    addPaged(state, { from: d.oldest, to: d.oldest, ...inherit(w) });
    if (w.from !== d.oldest) state.queue.push({ ...startOf(w), to: addDays(d.oldest, -1), crowded: true, ...inherit(w) });
    return;
  }
  // Every record dated after `oldest` is on this page: the rest ends on that day.
  const perDay = d.newerThanOldest / Math.max(1, daysBetween(d.oldest, newest));
  const rest: DateWindow = { ...startOf(w), to: d.oldest, count: Math.max(1, (page.totalEntries ?? 0) - d.newerThanOldest), perDay, ...inherit(w) };
  // Dense records (a day holds a good part of a page): reading on from the page's oldest
  // day would re-read much of it.
  if (!w.chain && perDay * SNAPSHOT_DAYS >= state.pageSize) pageDense(state, rest);
  else state.queue.push(rest);
}

/**
 * A dense window: paged windows of about PAGED_WINDOW_PAGES pages each, newest first, for
 * at most PAGED_WINDOWS_AHEAD of them; what is older stays a snapshot window, whose first
 * page tells its own density (old years are often sparse).
 */
function pageDense(state: DatedState, w: DateWindow): void {
  const span = Math.max(1, Math.floor((PAGED_WINDOW_PAGES * state.pageSize) / Math.max(w.perDay ?? 1, 1e-9)));
  const pieces = Math.min(PAGED_WINDOWS_AHEAD, Math.ceil((w.count ?? 0) / (PAGED_WINDOW_PAGES * state.pageSize)));
  let to = w.to!;
  for (let i = 0; i < pieces; i++) {
    const from = addDays(to, -span + 1);
    if (w.from !== undefined && from <= w.from) {
      addPaged(state, { ...w, from: w.from, to });
      return;
    }
    addPaged(state, { from, to, ...inherit(w) });
    to = addDays(from, -1);
  }
  state.queue.push({ ...startOf(w), to, ...inherit(w) });
}

function addPaged(state: DatedState, w: DateWindow): void {
  const since = w.since !== undefined ? w.since : state.since;
  state.paged.push({ id: state.nextPaged++, ...startOf(w), ...(w.to !== undefined ? { to: w.to } : {}), since, nextPage: 1, answered: 0, shifted: false, readAt: '' });
}

/** A page of paged window `id` arrived. */
export function recordPaged(state: DatedState, id: number, page: number, answer: Answer): void {
  const p = state.paged.find((x) => x.id === id)!;
  p.answered++;
  if (page === 1) {
    p.totalPages = Math.max(1, answer.totalPages ?? 1);
    p.total = answer.totalEntries;
    if (recut(state, p)) return;
  } else if (answer.totalEntries !== p.total) p.shifted = true;
  // Done once every page it started has answered: a shifted window starts no more pages.
  const started = p.nextPage - 1;
  if (p.answered === started && (p.shifted || started >= (p.totalPages ?? 1))) {
    state.paged.splice(state.paged.indexOf(p), 1);
    state.read.push({ ...p });
    if (p.shifted) state.shifted = (state.shifted ?? 0) + 1;
  }
}

/**
 * A paged window sized by a guess of the records per day (a page's edge days are partial)
 * that holds far more pages than planned would keep one lane busy long after the others
 * ran out of work. Its first page told its count: it gives way to pieces cut by that count
 * (they cover exactly its dates; the page read is not relied upon), each read and checked
 * like any paged window.
 */
function recut(state: DatedState, p: PagedWindow): boolean {
  const pieces = Math.ceil((p.totalPages ?? 1) / PAGED_WINDOW_PAGES);
  if (p.from === undefined || p.to === undefined || pieces < 2 || (p.totalPages ?? 1) <= RECUT_PAGES * PAGED_WINDOW_PAGES) return false;
  const days = daysBetween(p.from, p.to) + 1;
  const parts = cut({ from: p.from, to: p.to, count: p.total ?? 0, perDay: (p.total ?? 0) / days, since: p.since }, Math.min(pieces, days));
  if (parts.length < 2) return false;
  state.paged.splice(state.paged.indexOf(p), 1);
  for (const w of parts) addPaged(state, w);
  return true;
}

/**
 * After the check: the paged windows an edit disturbed (or whose total changed) are read
 * again in this round, as snapshot windows this time (edits cannot disturb a snapshot);
 * the others are done.
 */
export function recheck(state: DatedState, disturbed: readonly number[]): void {
  for (const p of state.toCheck) if (p.shifted || disturbed.includes(p.id)) state.queue.push({ ...rangeOf(p), since: p.since, chain: true });
  state.toCheck = [];
}

/** The paged windows waiting for their check, as the store's check takes them. */
export const checkRequest = (state: DatedState, marginMs: number): Array<{ id: number; from?: string; to?: string; since: string }> =>
  state.toCheck.filter((p) => !p.shifted).map((p) => ({ id: p.id, ...rangeOf(p), since: new Date(Date.parse(p.readAt) - marginMs).toISOString() }));

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

export type { PagedWindow };
