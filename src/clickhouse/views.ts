// Analytics views over the synced tables and the `_sync_runs` run log.
//
// Every view reads deduplicated, live rows (`FROM t FINAL WHERE _deleted = 0`), so a
// retried page or a re-read record never counts twice and deleted records never count.
// Plain (not materialized) views: they cost nothing to keep current and always agree
// with the tables. Valid on ClickHouse 24.8+ and the embedded 26.x engine.
//
// ClickHouse lets an alias shadow a column everywhere in its SELECT, so
// `sum(hours) AS hours, sumIf(hours, billable) AS billable_hours` nests one aggregate in
// another. The inner selects therefore rename the columns they read (`te_hours`, …)
// before the outer ones aggregate them under their public names.
import type { ClickHouseClient } from '@clickhouse/client';
import { CATALOG, tablesOf, type ResourceSpec } from '../harvest/catalog';
import { createRunsTableSQL, RUNS_TABLE } from './schema';

const q = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;
const ref = (db: string, table: string): string => `${q(db)}.${q(table)}`;
const lit = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const live = (db: string, table: string): string => `${ref(db, table)} FINAL WHERE _deleted = 0`;

export interface ViewColumn {
  name: string;
  description: string;
}

export interface ViewDoc {
  name: string;
  /** One line: what a row is. */
  description: string;
  /** The view's columns, in order. */
  columns: ViewColumn[];
}

interface ViewDef extends ViewDoc {
  /** Tables the view reads: it is only created when they all exist. */
  reads: (catalog: readonly ResourceSpec[]) => string[];
  select: (db: string, catalog: readonly ResourceSpec[]) => string;
}

const cols = (spec: Array<[string, string]>): ViewColumn[] => spec.map(([name, description]) => ({ name, description }));

// Live time entries with the columns renamed (see the header) and nulls settled:
// a missing `billable` is not billable, a missing rate bills nothing.
const timeEntries = (db: string): string => `SELECT
    account_id,
    spent_date AS te_day,
    toMonday(spent_date) AS te_week,
    user_id AS te_user_id,
    user_name AS te_user_name,
    client_id AS te_client_id,
    client_name AS te_client_name,
    client_currency AS te_currency,
    project_id AS te_project_id,
    project_name AS te_project_name,
    project_code AS te_project_code,
    task_id AS te_task_id,
    task_name AS te_task_name,
    ifNull(hours, 0) AS te_hours,
    ifNull(billable, false) AS te_billable,
    ifNull(is_billed, false) AS te_billed,
    if(ifNull(billable, false), ifNull(hours, 0) * ifNull(billable_rate, 0), 0) AS te_amount,
    updated_at AS te_updated_at
  FROM ${live(db, 'time_entries')}`;

// Names as of the most recently updated entry: a renamed project is one row, not two.
const dimensionColumns = (by: 'day' | 'week'): string => `account_id,
  ${by === 'day' ? 'te_day AS day,\n  te_week AS week,' : 'te_week AS week,'}
  te_user_id AS user_id,
  argMax(te_user_name, te_updated_at) AS user_name,
  te_client_id AS client_id,
  argMax(te_client_name, te_updated_at) AS client_name,
  te_project_id AS project_id,
  argMax(te_project_name, te_updated_at) AS project_name,
  argMax(te_project_code, te_updated_at) AS project_code,
  te_task_id AS task_id,
  argMax(te_task_name, te_updated_at) AS task_name,
  te_currency AS currency`;

const hourColumns = `round(sum(te_hours), 2) AS hours,
  round(sumIf(te_hours, te_billable), 2) AS billable_hours,
  round(sumIf(te_hours, NOT te_billable), 2) AS non_billable_hours`;

const DIMENSION_DOCS: Array<[string, string]> = [
  ['user_id', 'Harvest user id of the person who tracked the time'],
  ['user_name', "the person's name (as on their most recently updated entry)"],
  ['client_id', 'client id'],
  ['client_name', 'client name'],
  ['project_id', 'project id'],
  ['project_name', 'project name'],
  ['project_code', 'project code (may be NULL)'],
  ['task_id', 'task id'],
  ['task_name', 'task name'],
  ['currency', "the client's currency: billable_amount is in it"],
];
const HOUR_DOCS: Array<[string, string]> = [
  ['hours', 'hours tracked'],
  ['billable_hours', 'hours of billable entries'],
  ['non_billable_hours', 'hours of non-billable entries'],
];

// Per project: all-time and current-UTC-month figures (monthly budgets count the
// current month only, as Harvest's project budget report does).
const MONTH = "toStartOfMonth(toDate(now(), 'UTC'))";

// The project fields both project views start from (renamed: see the note at the top).
const PROJECT_COLUMNS = `account_id AS p_account_id,
    id AS p_id,
    name AS p_name,
    code AS p_code,
    client_id AS p_client_id,
    client_name AS p_client_name,
    client_currency AS p_currency,`;

const VIEW_DEFS: ViewDef[] = [
  {
    name: 'v_hours_daily',
    description: 'Hours and billable amount per day, person, project and task',
    columns: cols([
      ['account_id', 'Harvest account id'],
      ['day', 'spent_date of the entries'],
      ['week', 'Monday of the ISO week of `day`'],
      ...DIMENSION_DOCS,
      ...HOUR_DOCS,
      ['billable_amount', 'sum of hours × billable_rate over billable entries'],
      ['entries', 'number of time entries'],
    ]),
    reads: () => ['time_entries'],
    select: (db) => `SELECT
  ${dimensionColumns('day')},
  ${hourColumns},
  round(sum(te_amount), 2) AS billable_amount,
  count() AS entries
FROM (${timeEntries(db)})
GROUP BY account_id, day, week, user_id, client_id, project_id, task_id, currency`,
  },
  {
    name: 'v_hours_weekly',
    description: 'Hours, billable split and billable amount per ISO week, person, project and task',
    columns: cols([
      ['account_id', 'Harvest account id'],
      ['week', 'Monday of the ISO week'],
      ...DIMENSION_DOCS,
      ...HOUR_DOCS,
      ['billable_share', 'billable_hours / hours (NULL when no hours)'],
      ['billable_amount', 'sum of hours × billable_rate over billable entries'],
      ['entries', 'number of time entries'],
      ['days', 'distinct days with time tracked'],
    ]),
    reads: () => ['time_entries'],
    select: (db) => `SELECT
  ${dimensionColumns('week')},
  ${hourColumns},
  round(sumIf(te_hours, te_billable) / nullIf(sum(te_hours), 0), 4) AS billable_share,
  round(sum(te_amount), 2) AS billable_amount,
  count() AS entries,
  uniqExact(te_day) AS days
FROM (${timeEntries(db)})
GROUP BY account_id, week, user_id, client_id, project_id, task_id, currency`,
  },
  {
    name: 'v_billable_split',
    description: 'Billable vs non-billable hours per ISO week (whole account)',
    columns: cols([
      ['account_id', 'Harvest account id'],
      ['week', 'Monday of the ISO week'],
      ...HOUR_DOCS,
      ['billable_share', 'billable_hours / hours (NULL when no hours)'],
      ['uninvoiced_billable_hours', 'billable hours not yet invoiced (is_billed false)'],
      ['people', 'distinct people who tracked time'],
      ['entries', 'number of time entries'],
    ]),
    reads: () => ['time_entries'],
    select: (db) => `SELECT
  account_id,
  te_week AS week,
  ${hourColumns},
  round(sumIf(te_hours, te_billable) / nullIf(sum(te_hours), 0), 4) AS billable_share,
  round(sumIf(te_hours, te_billable AND NOT te_billed), 2) AS uninvoiced_billable_hours,
  uniqExact(te_user_id) AS people,
  count() AS entries
FROM (${timeEntries(db)})
GROUP BY account_id, week`,
  },
  {
    name: 'v_utilization_weekly',
    description: "Hours per person per ISO week against their weekly capacity (weeks they tracked time)",
    columns: cols([
      ['account_id', 'Harvest account id'],
      ['week', 'Monday of the ISO week'],
      ['user_id', 'Harvest user id'],
      ['user_name', 'first and last name from users (else the name on the entries)'],
      ['is_contractor', 'users.is_contractor (NULL when the user is not in users)'],
      ['is_active', 'users.is_active (NULL when the user is not in users)'],
      ...HOUR_DOCS,
      ['capacity_hours', 'users.weekly_capacity / 3600 (Harvest keeps seconds); NULL when unknown'],
      ['utilization', 'billable_hours / capacity_hours; NULL when the capacity is 0 or unknown'],
      ['total_utilization', 'hours / capacity_hours; NULL when the capacity is 0 or unknown'],
      ['entries', 'number of time entries'],
    ]),
    reads: () => ['time_entries', 'users'],
    select: (db) => `SELECT
  ut_account_id AS account_id,
  ut_week AS week,
  ut_user_id AS user_id,
  coalesce(u_name, ut_user_name) AS user_name,
  u_is_contractor AS is_contractor,
  u_is_active AS is_active,
  round(ut_hours, 2) AS hours,
  round(ut_billable_hours, 2) AS billable_hours,
  round(ut_hours - ut_billable_hours, 2) AS non_billable_hours,
  round(u_capacity_seconds / 3600, 2) AS capacity_hours,
  round(ut_billable_hours / nullIf(u_capacity_seconds / 3600, 0), 4) AS utilization,
  round(ut_hours / nullIf(u_capacity_seconds / 3600, 0), 4) AS total_utilization,
  ut_entries AS entries
FROM (
  SELECT
    account_id AS ut_account_id,
    te_week AS ut_week,
    te_user_id AS ut_user_id,
    argMax(te_user_name, te_updated_at) AS ut_user_name,
    sum(te_hours) AS ut_hours,
    sumIf(te_hours, te_billable) AS ut_billable_hours,
    count() AS ut_entries
  FROM (${timeEntries(db)})
  GROUP BY ut_account_id, ut_week, ut_user_id
) AS ut
LEFT JOIN (
  SELECT
    account_id AS u_account_id,
    id AS u_id,
    concat(first_name, ' ', last_name) AS u_name,
    is_contractor AS u_is_contractor,
    is_active AS u_is_active,
    weekly_capacity AS u_capacity_seconds
  FROM ${live(db, 'users')}
) AS u ON ut_account_id = u_account_id AND ut_user_id = u_id`,
  },
  {
    name: 'v_project_budget',
    description: 'Budget burn per project: budget, spent to date (in the budget unit), remaining and percent used',
    columns: cols([
      ['account_id', 'Harvest account id'],
      ['project_id', 'project id'],
      ['project_name', 'project name'],
      ['project_code', 'project code (may be NULL)'],
      ['client_id', 'client id'],
      ['client_name', 'client name'],
      ['currency', "the client's currency (money budgets are in it)"],
      ['is_active', 'projects.is_active'],
      ['is_billable', 'projects.is_billable'],
      ['is_fixed_fee', 'projects.is_fixed_fee'],
      ['budget_by', "projects.budget_by: 'project', 'task', 'person' (hours), 'project_cost', 'task_fees' (money) or 'none'"],
      ['budget_is_monthly', 'the budget resets every month: spent counts the current UTC month only'],
      ['budget_unit', "'hours', 'money', or NULL without a budget"],
      ['budget', 'the budget in its unit: projects.cost_budget for money budgets, projects.budget for hours'],
      ['hours_spent', 'all hours tracked on the project, to date'],
      ['billable_amount_spent', 'hours × billable_rate of its billable entries, to date'],
      ['expenses_spent', 'total_cost of all its expenses, to date'],
      ['budget_spent', 'spent in the budget unit: hours, or billable amount (+ expenses when cost_budget_include_expenses); current month only for monthly budgets'],
      ['budget_remaining', 'budget - budget_spent (NULL without a budget)'],
      ['budget_used_pct', '100 × budget_spent / budget (NULL without a budget or when it is 0)'],
      ['over_budget', '1 when budget_spent exceeds the budget'],
    ]),
    reads: () => ['projects', 'time_entries', 'expenses'],
    select: (db) => `SELECT
  p_account_id AS account_id,
  p_id AS project_id,
  p_name AS project_name,
  p_code AS project_code,
  p_client_id AS client_id,
  p_client_name AS client_name,
  p_currency AS currency,
  p_is_active AS is_active,
  p_is_billable AS is_billable,
  p_is_fixed_fee AS is_fixed_fee,
  p_budget_by AS budget_by,
  p_monthly AS budget_is_monthly,
  multiIf(p_budget_by IN ('project_cost', 'task_fees'), 'money', p_budget_by IN ('project', 'task', 'person'), 'hours', NULL) AS budget_unit,
  multiIf(p_budget_by IN ('project_cost', 'task_fees'), p_cost_budget, p_budget_by IN ('project', 'task', 'person'), p_budget, NULL) AS budget,
  round(ifNull(t_hours, 0), 2) AS hours_spent,
  round(ifNull(t_amount, 0), 2) AS billable_amount_spent,
  round(ifNull(x_cost, 0), 2) AS expenses_spent,
  round(if(budget_unit = 'money',
    if(p_monthly, ifNull(t_month_amount, 0), ifNull(t_amount, 0))
      + if(ifNull(p_include_expenses, false), if(p_monthly, ifNull(x_month_cost, 0), ifNull(x_cost, 0)), 0),
    if(p_monthly, ifNull(t_month_hours, 0), ifNull(t_hours, 0))), 2) AS budget_spent,
  round(budget - budget_spent, 2) AS budget_remaining,
  round(100 * budget_spent / nullIf(budget, 0), 2) AS budget_used_pct,
  toUInt8(ifNull(budget_spent > budget, false)) AS over_budget
FROM (
  SELECT
    ${PROJECT_COLUMNS}
    is_active AS p_is_active,
    is_billable AS p_is_billable,
    is_fixed_fee AS p_is_fixed_fee,
    budget_by AS p_budget_by,
    ifNull(budget_is_monthly, false) AS p_monthly,
    budget AS p_budget,
    cost_budget AS p_cost_budget,
    cost_budget_include_expenses AS p_include_expenses
  FROM ${live(db, 'projects')}
) AS p
LEFT JOIN (
  SELECT
    account_id AS t_account_id,
    te_project_id AS t_project_id,
    sum(te_hours) AS t_hours,
    sum(te_amount) AS t_amount,
    sumIf(te_hours, toStartOfMonth(te_day) = ${MONTH}) AS t_month_hours,
    sumIf(te_amount, toStartOfMonth(te_day) = ${MONTH}) AS t_month_amount
  FROM (${timeEntries(db)})
  GROUP BY t_account_id, t_project_id
) AS t ON p_account_id = t_account_id AND p_id = t_project_id
LEFT JOIN (
  SELECT
    account_id AS x_account_id,
    project_id AS x_project_id,
    sum(ifNull(total_cost, 0)) AS x_cost,
    sumIf(ifNull(total_cost, 0), toStartOfMonth(spent_date) = ${MONTH}) AS x_month_cost
  FROM ${live(db, 'expenses')}
  GROUP BY x_account_id, x_project_id
) AS x ON p_account_id = x_account_id AND p_id = x_project_id`,
  },
  {
    name: 'v_uninvoiced',
    description: 'Uninvoiced billable time and expenses per billable project (with its client), to date',
    columns: cols([
      ['account_id', 'Harvest account id'],
      ['client_id', 'client id'],
      ['client_name', 'client name'],
      ['project_id', 'project id'],
      ['project_name', 'project name'],
      ['project_code', 'project code (may be NULL)'],
      ['currency', "the client's currency: the amounts are in it"],
      ['is_fixed_fee', 'projects.is_fixed_fee'],
      ['total_hours', 'all hours tracked on the project, to date'],
      ['uninvoiced_hours', 'hours of billable entries not yet invoiced (is_billed false)'],
      ['uninvoiced_time_amount', 'hours × billable_rate of those entries'],
      ['uninvoiced_expenses', 'total_cost of billable expenses not yet invoiced'],
      ['invoiced_amount', 'sum of the invoice line items naming the project, to date'],
      ['uninvoiced_amount', 'uninvoiced_time_amount + uninvoiced_expenses; for fixed-fee projects the fee less invoiced_amount (as Harvest reports it)'],
      ['oldest_uninvoiced_date', 'spent_date of the oldest uninvoiced billable entry (NULL when none)'],
    ]),
    reads: () => ['projects', 'time_entries', 'expenses', 'invoice_line_items'],
    select: (db) => `SELECT
  p_account_id AS account_id,
  p_client_id AS client_id,
  p_client_name AS client_name,
  p_id AS project_id,
  p_name AS project_name,
  p_code AS project_code,
  p_currency AS currency,
  p_is_fixed_fee AS is_fixed_fee,
  round(ifNull(t_hours, 0), 2) AS total_hours,
  round(ifNull(t_uninvoiced_hours, 0), 2) AS uninvoiced_hours,
  round(ifNull(t_uninvoiced_amount, 0), 2) AS uninvoiced_time_amount,
  round(ifNull(x_uninvoiced, 0), 2) AS uninvoiced_expenses,
  round(ifNull(i_amount, 0), 2) AS invoiced_amount,
  round(if(ifNull(p_is_fixed_fee, false), ifNull(p_fee, 0) - ifNull(i_amount, 0), ifNull(t_uninvoiced_amount, 0) + ifNull(x_uninvoiced, 0)), 2) AS uninvoiced_amount,
  t_oldest AS oldest_uninvoiced_date
FROM (
  SELECT
    ${PROJECT_COLUMNS}
    is_fixed_fee AS p_is_fixed_fee,
    fee AS p_fee
  FROM ${live(db, 'projects')} AND is_billable
) AS p
LEFT JOIN (
  SELECT
    account_id AS t_account_id,
    te_project_id AS t_project_id,
    sum(te_hours) AS t_hours,
    sumIf(te_hours, te_billable AND NOT te_billed) AS t_uninvoiced_hours,
    sumIf(te_amount, te_billable AND NOT te_billed) AS t_uninvoiced_amount,
    minIf(te_day, te_billable AND NOT te_billed) AS t_oldest
  FROM (${timeEntries(db)})
  GROUP BY t_account_id, t_project_id
) AS t ON p_account_id = t_account_id AND p_id = t_project_id
LEFT JOIN (
  SELECT
    account_id AS x_account_id,
    project_id AS x_project_id,
    sumIf(ifNull(total_cost, 0), ifNull(billable, false) AND NOT ifNull(is_billed, false)) AS x_uninvoiced
  FROM ${live(db, 'expenses')}
  GROUP BY x_account_id, x_project_id
) AS x ON p_account_id = x_account_id AND p_id = x_project_id
LEFT JOIN (
  SELECT
    account_id AS i_account_id,
    project_id AS i_project_id,
    sum(ifNull(amount, 0)) AS i_amount
  FROM ${live(db, 'invoice_line_items')}
  GROUP BY i_account_id, i_project_id
) AS i ON p_account_id = i_account_id AND p_id = i_project_id`,
  },
  {
    name: 'v_freshness',
    description: 'Per table: live rows, rows marked deleted, newest _synced_at and its age (every catalog table and the run log)',
    columns: cols([
      ['table_name', 'table in the database'],
      ['resource', 'the catalog resource that fills it (empty for the run log)'],
      ['live_rows', 'rows under FINAL with _deleted = 0 (all accounts)'],
      ['deleted_rows', 'rows under FINAL marked _deleted = 1'],
      ['last_synced_at', 'newest _synced_at (NULL for an empty table)'],
      ['age_seconds', 'seconds since last_synced_at (NULL for an empty table)'],
    ]),
    reads: (catalog) => [...catalog.flatMap(tablesOf).map((t) => t.name), RUNS_TABLE],
    select: (db, catalog) => {
      const branches = catalog.flatMap((r) =>
        tablesOf(r).map(
          (t) =>
            `  SELECT ${lit(t.name)} AS f_table, ${lit(r.name)} AS f_resource, countIf(_deleted = 0) AS f_live, countIf(_deleted = 1) AS f_deleted, maxOrNull(_synced_at) AS f_last FROM ${ref(db, t.name)} FINAL`,
        ),
      );
      // The run log has no _deleted: each run is one live row.
      branches.push(
        `  SELECT ${lit(RUNS_TABLE)} AS f_table, '' AS f_resource, count() AS f_live, toUInt64(0) AS f_deleted, maxOrNull(_synced_at) AS f_last FROM ${ref(db, RUNS_TABLE)} FINAL`,
      );
      return `SELECT
  f_table AS table_name,
  f_resource AS resource,
  f_live AS live_rows,
  f_deleted AS deleted_rows,
  f_last AS last_synced_at,
  dateDiff('second', f_last, now64(3, 'UTC')) AS age_seconds
FROM (
${branches.join('\n  UNION ALL\n')}
)`;
    },
  },
  {
    name: 'v_sync_runs',
    description: 'Sync runs, latest state of each (one row per run)',
    columns: cols([
      ['account_id', 'Harvest account id'],
      ['run_id', 'run id'],
      ['workflow_id', 'Temporal workflow id of the run'],
      ['mode', "'incremental', 'full' or 'backfill'"],
      ['trigger', "'schedule' or 'manual'"],
      ['schedule_id', 'Temporal schedule id (empty for manual runs)'],
      ['started_at', 'start (UTC)'],
      ['finished_at', 'end (UTC); NULL while running'],
      ['status', "'running', 'succeeded', 'failed', 'cancelled' or 'skipped'"],
      ['duration_seconds', 'finished_at (or now, while running) - started_at'],
      ['rows', 'rows written'],
      ['requests', 'Harvest requests made'],
      ['rate_limited', 'requests answered 429'],
      ['errors', 'errors counted'],
      ['error', 'the failure message (empty unless failed)'],
      ['resources_total', 'resources in the run'],
      ['failed_resources', "names of the resources in state 'failed'"],
      ['skipped_resources', "names of the resources in state 'skipped' (a 403, or a failed dependency)"],
      ['resource_names', 'resources.name'],
      ['resource_states', 'resources.state'],
      ['resource_rows', 'resources.rows'],
      ['updated_at', '_synced_at of this state of the run'],
    ]),
    reads: () => [RUNS_TABLE],
    select: (db) => `SELECT
  \`account_id\`,
  \`run_id\`,
  \`workflow_id\`,
  \`mode\`,
  \`trigger\`,
  \`schedule_id\`,
  \`started_at\`,
  \`finished_at\`,
  \`status\`,
  (toUnixTimestamp64Milli(coalesce(\`finished_at\`, now64(3, 'UTC'))) - toUnixTimestamp64Milli(\`started_at\`)) / 1000 AS duration_seconds,
  \`rows\`,
  \`requests\`,
  \`rate_limited\`,
  \`errors\`,
  \`error\`,
  length(\`resources.name\`) AS resources_total,
  arrayFilter((n, s) -> s = 'failed', \`resources.name\`, \`resources.state\`) AS failed_resources,
  arrayFilter((n, s) -> s = 'skipped', \`resources.name\`, \`resources.state\`) AS skipped_resources,
  \`resources.name\` AS resource_names,
  \`resources.state\` AS resource_states,
  \`resources.rows\` AS resource_rows,
  \`_synced_at\` AS updated_at
FROM ${ref(db, RUNS_TABLE)} FINAL`,
  },
  {
    name: 'v_last_sync',
    description: 'Sync health per account: last success, last failure, failures in the last 24 hours',
    columns: cols([
      ['account_id', 'Harvest account id'],
      ['last_status', 'status of the most recently started run'],
      ['last_started_at', 'start of the most recently started run'],
      ['last_success_at', 'end of the last successful run (NULL if none)'],
      ['last_success_run_id', 'its run id (empty if none)'],
      ['seconds_since_success', 'seconds since last_success_at (NULL if none)'],
      ['last_failure_at', 'end (or start) of the last failed run (NULL if none)'],
      ['last_failure_error', 'its error message (empty if none)'],
      ['failures_24h', 'failed runs started in the last 24 hours'],
      ['runs_24h', 'runs started in the last 24 hours'],
      ['running', "runs whose latest state is 'running'"],
    ]),
    reads: () => [RUNS_TABLE],
    select: (db) => `SELECT
  r_account_id AS account_id,
  r_last_status AS last_status,
  r_last_started_at AS last_started_at,
  r_last_success_at AS last_success_at,
  r_last_success_run_id AS last_success_run_id,
  dateDiff('second', r_last_success_at, now64(3, 'UTC')) AS seconds_since_success,
  r_last_failure_at AS last_failure_at,
  r_last_failure_error AS last_failure_error,
  r_failures_24h AS failures_24h,
  r_runs_24h AS runs_24h,
  r_running AS running
FROM (
  SELECT
    account_id AS r_account_id,
    argMax(status, started_at) AS r_last_status,
    max(started_at) AS r_last_started_at,
    maxIf(finished_at, status = 'succeeded') AS r_last_success_at,
    argMaxIf(run_id, finished_at, status = 'succeeded') AS r_last_success_run_id,
    maxIf(coalesce(finished_at, started_at), status = 'failed') AS r_last_failure_at,
    argMaxIf(error, started_at, status = 'failed') AS r_last_failure_error,
    countIf(status = 'failed' AND started_at >= now64(3, 'UTC') - INTERVAL 24 HOUR) AS r_failures_24h,
    countIf(started_at >= now64(3, 'UTC') - INTERVAL 24 HOUR) AS r_runs_24h,
    countIf(status = 'running') AS r_running
  FROM ${ref(db, RUNS_TABLE)} FINAL
  GROUP BY r_account_id
)`,
  },
];

/** The analytics views: name, one-line description and columns (for docs and tests). */
export const ANALYTICS_VIEWS: readonly ViewDoc[] = VIEW_DEFS.map(({ name, description, columns }) => ({ name, description, columns }));

/** `CREATE OR REPLACE VIEW` statement of one view. */
export function createViewSQL(db: string, name: string, catalog: readonly ResourceSpec[] = CATALOG): string {
  const def = VIEW_DEFS.find((v) => v.name === name);
  if (!def) throw new Error(`unknown view "${name}"; known: ${VIEW_DEFS.map((v) => v.name).join(', ')}`);
  return `CREATE OR REPLACE VIEW ${ref(db, def.name)} AS\n${def.select(db, catalog)}`;
}

/**
 * (Re)creates the analytics views of `db`, after the tables exist. Idempotent. Creates the
 * `_sync_runs` run log if it is missing (the sync-health views read it). A view whose
 * tables are not all there (a database created for a subset of the catalog) is skipped.
 */
export async function ensureViews(client: ClickHouseClient, db: string): Promise<void> {
  await client.command({ query: createRunsTableSQL(db) });
  const res = await client.query({
    query: "SELECT name FROM system.tables WHERE database = {db:String} AND engine NOT IN ('View', 'MaterializedView')",
    query_params: { db },
    format: 'JSONEachRow',
  });
  const existing = new Set((await res.json<{ name: string }>()).map((r) => r.name));
  for (const def of VIEW_DEFS) {
    if (!def.reads(CATALOG).every((t) => existing.has(t))) continue;
    await client.command({ query: createViewSQL(db, def.name) });
  }
}
