// The catalog's consistency check. Pure function.

import { CATALOG } from './entries';
import { tablesOf } from './graph';
import type { ResourceSpec } from './types';

/** Checks the catalog's own consistency; the tests run it so a bad entry fails CI. */
export function validateCatalog(catalog: readonly ResourceSpec[] = CATALOG): string[] {
  const problems: string[] = [];
  const names = new Set(catalog.map((r) => r.name));
  const byName = new Map(catalog.map((r) => [r.name, r]));
  const tableNames = new Set<string>();
  for (const t of catalog.flatMap(tablesOf)) {
    if (tableNames.has(t.name)) problems.push(`table ${t.name} is defined twice`);
    tableNames.add(t.name);
    const columns = new Set([...t.parentColumns, ...t.columns.map((c) => c.name)]);
    for (const k of t.key) if (!columns.has(k)) problems.push(`${t.name}: key column ${k} is not a column`);
  }
  for (const r of catalog) {
    if (r.paging === 'none' && (r.parent || r.key.length > 0)) problems.push(`${r.name}: a single-object resource has no key or parent`);
    if (r.report?.windowed && (r.paging !== 'page' || r.parent)) problems.push(`${r.name}: a windowed report is a page-numbered top-level list`);
    // Full runs confirm its deletion candidates with GET <path>/{id} (docs/listings.md).
    if (r.paging === 'page' && !r.parent && !r.report && (r.key.length !== 1 || r.key[0] !== 'id')) {
      problems.push(`${r.name}: a page-numbered top-level list must be keyed by id`);
    }
    for (const n of r.nested ?? []) {
      const parentCols = new Set([...(r.parent ? [r.parent.column] : []), ...r.columns.map((c) => c.name)]);
      for (const [child, parentCol] of Object.entries(n.parentKey)) {
        if (!parentCols.has(parentCol)) problems.push(`${n.name}: parent key ${child} <- ${parentCol} is not a column of ${r.name}`);
      }
      if (!(n.parentColumn in n.parentKey)) problems.push(`${n.name}: parentColumn ${n.parentColumn} is not in parentKey`);
    }
    for (const sig of r.changeSignals ?? []) {
      for (const dep of [sig.resource, sig.via?.resource].filter((x): x is string => Boolean(x))) {
        // A signal may go through the resource's own previous rows (they are read before it runs).
        if (!r.dependsOn.includes(dep) && dep !== r.name) problems.push(`${r.name}: change signal ${dep} must be a dependency`);
      }
    }
    for (const d of r.dependsOn) if (!names.has(d)) problems.push(`${r.name}: depends on unknown ${d}`);
    if (r.recheck) {
      const parent = r.parent ? byName.get(r.parent.resource) : undefined;
      if (!parent || !r.changeSignals) problems.push(`${r.name}: recheck needs a parent and change signals`);
      else if (!parent.columns.some((c) => c.name === r.recheck!.column)) problems.push(`${r.name}: recheck column ${r.recheck.column} is not a column of ${parent.name}`);
      if (!(r.recheck.budget > 0)) problems.push(`${r.name}: recheck budget must be positive`);
    }
    if (r.emptyOnStatus !== undefined && !r.parent) problems.push(`${r.name}: emptyOnStatus applies to per-parent lists only`);
    for (const c of [r.visibleBy?.user, r.visibleBy?.project]) {
      if (c !== undefined && !r.columns.some((x) => x.name === c)) problems.push(`${r.name}: visibleBy column ${c} is not a column`);
    }
    if (r.parent) {
      if (!r.dependsOn.includes(r.parent.resource)) problems.push(`${r.name}: parent ${r.parent.resource} must be a dependency`);
      if (!r.path.includes(`{${r.parent.param}}`)) problems.push(`${r.name}: path lacks {${r.parent.param}}`);
    }
    const seen = new Set<string>();
    for (const c of r.columns) {
      if (!/^[a-z_][a-z0-9_]*$/.test(c.name)) problems.push(`${r.name}: bad column name ${c.name}`);
      if (seen.has(c.name)) problems.push(`${r.name}: duplicate column ${c.name}`);
      seen.add(c.name);
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
