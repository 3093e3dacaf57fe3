// The declarative resource catalog (public API). Everything under this folder is pure
// data and pure functions: it never imports Node built-ins or I/O libraries (the
// workflows take its types only; the activities hand them each resource's WorkflowSpec).
//
// types.ts     the shapes of an entry (ResourceSpec, ColumnSpec, ...) and of a table
// builders.ts  helpers that keep entries short (columns, lists, per-parent lists, reports)
// entries.ts   CATALOG: one entry per Harvest resource
// graph.ts     lookups: names, selection closure, physical tables
// validate.ts  the catalog's consistency check

export type { ChangeSignal, ColumnSpec, ColumnType, NestedSpec, Paging, ParentSpec, ResourceSpec, TableDef } from './types';
export { CATALOG } from './entries';
export { getResource, nestedTable, resolveSelection, resourceNames, resourceTable, tablesOf } from './graph';
export { validateCatalog } from './validate';
