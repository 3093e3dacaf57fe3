// Analytics views over the synced tables and the `_sync_runs` run log: the SQL (sql.ts)
// and what each view holds (docs.ts, from which docs/analytics.md's reference is generated).
import type { ClickHouseStore } from '../port';
import { CATALOG, type ResourceSpec } from '../../catalog';
import { ensureRunsTable } from '../schema';
import { VIEW_DOCS, type ViewColumn, type ViewDoc } from './docs';
import { VIEW_SQL } from './sql';

export type { ViewColumn, ViewDoc };
export { renderViewReference, withViewReference, VIEW_REFERENCE_BEGIN, VIEW_REFERENCE_END } from './render';

/** The analytics views: name, one-line description and columns (for docs and tests). */
export const ANALYTICS_VIEWS: readonly ViewDoc[] = VIEW_DOCS.map(({ name, description, columns }) => ({ name, description, columns }));

function sqlOf(name: string) {
  const def = VIEW_SQL.find((v) => v.name === name);
  if (!def) throw new Error(`unknown view "${name}"; known: ${VIEW_SQL.map((v) => v.name).join(', ')}`);
  return def;
}

/** `CREATE OR REPLACE VIEW` statement of one view. */
export function createViewSQL(db: string, name: string, catalog: readonly ResourceSpec[] = CATALOG): string {
  const def = sqlOf(name);
  const q = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;
  return `CREATE OR REPLACE VIEW ${q(db)}.${q(def.name)} AS\n${def.select(db, catalog)}`;
}

/**
 * (Re)creates the analytics views of `db`, after the tables exist. Idempotent. Creates the
 * `_sync_runs` run log if it is missing (the sync-health views read it). A view whose
 * tables are not all there (a database created for a subset of the catalog) is skipped.
 */
export async function ensureViews(store: ClickHouseStore, db: string): Promise<void> {
  await ensureRunsTable(store, db);
  const tables = await store.query<{ name: string }>("SELECT name FROM system.tables WHERE database = {db:String} AND engine NOT IN ('View', 'MaterializedView')", { db });
  const existing = new Set(tables.map((r) => r.name));
  for (const doc of VIEW_DOCS) {
    const def = sqlOf(doc.name);
    if (!def.reads(CATALOG).every((t) => existing.has(t))) continue;
    await store.command(createViewSQL(db, def.name));
  }
}
