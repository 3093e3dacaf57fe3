// The catalog's consistency check. Pure function. Each rule stops an entry the engine
// would take without complaint and then store wrongly (two values merged into one column,
// rows of different parents merged, a setting silently ignored) or fail on mid-run.

import { CATALOG } from './entries';
import { tablesOf } from './graph';
import type { ColumnSpec, ResourceSpec, TableDef } from './types';

const NAME = /^[a-z][a-z0-9_]*$/;

/** Checks the catalog's own consistency; test/unit/catalog.test.ts runs it so a bad entry fails CI. */
export function validateCatalog(catalog: readonly ResourceSpec[] = CATALOG): string[] {
  const problems: string[] = [];
  const names = new Set(catalog.map((r) => r.name));
  const byName = new Map(catalog.map((r) => [r.name, r]));
  const owners = new Map<string, string>();
  for (const r of catalog) {
    for (const t of tablesOf(r)) {
      const owner = t.name === r.name ? `resource ${r.name}` : `a nested array of ${r.name}`;
      const first = owners.get(t.name);
      if (first) problems.push(`table ${t.name} is defined twice (${first}, ${owner}): their rows would land in one table`);
      else owners.set(t.name, owner);
      problems.push(...checkTable(t));
    }
  }
  /** Every column of a resource's own table, the parent column included. */
  const columnsOf = (name: string): Set<string> => {
    const spec = byName.get(name);
    return new Set(spec ? [...(spec.parent ? [spec.parent.column] : []), ...spec.columns.map((c) => c.name)] : []);
  };
  for (const r of catalog) {
    if (r.paging === 'none') {
      if (r.parent || r.key.length > 0) problems.push(`${r.name}: a single-object resource has no key or parent`);
      if (r.incremental !== null || r.dateRange !== undefined) problems.push(`${r.name}: a single object (paging 'none') takes no updated_since or date range; set incremental: null`);
    } else if (!r.dataKey) problems.push(`${r.name}: a list needs its dataKey (the key of the record array in Harvest's answer)`);
    if (r.report?.windowed && (r.paging !== 'page' || r.parent)) problems.push(`${r.name}: a windowed report is a page-numbered top-level list`);
    // Full runs confirm its deletion candidates with GET <path>/{id} (docs/listings.md).
    if (r.paging === 'page' && !r.parent && !r.report && (r.key.length !== 1 || r.key[0] !== 'id')) {
      problems.push(`${r.name}: a page-numbered top-level list must be keyed by id`);
    }
    if (r.dateRange !== undefined) {
      // Only the dated reader uses it; anywhere else it would be ignored.
      if (r.paging !== 'page' || r.parent || r.report) problems.push(`${r.name}: dateRange applies to page-numbered top-level lists only (it would be ignored here)`);
      const c = r.columns.find((x) => x.name === r.dateRange);
      if (!c || c.type !== 'Date') problems.push(`${r.name}: dateRange ${r.dateRange} is not a Date column`);
    }
    for (const n of r.nested ?? []) {
      const parentCols = columnsOf(r.name);
      for (const [child, parentCol] of Object.entries(n.parentKey)) {
        if (!parentCols.has(parentCol)) problems.push(`${n.name}: parent key ${child} <- ${parentCol} is not a column of ${r.name}`);
      }
      if (!(n.parentColumn in n.parentKey)) problems.push(`${n.name}: parentColumn ${n.parentColumn} is not in parentKey`);
      else if (!n.key.includes(n.parentColumn)) problems.push(`${n.name}: key must include the parent column ${n.parentColumn}, or lines of different parents with the same key would merge`);
    }
    if (r.changeSignals && !r.parent) problems.push(`${r.name}: changeSignals apply to per-parent lists only (they would be ignored here)`);
    for (const sig of r.changeSignals ?? []) {
      for (const dep of [sig.resource, sig.via?.resource].filter((x): x is string => Boolean(x))) {
        // A signal may go through the resource's own previous rows (they are read before it runs).
        if (!names.has(dep)) problems.push(`${r.name}: change signal names unknown resource ${dep}`);
        else if (!r.dependsOn.includes(dep) && dep !== r.name) problems.push(`${r.name}: change signal ${dep} must be a dependency`);
      }
      const where = `${r.name}: change signal ${sig.resource}${sig.via ? ` via ${sig.via.resource}` : ''}`;
      if (names.has(sig.resource) && !columnsOf(sig.resource).has(sig.select)) problems.push(`${where}: ${sig.select} is not a column of ${sig.resource}`);
      if (sig.via && names.has(sig.via.resource)) {
        for (const c of [sig.via.match, sig.via.select]) {
          if (!columnsOf(sig.via.resource).has(c)) problems.push(`${where}: ${c} is not a column of ${sig.via.resource}`);
        }
      }
    }
    for (const d of r.dependsOn) if (!names.has(d)) problems.push(`${r.name}: depends on unknown ${d}`);
    if (r.recheck) {
      const parent = r.parent ? byName.get(r.parent.resource) : undefined;
      const column = parent?.columns.find((c) => c.name === r.recheck!.column);
      if (!parent || !r.changeSignals) problems.push(`${r.name}: recheck needs a parent and change signals`);
      else if (!column) problems.push(`${r.name}: recheck column ${r.recheck.column} is not a column of ${parent.name}`);
      else {
        const bools = column.type === 'Bool';
        if (r.recheck.values.length === 0 || r.recheck.values.some((v) => (typeof v === 'boolean') !== bools)) {
          problems.push(`${r.name}: recheck values must be ${bools ? 'booleans' : 'strings'}, like ${parent.name}.${column.name} (${column.type}), and at least one`);
        }
        // The re-check takes the newest open parents first.
        if (!parent.columns.some((c) => c.name === 'updated_at')) problems.push(`${r.name}: recheck needs a parent with updated_at (${parent.name} has none)`);
      }
      if (!(r.recheck.budget > 0)) problems.push(`${r.name}: recheck budget must be positive`);
    }
    if (r.emptyOnStatus !== undefined && !r.parent) problems.push(`${r.name}: emptyOnStatus applies to per-parent lists only`);
    for (const c of [r.visibleBy?.user, r.visibleBy?.project]) {
      if (c !== undefined && !r.columns.some((x) => x.name === c)) problems.push(`${r.name}: visibleBy column ${c} is not a column`);
    }
    const placeholders = [...r.path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
    if (r.parent) {
      const parent = byName.get(r.parent.resource);
      if (!parent) problems.push(`${r.name}: parent ${r.parent.resource} is not a resource`);
      // The parents' ids are read from its `id` column, one row per id.
      else if (parent.key.length !== 1 || parent.key[0] !== 'id') problems.push(`${r.name}: parent ${parent.name} must be keyed by id (its key is ${parent.key.join(', ') || 'empty'})`);
      if (!r.dependsOn.includes(r.parent.resource)) problems.push(`${r.name}: parent ${r.parent.resource} must be a dependency`);
      if (!placeholders.includes(r.parent.param)) problems.push(`${r.name}: path lacks {${r.parent.param}}`);
      if (!r.key.includes(r.parent.column)) problems.push(`${r.name}: key must include the parent column ${r.parent.column}, or rows of different parents with the same key would merge`);
    }
    for (const p of placeholders) {
      if (p !== r.parent?.param) problems.push(`${r.name}: path placeholder {${p}} is not the parent's param: nothing would fill it`);
    }
  }
  // Dependency cycles would deadlock the run.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') {
      problems.push(`dependency cycle: ${[...path, n].join(' -> ')}`);
      return;
    }
    state.set(n, 'visiting');
    for (const d of byName.get(n)?.dependsOn ?? []) visit(d, [...path, n]);
    state.set(n, 'done');
  };
  for (const r of catalog) visit(r.name, []);
  return problems;
}

/** One physical table: its name, its columns against the parent columns and each other, its key. */
function checkTable(t: TableDef): string[] {
  const problems: string[] = [];
  // `_sync_*` are the bookkeeping tables, `v_*` the analytics views.
  if (!NAME.test(t.name) || t.name.startsWith('v_')) problems.push(`table ${t.name}: a table name is lower_snake_case and does not begin with _ or v_ (bookkeeping tables, views)`);
  const seen = new Map<string, ColumnSpec>();
  for (const c of t.columns) {
    if (c.name === 'account_id' || c.name.startsWith('_')) {
      problems.push(`${t.name}: column ${c.name} is the engine's own (account_id, _raw, _deleted, _sync_id, _synced_at, _version, _parent_updated_at); name it otherwise`);
    } else if (!NAME.test(c.name)) problems.push(`${t.name}: bad column name ${c.name}`);
    if (seen.has(c.name)) problems.push(`${t.name}: duplicate column ${c.name} (from ${seen.get(c.name)!.from ?? c.name} and ${c.from ?? c.name})`);
    seen.set(c.name, c);
    // The parent's id comes from the path (or the parent row); a record column of the same
    // name would overwrite it in the row and be dropped from the table's columns.
    if (t.parentColumns.includes(c.name)) {
      problems.push(
        `${t.name}: column ${c.name} (from ${c.from ?? c.name}) clashes with the parent column ${c.name}, which the parent's id fills; ` +
          'leave the record\'s copy out of columns (e.g. ref(...) without its id) or name the parent column otherwise (perParent\'s `column`)',
      );
    }
  }
  const columns = new Set([...t.parentColumns, ...t.columns.map((c) => c.name)]);
  for (const k of t.key) if (!columns.has(k)) problems.push(`${t.name}: key column ${k} is not a column`);
  if (new Set(t.key).size !== t.key.length) problems.push(`${t.name}: key ${t.key.join(', ')} names a column twice`);
  return problems;
}
