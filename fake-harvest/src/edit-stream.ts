/**
 * A seeded stream of random edits of the dated, page-numbered lists (time entries,
 * expenses, invoices, estimates), applied while a sync reads them, as people keep using
 * Harvest during a sync. Before each chosen request it makes 0..k edits through the
 * store's helpers (so `updated_at` moves as in Harvest): creates dated anywhere in the
 * history, deletes, date moves (to the oldest or newest day, across a page of the list,
 * across a year, onto or off the edges of the range being read) and plain updates. The
 * targets are drawn relative to the request being served (records on pages already
 * served, at page boundaries, inside its from/to range) so that listings that depend on
 * positions are hit where it hurts, whatever the reader's design.
 *
 * It records every edit, so an oracle can tell which records existed throughout a sync:
 * present before it began and not deleted until it ended (ids are never reused).
 */
import type { FakeHarvest, RequestInfo } from './server';
import { compileFilters, matchRoute, type ListRoute } from './routes';
import { Rng } from './rng';
import { sortedList } from './store';
import type { FakeAccountData, Rec } from './types';
import { DAY_MS, isoDate, parseDate } from './util';

/** The kinds the stream edits: Harvest's page-numbered lists of dated records. */
export const DATED_KINDS = ['timeEntries', 'expenses', 'invoices', 'estimates'] as const;
export type DatedKind = (typeof DATED_KINDS)[number];

/** List path → kind, and the field each kind is dated and sorted by. */
export const DATED_LIST_PATHS: Readonly<Record<string, DatedKind>> = {
  '/v2/time_entries': 'timeEntries',
  '/v2/expenses': 'expenses',
  '/v2/invoices': 'invoices',
  '/v2/estimates': 'estimates',
};
export const DATE_FIELD: Readonly<Record<DatedKind, 'spent_date' | 'issue_date'>> = {
  timeEntries: 'spent_date',
  expenses: 'spent_date',
  invoices: 'issue_date',
  estimates: 'issue_date',
};

export type EditType = 'create' | 'delete' | 'move' | 'update';

export interface EditStreamOptions {
  seed: number;
  /** The account edited; requests for other accounts are let through untouched (default: the server's first). */
  accountId?: number;
  /** Which requests may be preceded by edits: the dated list paths (default), or every list request ('all-lists'). */
  paths?: readonly string[] | 'all-lists';
  /** Only requests this accepts count (e.g. only those with updated_since). */
  match?: (req: RequestInfo) => boolean;
  /** Chance that a chosen request is preceded by edits (default 1: every one). */
  probability?: number;
  /** Fewest and most edits before one request, drawn uniformly (default 0..3). */
  minEdits?: number;
  maxEdits?: number;
  /** Relative weights of the edit types (default create 1, delete 1, move 1.5, update 0.5). */
  weights?: Partial<Record<EditType, number>>;
  /** Kinds a request of another path edits (default all four); a dated list edits its own kind. */
  kinds?: readonly DatedKind[];
  /** Deletes stop when a kind has this few records left (default 20). */
  keepAtLeast?: number;
}

export interface AppliedEdit {
  /** 1-based position in the stream's log. */
  seq: number;
  /** The request it preceded (RequestInfo.n), or 0 for editNow(). */
  request: number;
  path: string;
  /** The page and range asked by that request, as sent. */
  query: Record<string, string>;
  kind: DatedKind;
  type: EditType;
  id: number;
  /** How the record (delete, move, update) or the date (create, move) was chosen. */
  how: string;
  /** The record's date before and after (create: only `toDate`; delete: only `fromDate`). */
  fromDate?: string;
  toDate?: string;
  /**
   * The path had been requested since the last beginRun(): the edit fell between two
   * requests of one listing (or of one resource's listings), not before it started.
   */
  inListing: boolean;
}

export interface EditCounts {
  create: number;
  delete: number;
  move: number;
  update: number;
  total: number;
}

export interface EditStream {
  readonly seed: number;
  readonly accountId: number;
  /** Every edit so far, oldest first. */
  readonly edits: readonly AppliedEdit[];
  /** Chosen requests seen, and those that got at least one edit. */
  readonly requestsSeen: number;
  readonly requestsEdited: number;
  /** A position in the log: counts and sets can be taken from it on. */
  mark(): number;
  /**
   * Starts a run (a sync): returns mark(), forgets which paths were requested (see
   * AppliedEdit.inListing) and arms `require`: one edit of each of these types is added,
   * in order, before the next requests of a path already requested in this run, so the
   * run is sure to see them in the middle of a listing.
   */
  beginRun(require?: readonly EditType[]): number;
  /** The edits after `mark` (default: all). */
  since(mark?: number): AppliedEdit[];
  counts(mark?: number): EditCounts;
  /** Ids created, deleted, date-moved or updated (after `mark`). */
  ids(kind: DatedKind, type: EditType, mark?: number): Set<number>;
  /** Of `startIds` (present when the sync began, at `mark`), those the stream has not deleted since. */
  existedThroughout(kind: DatedKind, startIds: Iterable<number>, mark: number): Set<number>;
  /** Makes `count` edits now, outside any request (e.g. between two syncs). */
  editNow(count: number): AppliedEdit[];
  /** Stops editing (the log stays). */
  stop(): void;
  readonly stopped: boolean;
}

/** What a chosen request lists: its kind, the records it selects in API order, and the position it reads. */
interface Listing {
  req: RequestInfo | undefined;
  kind: DatedKind;
  /** Records of the kind the request selects (its filters), in API order; the whole list outside requests. */
  view: Rec[];
  /** Index in `view` of the first record of the requested page, and the page size. */
  offset: number;
  perPage: number;
  /** The request's from/to (YYYY-MM-DD), when it has them. */
  from?: string;
  to?: string;
}

const DEFAULT_WEIGHTS: Record<EditType, number> = { create: 1, delete: 1, move: 1.5, update: 0.5 };

export function startEditStream(fake: FakeHarvest, opts: EditStreamOptions): EditStream {
  const rng = new Rng(opts.seed);
  const accountId = opts.accountId ?? fake.accountId;
  const account = fake.account(accountId);
  const weights = { ...DEFAULT_WEIGHTS, ...opts.weights };
  const kinds = opts.kinds ?? DATED_KINDS;
  const minEdits = opts.minEdits ?? 0;
  const maxEdits = Math.max(minEdits, opts.maxEdits ?? 3);
  const probability = opts.probability ?? 1;
  const keepAtLeast = opts.keepAtLeast ?? 20;
  const log: AppliedEdit[] = [];
  let requestsSeen = 0;
  let requestsEdited = 0;
  let stopped = false;
  /** Paths requested since beginRun(), and the edit types still owed to this run. */
  let requestedPaths = new Set<string>();
  let armed: EditType[] = [];
  // Fresh ids above any id the kind ever had: the store's max+1 would reuse a deleted max id.
  const nextId = new Map<DatedKind, number>(DATED_KINDS.map((k) => [k, account.data[k].reduce((max, r) => Math.max(max, r.id), 0) + 1]));
  const bounds = historyBounds(account.data);

  const chosen = (req: RequestInfo): boolean => {
    if (stopped || req.method !== 'GET') return false;
    if ((req.accountId ?? fake.accountId) !== accountId) return false;
    if (opts.match && !opts.match(req)) return false;
    if (opts.paths === 'all-lists') {
      const m = matchRoute(req.path);
      return m !== undefined && m.route.type === 'list';
    }
    return (opts.paths ?? Object.keys(DATED_LIST_PATHS)).includes(req.path);
  };

  const unsubscribe = fake.onRequest((req) => {
    if (!chosen(req)) return;
    requestsSeen++;
    const inListing = requestedPaths.has(req.path);
    requestedPaths.add(req.path);
    const owed = inListing && armed.length > 0 ? [armed.shift()!] : [];
    const count = rng.chance(probability) ? rng.int(minEdits, maxEdits) : 0;
    if (count + owed.length > 0) requestsEdited++;
    for (const type of owed) editOnce(listingOf(req), inListing, type);
    for (let i = 0; i < count; i++) editOnce(listingOf(req), inListing);
  });

  function listingOf(req: RequestInfo | undefined): Listing {
    const own = req ? DATED_LIST_PATHS[req.path] : undefined;
    const kind = own ?? rng.pick(kinds);
    const all = sortedList(account.data, kind);
    if (!req || !own) return { req, kind, view: all, offset: 0, perPage: 2000 };
    const query = new URLSearchParams(req.query);
    const m = matchRoute(req.path);
    const filters = m && m.route.type === 'list' ? compileFilters((m.route as ListRoute).filters, query) : [];
    const view = Array.isArray(filters) && filters.length > 0 ? all.filter((r) => filters.every((p) => p(r))) : all;
    const perPage = Math.max(1, Number(query.get('per_page') ?? 2000) || 2000);
    const page = Math.max(1, Number(query.get('page') ?? 1) || 1);
    return { req, kind, view, offset: (page - 1) * perPage, perPage, from: dayOf(query.get('from')), to: dayOf(query.get('to')) };
  }

  function editOnce(l: Listing, inListing: boolean, wanted?: EditType): void {
    let type = wanted ?? pickWeighted(rng, weights);
    if (type !== 'create' && account.data[l.kind].length === 0) type = 'create';
    if (type === 'delete' && account.data[l.kind].length <= keepAtLeast) type = 'move';
    const field = DATE_FIELD[l.kind];
    const entry = (e: Omit<AppliedEdit, 'seq' | 'request' | 'path' | 'query' | 'kind' | 'type' | 'inListing'>): void => {
      log.push({ seq: log.length + 1, request: l.req?.n ?? 0, path: l.req?.path ?? '', query: l.req?.query ?? {}, kind: l.kind, type, inListing, ...e });
    };
    if (type === 'create') {
      const template = { ...rng.pick(account.data[l.kind]) } as Partial<Rec>;
      for (const f of ['id', 'created_at', 'updated_at', 'line_items']) delete template[f];
      const { date, how } = targetDate(l, String(template[field] ?? bounds[l.kind].newest));
      const id = nextId.get(l.kind)!;
      nextId.set(l.kind, id + 1);
      account.create(l.kind, { ...template, id, [field]: date, notes: `created by edit stream ${opts.seed}` });
      entry({ id, how, toDate: date });
      return;
    }
    const { rec, how: where } = pickRecord(l);
    const fromDate = String(rec[field]);
    if (type === 'delete') {
      account.remove(l.kind, rec.id);
      entry({ id: rec.id, how: where, fromDate });
    } else if (type === 'move') {
      const { date, how } = targetDate(l, fromDate);
      account.update(l.kind, rec.id, { [field]: date });
      entry({ id: rec.id, how: `${where} → ${how}`, fromDate, toDate: date });
    } else {
      account.update(l.kind, rec.id, { notes: `edited by edit stream ${opts.seed} (#${log.length + 1})` });
      entry({ id: rec.id, how: where, fromDate, toDate: fromDate });
    }
  }

  /** A record to delete, move or update, chosen where listings by position are fragile. */
  function pickRecord(l: Listing): { rec: Rec; how: string } {
    const all = sortedList(account.data, l.kind);
    const { view, offset, perPage } = l;
    // [how, weight, choice]: mostly records the request lists, where a change shifts what it serves.
    const options: Array<[string, number, () => Rec | undefined]> = [
      ['anywhere', 1, () => rng.pick(all)],
      ['in the listing', 2, () => (view.length ? rng.pick(view) : undefined)],
      // On a page this listing already served: a position reader skips a record after it.
      ['on a served page', 3, () => (offset > 0 ? view[rng.int(0, Math.min(offset, view.length) - 1)] : undefined)],
      ['at a page boundary', 2, () => {
        if (view.length === 0) return undefined;
        const edge = rng.chance(0.5) ? offset : offset + perPage;
        return view[clamp(edge + rng.int(-2, 1), 0, view.length - 1)];
      }],
      ['oldest or newest', 1, () => (rng.chance(0.5) ? all[0] : all[all.length - 1])],
    ];
    for (;;) {
      const [how, , choose] = pickOption(rng, options);
      const rec = choose();
      if (rec) return { rec, how };
    }
  }

  /** A new date for a create or a move from `current`: history's ends, a page away, a year away, the range's edges. */
  function targetDate(l: Listing, current: string): { date: string; how: string } {
    const { oldest, newest } = bounds[l.kind];
    const all = sortedList(account.data, l.kind);
    const field = DATE_FIELD[l.kind];
    const shift = (days: number): string => isoDate(clampMs(parseDate(current) + days * DAY_MS, parseDate(oldest), parseDate(newest)));
    const options: Array<[string, number, () => string | undefined]> = [
      ['the oldest day', 1, () => oldest],
      ['the newest day', 1, () => newest],
      ['any day', 1, () => isoDate(parseDate(oldest) + rng.int(0, Math.round((parseDate(newest) - parseDate(oldest)) / DAY_MS)) * DAY_MS)],
      // The date of the record a page further or nearer in the list: over a page boundary.
      ['a page away', 1, () => {
        const at = all.findIndex((r) => String(r[field]) <= current);
        const to = clamp((at < 0 ? all.length - 1 : at) + (rng.chance(0.5) ? 1 : -1) * l.perPage, 0, all.length - 1);
        return all.length ? String(all[to]![field]) : undefined;
      }],
      // At least 365 days on: into another 365-day window, however windows are laid.
      ['a year away', 1, () => shift((rng.chance(0.5) ? 1 : -1) * rng.int(365, 800))],
      ['a few days away', 1, () => shift(rng.int(-3, 3))],
      // Onto or just off the edges of the range the request reads.
      ['the edge of the range read', 2, () => {
        const edges = [l.from, l.to].filter((d): d is string => d !== undefined);
        if (edges.length === 0) return undefined;
        const edge = rng.pick(edges);
        return isoDate(clampMs(parseDate(edge) + rng.int(-1, 1) * DAY_MS, parseDate(oldest), parseDate(newest)));
      }],
    ];
    for (;;) {
      const [how, , choose] = pickOption(rng, options);
      const date = choose();
      if (date) return { date, how };
    }
  }

  const since = (mark = 0): AppliedEdit[] => log.slice(mark);
  return {
    seed: opts.seed,
    accountId,
    edits: log,
    get requestsSeen() {
      return requestsSeen;
    },
    get requestsEdited() {
      return requestsEdited;
    },
    get stopped() {
      return stopped;
    },
    mark: () => log.length,
    beginRun: (require = []) => {
      requestedPaths = new Set();
      armed = [...require];
      return log.length;
    },
    since,
    counts: (mark) => {
      const c: EditCounts = { create: 0, delete: 0, move: 0, update: 0, total: 0 };
      for (const e of since(mark)) {
        c[e.type]++;
        c.total++;
      }
      return c;
    },
    ids: (kind, type, mark) => new Set(since(mark).filter((e) => e.kind === kind && e.type === type).map((e) => e.id)),
    existedThroughout: (kind, startIds, mark) => {
      const deleted = new Set(since(mark).filter((e) => e.kind === kind && e.type === 'delete').map((e) => e.id));
      return new Set([...startIds].filter((id) => !deleted.has(id)));
    },
    editNow: (count) => {
      const first = log.length;
      for (let i = 0; i < count; i++) editOnce(listingOf(undefined), false);
      return log.slice(first);
    },
    stop: () => {
      stopped = true;
      unsubscribe();
    },
  };
}

/** One record's version, as an oracle compares them. */
export interface RecordVersion {
  updatedAt: string;
  date: string;
}

/** The dated kinds of an account as they are now: id → version. */
export function snapshotDated(data: FakeAccountData): Record<DatedKind, Map<number, RecordVersion>> {
  const out = {} as Record<DatedKind, Map<number, RecordVersion>>;
  for (const kind of DATED_KINDS) {
    out[kind] = new Map(data[kind].map((r) => [r.id, { updatedAt: r.updated_at, date: String(r[DATE_FIELD[kind]]) }]));
  }
  return out;
}

/** The first and last day of each kind's history: its oldest date, and its newest or today. */
function historyBounds(data: FakeAccountData): Record<DatedKind, { oldest: string; newest: string }> {
  const today = isoDate(Date.now());
  const out = {} as Record<DatedKind, { oldest: string; newest: string }>;
  for (const kind of DATED_KINDS) {
    const dates = data[kind].map((r) => String(r[DATE_FIELD[kind]]));
    const oldest = dates.reduce((a, b) => (b < a ? b : a), today);
    const newest = dates.reduce((a, b) => (b > a ? b : a), today);
    out[kind] = { oldest, newest };
  }
  return out;
}

function pickOption<T extends [string, number, ...unknown[]]>(rng: Rng, options: readonly T[]): T {
  let x = rng.next() * options.reduce((s, o) => s + o[1], 0);
  for (const o of options) if ((x -= o[1]) < 0) return o;
  return options[options.length - 1]!;
}

function pickWeighted(rng: Rng, weights: Record<EditType, number>): EditType {
  const entries = (Object.entries(weights) as Array<[EditType, number]>).filter(([, w]) => w > 0);
  let x = rng.next() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [type, w] of entries) {
    if ((x -= w) < 0) return type;
  }
  return entries[entries.length - 1]![0];
}

/** A from/to query value (YYYY-MM-DD or YYYYMMDD) as YYYY-MM-DD, if it is a date. */
function dayOf(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  const ms = parseDate(raw);
  return Number.isNaN(ms) ? undefined : isoDate(ms);
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const clampMs = clamp;

