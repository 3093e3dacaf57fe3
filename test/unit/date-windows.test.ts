// The plan of dated listings (src/sync/date-windows.ts) against simulated Harvest lists:
// each request is answered as Harvest would at the moment it is served (filtered by
// from/to and updated_since, newest date first, one page), answers come back in random
// order with several in flight, and a seeded stream of edits (creates, deletes, date moves
// anywhere, several per request) runs between requests. Invariant: every record that
// exists throughout the listing is served by some answer. Without edits, the requests
// stay close to one per page of records.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addDays } from '../../src/core/dates';
import { CATCH_UP_MARGIN_MS } from '../../src/core/tuning';
import { checkRequest, datesOf, firstRound, nextAsk, nextRound, rangeOf, recheck, recordPaged, recordSnapshot, settled, type DatedAsk } from '../../src/core/date-windows';
import type { DateRange, PageResult } from '../../src/core/types';

interface Rec {
  id: number;
  spent_date: string;
  updatedAt: number;
}

/** mulberry32: small, seeded, good enough to place edits. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST_DAY = '2006-01-02';
const LAST_DAY = '2026-12-06';
const SPAN = 7643; // days from FIRST_DAY to LAST_DAY
const MARGIN_MS = CATCH_UP_MARGIN_MS;

type Shape = 'uniform' | 'growing' | 'crowded' | 'recent' | 'dense';

function account(random: () => number, n: number, shape: Shape, t0: number): Rec[] {
  const recs: Rec[] = [];
  for (let i = 0; i < n; i++) {
    let day: number;
    if (shape === 'uniform') day = Math.floor(random() * SPAN);
    else if (shape === 'growing') day = Math.floor(Math.sqrt(random()) * SPAN); // density grows with time
    else if (shape === 'recent') day = SPAN - 1 - Math.floor(random() * 400);
    else if (shape === 'dense') day = SPAN - 1 - Math.floor(random() * 60); // a page spans a couple of days
    else day = random() < 0.3 ? SPAN - 10 : Math.floor(random() * SPAN); // one day with far more than a page
    recs.push({ id: i + 1, spent_date: addDays(FIRST_DAY, day), updatedAt: t0 - 86_400_000 - Math.floor(random() * 1e9) });
  }
  return recs;
}

interface SimOptions {
  seed: number;
  n: number;
  shape: Shape;
  perPage: number;
  lanes: number;
  /** Most edits before each request (0: a quiet account). */
  edits: number;
  range?: DateRange;
  /** Incremental: updated_since of round 0 is this long before the listing starts. */
  sinceAgoMs?: number;
}

interface SimResult {
  requests: number;
  pages: number;
  existedThroughout: number;
  /** Records that existed throughout, never served, and outside the windows reported unverified. */
  missing: number[];
  edits: { creates: number; deletes: number; moves: number };
  /** Paged windows read in the last round allowed, never checked (reported as a warning). */
  unverified: number;
}

/** Drives the plan as the workflow's reader does, against a list that changes as it is read. */
function simulate(o: SimOptions): SimResult {
  const random = rng(o.seed);
  let clock = 1_800_000_000_000;
  const recs = new Map<number, Rec>(account(random, o.n, o.shape, clock).map((r) => [r.id, r]));
  let nextId = o.n + 1;
  const startIds = new Set(recs.keys());
  const startDates = new Map([...recs.values()].map((r) => [r.id, r.spent_date]));
  const deleted = new Set<number>();
  const served = new Set<number>();
  // What the store would hold: every version served (date, updated_at, created_at).
  const stored = new Map<number, Array<{ date: string; updated: number; created: number }>>();
  const created = new Map<number, number>();
  const edits = { creates: 0, deletes: 0, moves: 0 };
  let requests = 0;
  const since0 = o.sinceAgoMs !== undefined ? new Date(clock - o.sinceAgoMs).toISOString() : null;
  // An incremental listing must land what changed since its lower bound: touch some records.
  if (since0 !== null) for (const r of recs.values()) if (random() < 0.3) r.updatedAt = clock - Math.floor(random() * o.sinceAgoMs!);
  for (const r of recs.values()) created.set(r.id, r.updatedAt - 1000);
  const scope = (r: Rec): boolean => !o.range || ((o.range.from === undefined || r.spent_date >= o.range.from) && (o.range.to === undefined || r.spent_date <= o.range.to));
  const mustLand = [...recs.values()].filter((r) => scope(r) && (since0 === null || r.updatedAt >= Date.parse(since0))).map((r) => r.id);

  const randomDay = (): string => addDays(FIRST_DAY, Math.floor(random() * (SPAN + 30))); // some in the future
  const pick = (): Rec | undefined => {
    const ids = [...recs.keys()];
    return ids.length ? recs.get(ids[Math.floor(random() * ids.length)]) : undefined;
  };
  let sorted: Rec[] | undefined;
  const edit = (): void => {
    const k = o.edits === 0 ? 0 : 1 + Math.floor(random() * o.edits);
    if (k > 0) sorted = undefined;
    for (let i = 0; i < k; i++) {
      const kind = random();
      if (kind < 0.3) {
        const day = o.shape === 'dense' ? addDays(LAST_DAY, -Math.floor(random() * 70)) : random() < 0.5 ? FIRST_DAY : randomDay();
        recs.set(nextId, { id: nextId, spent_date: day, updatedAt: clock });
        created.set(nextId++, clock);
        edits.creates++;
      } else if (kind < 0.55) {
        const r = pick();
        if (r) {
          recs.delete(r.id);
          deleted.add(r.id);
          edits.deletes++;
        }
      } else {
        const r = pick();
        if (r) {
          // Newest to oldest, oldest to newest, or anywhere.
          const to = random();
          r.spent_date = o.shape === 'dense' ? addDays(LAST_DAY, -Math.floor(random() * 70)) : to < 0.33 ? FIRST_DAY : to < 0.66 ? LAST_DAY : randomDay();
          r.updatedAt = clock;
          edits.moves++;
        }
      }
    }
  };
  /** One request, answered from the list as it is now. */
  const serve = (range: DateRange | undefined, since: string | null, page = 1): Pick<PageResult, 'rows' | 'totalPages' | 'totalEntries' | 'dates'> => {
    edit();
    requests++;
    clock += 700;
    const sinceMs = since === null ? -Infinity : Date.parse(since);
    sorted ??= [...recs.values()].sort((a, b) => (a.spent_date === b.spent_date ? b.id - a.id : a.spent_date < b.spent_date ? 1 : -1));
    // Newest first: the range is one slice (found by halving), then updated_since filters it.
    const first = (ok: (r: Rec) => boolean): number => {
      let lo = 0;
      let hi = sorted!.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ok(sorted![mid])) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    };
    const start = range?.to ? first((r) => r.spent_date <= range.to!) : 0;
    const end = range?.from ? first((r) => r.spent_date < range.from!) : sorted.length;
    const slice = sorted.slice(start, end);
    const list = since === null ? slice : slice.filter((r) => r.updatedAt >= sinceMs);
    const items = list.slice((page - 1) * o.perPage, page * o.perPage);
    for (const r of items) {
      served.add(r.id);
      let versions = stored.get(r.id);
      if (!versions) stored.set(r.id, (versions = []));
      versions.push({ date: r.spent_date, updated: r.updatedAt, created: created.get(r.id)! });
    }
    const totalPages = Math.max(1, Math.ceil(list.length / o.perPage));
    return { rows: items.length, totalPages, totalEntries: list.length, ...datesOf(items as unknown as Array<Record<string, unknown>>, 'spent_date') };
  };
  /** The store's check (src/clickhouse/store.ts disturbedWindows), on the versions served. */
  const disturbed = (windows: ReturnType<typeof checkRequest>): number[] =>
    windows.filter((w) => {
      const since = Date.parse(w.since);
      const inWindow = (date: string): boolean => (w.from === undefined || date >= w.from) && (w.to === undefined || date <= w.to);
      for (const list of stored.values()) {
        if (!list.some((v) => v.updated >= since)) continue;
        if (list.some((v) => inWindow(v.date))) return true;
      }
      return false;
    }).map((w) => w.id);

  const now = (): string => new Date(clock).toISOString();
  const state = firstRound(o.range, undefined, since0, now());
  for (;;) {
    for (;;) {
      const inFlight: Array<{ ask: DatedAsk; answer: ReturnType<typeof serve> }> = [];
      for (;;) {
        while (inFlight.length < o.lanes) {
          const ask = nextAsk(state, o.lanes - inFlight.length, now());
          if (!ask) break;
          if ('snapshot' in ask) inFlight.push({ ask, answer: serve(rangeOf(ask.snapshot), ask.snapshot.since !== undefined ? ask.snapshot.since : state.since) });
          else {
            const p = state.paged.find((x) => x.id === ask.paged)!;
            inFlight.push({ ask, answer: serve(rangeOf(p), p.since, ask.page) });
          }
        }
        if (inFlight.length === 0) break;
        const [done] = inFlight.splice(Math.floor(random() * inFlight.length), 1);
        if ('snapshot' in done.ask) recordSnapshot(state, done.ask.snapshot, done.answer);
        else recordPaged(state, done.ask.paged, done.ask.page, done.answer);
      }
      if (state.toCheck.length === 0) break;
      recheck(state, disturbed(checkRequest(state, MARGIN_MS)));
    }
    if (settled(state) || state.round >= 3) break;
    const since = Math.max(Date.parse(state.roundStartedAt) - MARGIN_MS, since0 === null ? -Infinity : Date.parse(since0));
    nextRound(state, o.range, new Date(since).toISOString(), now());
  }
  // A record that left a backfill's range meanwhile is no longer the backfill's.
  const existed = mustLand.filter((id) => startIds.has(id) && !deleted.has(id) && scope(recs.get(id)!));
  const missing = existed.filter((id) => !served.has(id));
  // A day that holds more than a page can only be read by page number: if edits never let
  // it be, its window is reported unverified, and what is missing must have lain there.
  const within = (p: { from?: string; to?: string }, date: string): boolean => (p.from === undefined || date >= p.from) && (p.to === undefined || date <= p.to);
  const unverified = (id: number): boolean => state.read.some((p) => within(p, recs.get(id)!.spent_date) || within(p, startDates.get(id)!));
  return { requests, pages: Math.ceil(mustLand.length / o.perPage), existedThroughout: existed.length, missing: missing.filter((id) => !unverified(id)), edits, unverified: state.read.length };
}

describe('date windows (simulated Harvest lists)', () => {
  it('every record that exists throughout lands, whatever the edits (20 seeds × 5 shapes, full, incremental, backfill)', () => {
    let checked = 0;
    let moves = 0;
    let unverified = 0;
    for (let seed = 1; seed <= 20; seed++) {
      for (const shape of ['uniform', 'growing', 'recent', 'crowded', 'dense'] as const) {
        const variants: Array<Partial<SimOptions>> = [{}, { sinceAgoMs: 3 * 86_400_000 }, { range: { from: '2012-03-04', to: '2019-11-30' } }];
        for (const v of variants) {
          const r = simulate({ seed, n: 3000, shape, perPage: 100, lanes: 1 + (seed % 12), edits: 1 + (seed % 4), ...v });
          assert.deepEqual(r.missing, [], `seed ${seed} ${shape} ${JSON.stringify(v)}: ${r.missing.length} of ${r.existedThroughout} missing, ${r.unverified} window(s) unverified`);
          assert.ok(r.edits.creates + r.edits.moves + r.edits.deletes > 0, 'the stream edited');
          checked += r.existedThroughout;
          unverified += r.unverified;
          if (shape !== 'crowded') assert.equal(r.unverified, 0, `seed ${seed} ${shape}: only a day holding more than a page is read by page number to the end`);
          moves += r.edits.moves;
        }
      }
    }
    assert.ok(checked > 150_000 && moves > 5_000, `checked ${checked} records, ${moves} date moves`);
    process.stdout.write(`# ${checked} records checked, ${moves} date moves, ${unverified} crowded-day window(s) left unverified\n`);
  });

  // Each piece a window is cut into ends on a part page (half a request on average), so the
  // lanes, not the account's size, bound what the windows cost over one request per page.
  it('a quiet account costs one request per page, plus about half a request per lane', () => {
    for (const shape of ['uniform', 'growing', 'recent', 'dense'] as const) {
      for (const [n, lanes] of [[20_000, 24], [100_000, 8], [100_000, 24]] as const) {
        const r = simulate({ seed: 7, n, shape, perPage: 2000, lanes, edits: 0 });
        assert.deepEqual(r.missing, []);
        process.stdout.write(`# ${shape} ${n} entries, ${lanes} lanes: ${r.requests} requests for ${r.pages} pages (${(r.requests / r.pages).toFixed(2)}x)\n`);
        assert.ok(r.requests <= Math.ceil(r.pages * 1.05 + lanes * 0.75 + 1), `${shape} ${n}: ${r.requests} requests for ${r.pages} pages`);
      }
    }
  });
});
