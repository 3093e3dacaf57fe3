// Types of the declarative resource catalog. Pure.

/** ClickHouse column types the engine knows how to coerce JSON values into. */
export type ColumnType = 'UInt64' | 'Int64' | 'Float64' | 'Bool' | 'String' | 'Date' | 'DateTime' | 'Array(String)';

export interface ColumnSpec {
  /** Column name in ClickHouse. */
  name: string;
  type: ColumnType;
  /** Dotted path in the Harvest record (`user.id`); defaults to `name`. */
  from?: string;
}

/**
 * How Harvest pages the list; its docs say which (a page-numbered answer has `page`,
 * `total_pages` and `total_entries`, a cursor list's `page` is null past the first).
 * - `cursor` and `page`: every listing follows `links.next` until it is null.
 *   Page-numbered ones (`page`) also compare each page's `total_entries` with the first
 *   page's: a listing whose total changed meanwhile (records created or deleted while it
 *   was read shift the pages) is read again from page 1, up to LISTING_PASSES passes
 *   (src/workflows/readers/listing.ts, docs/listings.md). That is all `page` changes for a
 *   per-parent list. For a top-level list it also means: with `dateRange`, read by date
 *   windows (readers/dated.ts); keyed by `id` (reports aside), deletion candidates of a
 *   full run are confirmed with `GET <path>/{id}` (readers/deletions.ts).
 * - `none`: a single object, no envelope (company).
 */
export type Paging = 'cursor' | 'page' | 'none';

export interface ParentSpec {
  /** Resource whose rows supply the parent ids: its live rows' `id` (it must be keyed by `id`). */
  resource: string;
  /** Placeholder in `path` (`/users/{user_id}/...`). */
  param: string;
  /**
   * Column added to every child row holding the parent id (part of the key). Filled from
   * the path, never from the record: no record column may have this name.
   */
  column: string;
}

/**
 * An array inside each record stored as its own table (invoice line items, the task
 * assignments inside a user's project assignment, a user's roles). Rows carry the
 * parent's key; lines that disappear from a re-read parent are marked deleted.
 */
export interface NestedSpec {
  name: string;
  description: string;
  /** Array field of the parent record. */
  from: string;
  /** Child column → parent row column (the parent's key, e.g. invoice_id ← id). */
  parentKey: Record<string, string>;
  /** The child column holding the direct parent's id (used to replace a parent's lines). */
  parentColumn: string;
  key: string[];
  /** Columns read from each element; `from: '$'` is the element itself (arrays of strings). */
  columns: ColumnSpec[];
}

/**
 * Change rules: how an incremental run of a per-parent list finds the parents whose
 * children may have changed, so a run without changes asks no parent at all. Each signal
 * names parent ids; the run asks the live parents among the union of all its signals'
 * ids (plus `recheck`).
 *
 * - `{ resource, select }`: the value of column `select` in every row that `resource`
 *   wrote in this same run (an incremental run writes the records Harvest lists as updated
 *   since its cursor). `{ resource: 'invoices', select: 'id' }`: every invoice this run
 *   wrote is asked for its payments. `{ resource: 'user_assignments', select: 'user_id' }`:
 *   every user assignment this run wrote names a user whose project assignments are asked.
 * - `via`: the ids are looked up in another table first. The written rows' `select`
 *   values are matched against column `via.match` of `via.resource`'s current rows, and
 *   those rows' `via.select` is the parent id. `{ resource: 'projects', select: 'id',
 *   via: { resource: 'user_assignments', match: 'project_id', select: 'user_id' } }`:
 *   for every project written in this run, the users assigned to it.
 *
 * Every resource a signal names must be a dependency (perParent adds them); `via` may
 * name the list itself (its previous rows). The run asks only signalled parents when it
 * is incremental, the list has a cursor (or the run an explicit `since`), and every
 * signal's resources were read in the same run from no later than that; otherwise it
 * asks every parent. The
 * list's cursor never moves past theirs. The SQL is `parentIds` in
 * src/clickhouse/store.ts.
 */
export interface ChangeSignal {
  /** The resource whose rows written in this run name the parents. */
  resource: string;
  /** Its column holding a parent id (or, with `via`, the value looked up). */
  select: string;
  via?: { resource: string; match: string; select: string };
}

export interface ResourceSpec {
  /** Resource and table name. */
  name: string;
  description: string;
  /** Path below the API base URL; `{param}` placeholders are filled from the parent. */
  path: string;
  /** Key of the record array in the list envelope, as Harvest's docs give it (not always the table name). */
  dataKey: string;
  /** Key columns (without `account_id`, which every table has). */
  key: string[];
  paging: Paging;
  /** Query parameter for incremental reads, or null when the endpoint has none. */
  incremental: 'updated_since' | null;
  /** The list filters by this record date with `from`/`to`: backfills read history by date. */
  dateRange?: string;
  /** Set for a per-parent list: one listing per live row of the parent resource. */
  parent?: ParentSpec;
  /**
   * Per-parent lists: which parents incremental runs ask (see `ChangeSignal`). Without
   * it every run asks every parent. perParent's default: the parents written this run.
   */
  changeSignals?: ChangeSignal[];
  /**
   * Per-parent lists: parents asked again on incremental runs although no signal names
   * them, because a child may be added without touching the parent's `updated_at`
   * (docs/coverage.md). The parents still "open" (column `column` of the parent is one of
   * `values`), at most `budget` per run, those asked longest ago first (never asked
   * first), then the newest. Each costs at least one request. Example: invoice payments
   * with `{ column: 'state', values: ['draft', 'open'], budget: 25 }` ask, besides the
   * invoices written this run, up to 25 draft or open invoices a run, rotating through all
   * of them (`_sync_parent_checks`). Needs `changeSignals`, and a parent with `updated_at`;
   * `values` are booleans for a Bool column, else strings.
   */
  recheck?: { column: string; values: Array<string | boolean>; budget: number };
  /**
   * Harvest answers this status for a parent that has no such list (teammates of a user
   * who is not a Manager: 422): an empty listing, not a failure.
   */
  emptyOnStatus?: number;
  /**
   * Under a token below Administrator Harvest still answers this list, with only the rows
   * the token may see: those of its own user (`user`), and for a Manager also its
   * teammates' and its managed projects' (`project`). Deletion marking is narrowed to
   * them; lists without `visibleBy` skip deletion marking under such a token.
   */
  visibleBy?: { user: string; project?: string };
  nested?: NestedSpec[];
  /**
   * Reports API (`/reports/...`): paced by its own budget. Windowed reports are read per
   * 365-day window (`$window_from`/`$window_to` columns), and re-reading a window
   * replaces its rows.
   */
  report?: { windowed: boolean };
  /** Resources that must finish in the same run before this one starts. */
  dependsOn: string[];
  columns: ColumnSpec[];
}

/** One physical table: a resource's own, or one of its nested arrays. */
export interface TableDef {
  name: string;
  /** Sorting (deduplication) key, after `account_id`. */
  key: string[];
  /** UInt64 columns identifying the parent (fan-out parent id, or the nested parent's key). */
  parentColumns: string[];
  columns: ColumnSpec[];
  /**
   * The timestamp that orders a record's versions (Harvest's own, so a late insert of an
   * old version cannot win): `updated_at`, or for a nested line `_parent_updated_at`, its
   * parent's. Absent (reports, records without one): the time of writing alone.
   */
  versionColumn?: 'updated_at' | '_parent_updated_at';
}
