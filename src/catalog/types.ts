// Types of the declarative resource catalog. Pure: workflows import the catalog.

/** ClickHouse column types the engine knows how to coerce JSON values into. */
export type ColumnType = 'UInt64' | 'Int64' | 'Float64' | 'Bool' | 'String' | 'Date' | 'DateTime' | 'Array(String)';

export interface ColumnSpec {
  /** Column name in ClickHouse. */
  name: string;
  type: ColumnType;
  /** Dotted path in the Harvest record (`user.id`); defaults to `name`. */
  from?: string;
}

/** cursor/page: list envelopes (follow links.next); none: a single object (company). */
export type Paging = 'cursor' | 'page' | 'none';

export interface ParentSpec {
  /** Resource whose rows supply the parent ids. */
  resource: string;
  /** Placeholder in `path` (`/users/{user_id}/...`). */
  param: string;
  /** Column added to every child row holding the parent id (part of the key). */
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
 * How an incremental run finds the parents whose children may have changed, so a run
 * without changes makes no per-parent requests: ids written in this run by `resource`
 * (column `select`), optionally mapped through another table (`via`).
 */
export interface ChangeSignal {
  resource: string;
  select: string;
  via?: { resource: string; match: string; select: string };
}

export interface ResourceSpec {
  /** Resource and table name. */
  name: string;
  description: string;
  /** Path below the API base URL; `{param}` placeholders are filled from the parent. */
  path: string;
  /** Key of the record array in the list envelope. */
  dataKey: string;
  /** Key columns (without `account_id`, which every table has). */
  key: string[];
  paging: Paging;
  /** Query parameter for incremental reads, or null when the endpoint has none. */
  incremental: 'updated_since' | null;
  /** The list filters by this record date with `from`/`to`: backfills read history by date. */
  dateRange?: string;
  parent?: ParentSpec;
  /** Fan-out resources: where incremental runs learn which parents changed (default: all parents). */
  changeSignals?: ChangeSignal[];
  /**
   * Fan-out resources: parents asked again on incremental runs although no signal names
   * them, because a child may be added without touching the parent's `updated_at`
   * (docs/coverage.md). Parents whose `column` is one of `values`, newest first, at most
   * `budget` per run (each costs at least one request).
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
