// Lookups over the catalog: names, the dependency closure of a selection, and the
// physical tables of each resource. Pure functions.

import { CATALOG } from './entries';
import type { NestedSpec, ResourceSpec, TableDef } from './types';

// Looked up in CATALOG itself each time (a few dozen entries): what a process's catalog
// holds is what it answers, which the release drill (test/releases.test.ts) relies on.
const byName = (name: string): ResourceSpec | undefined => CATALOG.find((r) => r.name === name);

export function resourceNames(): string[] {
  return CATALOG.map((r) => r.name);
}

export function getResource(name: string): ResourceSpec {
  const spec = byName(name);
  if (!spec) throw new Error(`unknown resource "${name}"; known: ${resourceNames().join(', ')}`);
  return spec;
}

/**
 * The resources to sync for a selection: the selection plus everything it depends on
 * (a child cannot be fanned out without its parents' rows), in catalog order.
 * Throws on unknown names, listing the valid ones.
 */
export function resolveSelection(selected?: readonly string[]): string[] {
  if (!selected || selected.length === 0) return resourceNames();
  const unknown = selected.filter((n) => byName(n) === undefined);
  if (unknown.length > 0) {
    throw new Error(`unknown resource(s): ${unknown.join(', ')}; known: ${resourceNames().join(', ')}`);
  }
  const wanted = new Set<string>();
  const visit = (name: string): void => {
    if (wanted.has(name)) return;
    wanted.add(name);
    getResource(name).dependsOn.forEach(visit);
  };
  selected.forEach(visit);
  return resourceNames().filter((n) => wanted.has(n));
}


const hasUpdatedAt = (spec: ResourceSpec): boolean => spec.columns.some((c) => c.name === 'updated_at' && c.type === 'DateTime');

export function resourceTable(spec: ResourceSpec): TableDef {
  return {
    name: spec.name,
    key: spec.key,
    parentColumns: spec.parent ? [spec.parent.column] : [],
    columns: spec.columns,
    ...(hasUpdatedAt(spec) ? { versionColumn: 'updated_at' as const } : {}),
  };
}

/** A nested array's table; its lines are versioned by their parent's `updated_at` when it has one. */
export function nestedTable(n: NestedSpec, parent?: ResourceSpec): TableDef {
  return {
    name: n.name,
    key: n.key,
    parentColumns: Object.keys(n.parentKey),
    columns: n.columns,
    ...(parent && hasUpdatedAt(parent) ? { versionColumn: '_parent_updated_at' as const } : {}),
  };
}

/** Every table of a resource: its own first, then its nested arrays'. */
export function tablesOf(spec: ResourceSpec): TableDef[] {
  return [resourceTable(spec), ...(spec.nested ?? []).map((n) => nestedTable(n, spec))];
}

