// The version that decides which row of a record is the newest (ReplacingMergeTree's
// version column, and latestRows in store.ts), and the move of tables created before it.
//
// A time-limited activity attempt that Temporal already gave up on (a zombie) can still
// insert the page it read, after the retry stored a newer one and even after a tombstone
// marked the record gone. Ordering rows by when they were written (`_synced_at`, a
// worker's wall clock) lets that late insert win. `_version` orders by Harvest's own
// version of the record first:
//
//   bits 64..127  the record's `updated_at` (seconds), or for a nested line its parent's;
//   bit  63       `_deleted`, when there is such a timestamp;
//   bits  0..62   `_synced_at` (ms).
//
// So a tombstone of a version beats every insert of that version or an older one, however
// late; a newer version beats the tombstone (Harvest changed the record since); between
// rows of one version the later write wins, as before. A table without such a timestamp
// (reports, the company) is ordered by `_synced_at` alone. `_version` is MATERIALIZED:
// every insert (pages, tombstones, other releases' workers) gets it from the row itself.
//
// A table's version column cannot be changed in place, so a table created before
// `_version` is copied into a new table, which then takes its name (EXCHANGE TABLES):
// see migrateToVersions.
import type { ClickHouseStore } from './port';
import type { TableDef } from '../catalog';
import { recordChange, schemaChanges } from './schema-changes';

export const VERSION_COLUMN = '_version';

const q = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;
const ref = (db: string, table: string): string => `${q(db)}.${q(table)}`;

/** The SQL of a table's `_version` (see the top of this file). */
export function versionExpression(table: Pick<TableDef, 'versionColumn'>): string {
  const written = 'toUInt128(toUnixTimestamp64Milli(_synced_at))';
  if (!table.versionColumn) return written;
  const t = q(table.versionColumn);
  return `if(${t} IS NULL, ${written}, bitOr(bitShiftLeft(toUInt128(toUnixTimestamp(assumeNotNull(${t}))), 64), bitOr(bitShiftLeft(toUInt128(_deleted != 0), 63), ${written})))`;
}

/** The table a table is copied into while it moves to `_version`. */
export const migratingName = (table: string): string => `${table}__versioning`;
const CHANGE = 'version column';
/** Rows another worker wrote during the copy are copied again: those written this long before it began, too (worker clocks differ). */
const CATCH_UP_LOOKBACK_MS = 3_600_000;
/** With other writers about, the old table is kept this long after the move, for inserts still in flight into it. */
const KEEP_OLD_MS = 10 * 60_000;
/** A copy (not yet moved) that is older than this was left by a crash, not made by another worker now. */
const STALE_COPY_MS = 3_600_000;

export interface ColumnInfo {
  /** table → column → default kind ('' for a plain column, 'MATERIALIZED', …). */
  columns: Map<string, Map<string, string>>;
}

export async function readColumns(store: ClickHouseStore, db: string): Promise<ColumnInfo> {
  const rows = await store.query<{ table: string; name: string; default_kind: string }>('SELECT table, name, default_kind FROM system.columns WHERE database = {db:String}', { db });
  const columns = new Map<string, Map<string, string>>();
  for (const r of rows) {
    let t = columns.get(r.table);
    if (!t) columns.set(r.table, (t = new Map()));
    t.set(r.name, r.default_kind);
  }
  return { columns };
}

export interface MigrationOptions {
  /**
   * No other process writes these tables (the embedded engine: its directory is locked):
   * a leftover copy is a crash's, and the old table can go at once.
   */
  soleWriter: boolean;
  /** Called with the SQL of the copy's CREATE; tests use it to see a crash halfway. */
  createSQL: (table: TableDef, name: string) => string;
}

/**
 * Moves every table created before `_version` to it, safe against a crash at any point:
 *  1. `_schema_changes` records the move pending; a copy `<t>__versioning` is created with
 *     the new layout, and every row of `<t>` (every version, tombstones included) is
 *     inserted into it. A crash here leaves `<t>` untouched; the next start drops the
 *     partial copy and starts again.
 *  2. EXCHANGE TABLES swaps the two names atomically: `<t>` is the new table, and
 *     `<t>__versioning` holds the old one.
 *  3. Rows other workers wrote into the old table while it was copied are copied again
 *     (those written since an hour before the copy began; a row copied twice is one
 *     version, collapsed like a retried page). The old table is then dropped: at once
 *     when this process is the only writer, else at a start at least 10 minutes later,
 *     after one more such copy (inserts in flight at the swap land in the old table).
 * Returns the tables moved or finished.
 */
export async function migrateToVersions(store: ClickHouseStore, db: string, tables: readonly TableDef[], info: ColumnInfo, opts: MigrationOptions): Promise<string[]> {
  const done: string[] = [];
  let changes: Awaited<ReturnType<typeof schemaChanges>> | undefined;
  const changeOf = async (table: string) => (changes ??= await schemaChanges(store, db)).find((c) => c.table === table && c.change === CHANGE);
  for (const t of tables) {
    const cols = info.columns.get(t.name);
    if (!cols) continue;
    const tmp = migratingName(t.name);
    const tmpCols = info.columns.get(tmp);
    if (cols.has(VERSION_COLUMN)) {
      if (!tmpCols) continue;
      if (tmpCols.has(VERSION_COLUMN)) {
        // A copy whose table meanwhile got `_version` some other way: nothing to keep.
        await store.command(`DROP TABLE IF EXISTS ${ref(db, tmp)}`);
        continue;
      }
      // The old table, kept after the swap for inserts still in flight into it.
      const change = await changeOf(t.name);
      if (!opts.soleWriter) {
        if (change && Date.now() - Date.parse(change.at) < KEEP_OLD_MS) continue;
        await copyRows(store, db, tmp, t.name, info, change?.detail || undefined);
      }
      await store.command(`DROP TABLE IF EXISTS ${ref(db, tmp)}`);
      await recordChange(store, db, t.name, CHANGE, 'done');
      done.push(t.name);
      continue;
    }
    if (tmpCols) {
      if (!tmpCols.has(VERSION_COLUMN)) {
        // Never made by a move (its copy has `_version`): not ours to drop.
        throw new Error(`${db}.${tmp} exists without ${VERSION_COLUMN} while ${db}.${t.name} has none either; rename or drop it, then start again`);
      }
      const change = await changeOf(t.name);
      const fresh = change?.state === 'pending' && Date.now() - Date.parse(change.at) < STALE_COPY_MS;
      if (!opts.soleWriter && fresh) {
        throw new Error(
          `${db}.${t.name} is being copied to its new layout by another process (since ${change!.at}); start again once it finished. ` +
            `If no other harvest-sync process runs, drop ${db}.${tmp} (a copy a crash left) and start again.`,
        );
      }
      // A copy a crash left before the swap: its table is untouched; copy again.
      await store.command(`DROP TABLE IF EXISTS ${ref(db, tmp)}`);
    }
    const cutoff = new Date(Date.now() - CATCH_UP_LOOKBACK_MS).toISOString();
    await recordChange(store, db, t.name, CHANGE, 'pending', cutoff);
    // Without IF NOT EXISTS: of two processes starting at once, one creates it, the other fails here.
    try {
      await store.command(opts.createSQL(t, tmp).replace('CREATE TABLE IF NOT EXISTS', 'CREATE TABLE'));
    } catch (err) {
      throw new Error(`${db}.${t.name} could not start its move to the versioned layout (another process may be moving it; start again): ${(err as Error).message}`);
    }
    await copyRows(store, db, t.name, tmp, await readColumns(store, db));
    await store.command(`EXCHANGE TABLES ${ref(db, t.name)} AND ${ref(db, tmp)}`);
    await recordChange(store, db, t.name, CHANGE, 'exchanged', cutoff);
    if (opts.soleWriter) {
      await store.command(`DROP TABLE IF EXISTS ${ref(db, tmp)}`);
      await recordChange(store, db, t.name, CHANGE, 'done');
    } else {
      // Rows other workers wrote while it was copied; the old table stays for a later start.
      await copyRows(store, db, tmp, t.name, await readColumns(store, db), cutoff);
    }
    done.push(t.name);
  }
  return done;
}

/** Inserts the rows of `from` (written since `since`, if given) into `to`, by the columns both have. */
async function copyRows(store: ClickHouseStore, db: string, from: string, to: string, info: ColumnInfo, since?: string): Promise<void> {
  const source = info.columns.get(from);
  const target = info.columns.get(to);
  if (!source || !target) throw new Error(`cannot copy ${db}.${from} to ${db}.${to}: a table is missing`);
  // Plain columns of the target that the source has; MATERIALIZED ones (`_version`) are computed.
  const cols = [...target].filter(([name, kind]) => kind === '' && source.has(name) && source.get(name) === '').map(([name]) => q(name));
  await store.command(
    `INSERT INTO ${ref(db, to)} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${ref(db, from)}${since ? " WHERE _synced_at >= parseDateTime64BestEffort({since:String}, 3, 'UTC')" : ''}`,
    since ? { since } : {},
    {
      // Its own token: the embedded engine's session would otherwise lend it the previous insert's.
      insert_deduplication_token: `version-copy:${from}:${to}:${Date.now()}:${Math.random().toString(36).slice(2)}`,
      // Every row as it was: versions of a key in one block are not collapsed on the way in.
      optimize_on_insert: 0,
    },
  );
}
