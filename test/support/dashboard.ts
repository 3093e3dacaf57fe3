// The provisioned Grafana dashboard and its queries, rendered the way the ClickHouse
// data source plugin renders them (Grafana variables first, then the plugin's macros),
// so the tests can run every panel against a real database.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './harness';

export const DASHBOARD_FILE = path.join(PROJECT_ROOT, 'deploy', 'grafana', 'dashboards', 'harvest-sync.json');

export interface Target {
  refId: string;
  datasource?: { type?: string; uid?: string };
  editorType?: string;
  queryType?: string;
  format?: number;
  rawSql: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

export interface Variable {
  name: string;
  type: string;
  datasource?: { type?: string; uid?: string };
  query?: string | { rawSql?: string };
  definition?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

export function loadDashboard(): Dashboard {
  return JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel, rows' collapsed children included. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** The SQL of a query variable, wherever the Grafana version keeps it. */
export function variableSql(v: Variable): string {
  if (typeof v.query === 'string') return v.query;
  return v.query?.rawSql ?? v.definition ?? '';
}

export interface RenderContext {
  /** Variable values: one value, or several (multi-value variables). */
  vars: Record<string, string | string[]>;
  from: Date;
  to: Date;
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
const isoDay = (d: Date): string => d.toISOString().slice(0, 10);

/**
 * Grafana's variable syntaxes ($var, ${var}, ${var:format}) with the formats the
 * dashboard uses (csv, singlequote, sqlstring, raw), then the plugin's macros
 * ($__timeFilter, $__dateFilter, $__fromTime, $__toTime and their _ms forms).
 */
export function renderSql(sql: string, ctx: RenderContext): string {
  const format = (name: string, fmt: string | undefined): string => {
    const value = ctx.vars[name];
    if (value === undefined) throw new Error(`no value for dashboard variable ${name}`);
    const values = Array.isArray(value) ? value : [value];
    switch (fmt ?? 'default') {
      case 'singlequote':
      case 'sqlstring':
        return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
      case 'csv':
      case 'raw':
      case 'default':
        return values.join(',');
      default:
        throw new Error(`variable format ${fmt} is not handled by the test renderer`);
    }
  };
  let out = sql.replace(/\$\{([A-Za-z0-9_]+)(?::([A-Za-z]+))?\}/g, (_m, name: string, fmt?: string) => format(name, fmt));
  out = out.replace(/\$(?!__)([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string) => format(name, undefined));
  const from = `toDateTime(${seconds(ctx.from)})`;
  const to = `toDateTime(${seconds(ctx.to)})`;
  const fromMs = `fromUnixTimestamp64Milli(${ctx.from.getTime()})`;
  const toMs = `fromUnixTimestamp64Milli(${ctx.to.getTime()})`;
  out = out
    .replace(/\$__timeFilter_ms\(([^)]+)\)/g, (_m, c: string) => `${c.trim()} >= ${fromMs} AND ${c.trim()} <= ${toMs}`)
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_m, c: string) => `${c.trim()} >= ${from} AND ${c.trim()} <= ${to}`)
    .replace(/\$__dateFilter\(([^)]+)\)/g, (_m, c: string) => `${c.trim()} >= toDate('${isoDay(ctx.from)}') AND ${c.trim()} <= toDate('${isoDay(ctx.to)}')`)
    .replace(/\$__fromTime_ms\b/g, fromMs)
    .replace(/\$__toTime_ms\b/g, toMs)
    .replace(/\$__fromTime\b/g, from)
    .replace(/\$__toTime\b/g, to);
  if (/\$/.test(out)) throw new Error(`unrendered Grafana syntax left in:\n${out}`);
  return out;
}
