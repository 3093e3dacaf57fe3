// The SQL of the analytics views over the synced tables and the `_sync_runs` run log
// (what they hold, for readers, is in docs.ts).
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
import { tablesOf, type ResourceSpec } from '../../catalog';
import { RUNS_TABLE } from '../schema';

const q = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;
const ref = (db: string, table: string): string => `${q(db)}.${q(table)}`;
const lit = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const live = (db: string, table: string): string => `${ref(db, table)} FINAL WHERE _deleted = 0`;

export interface ViewSQL {
  name: string;
  /** Tables the view reads: it is only created when they all exist. */
  reads: (catalog: readonly ResourceSpec[]) => string[];
  select: (db: string, catalog: readonly ResourceSpec[]) => string;
}

// Live time entries with the columns renamed (see the header) and nulls settled:
// a missing `billable` is not billable, a missing rate bills nothing. Names come from the
// dimension tables by id (as of their latest reading), so entries read before a rename
// show the new name; an entry's own copy is the fallback for an id those tables lack.
const timeEntries = (db: string): string => `SELECT
    e.account_id AS account_id,
    e.spent_date AS te_day,
    toMonday(e.spent_date) AS te_week,
    e.user_id AS te_user_id,
    coalesce(n_user_name, e.user_name) AS te_user_name,
    e.client_id AS te_client_id,
    coalesce(n_client_name, e.client_name) AS te_client_name,
    e.client_currency AS te_currency,
    e.project_id AS te_project_id,
    coalesce(n_project_name, e.project_name) AS te_project_name,
    if(n_project_id IS NULL, e.project_code, n_project_code) AS te_project_code,
    e.task_id AS te_task_id,
    coalesce(n_task_name, e.task_name) AS te_task_name,
    ifNull(e.hours, 0) AS te_hours,
    ifNull(e.billable, false) AS te_billable,
    ifNull(e.is_billed, false) AS te_billed,
    if(ifNull(e.billable, false), ifNull(e.hours, 0) * ifNull(e.billable_rate, 0), 0) AS te_amount,
    e.updated_at AS te_updated_at
  FROM (SELECT * FROM ${live(db, 'time_entries')}) AS e
  LEFT JOIN (SELECT account_id AS n_user_account, id AS n_user_id, concat(first_name, ' ', last_name) AS n_user_name FROM ${live(db, 'users')}) AS nu
    ON e.account_id = n_user_account AND e.user_id = n_user_id
  LEFT JOIN (SELECT account_id AS n_client_account, id AS n_client_id, name AS n_client_name FROM ${live(db, 'clients')}) AS nc
    ON e.account_id = n_client_account AND e.client_id = n_client_id
  LEFT JOIN (SELECT account_id AS n_project_account, id AS n_project_id, name AS n_project_name, code AS n_project_code FROM ${live(db, 'projects')}) AS np
    ON e.account_id = n_project_account AND e.project_id = n_project_id
  LEFT JOIN (SELECT account_id AS n_task_account, id AS n_task_id, name AS n_task_name FROM ${live(db, 'tasks')}) AS nt
    ON e.account_id = n_task_account AND e.task_id = n_task_id`;

/** The tables the names of time-entry views come from. */
const NAME_TABLES = ['users', 'clients', 'projects', 'tasks'];

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

// Per project: all-time and current-UTC-month figures (monthly budgets count the
// current month only, as Harvest's project budget report does).
const MONTH = "toStartOfMonth(toDate(now(), 'UTC'))";

// The project fields both project views start from (renamed: see the note at the top).
// Live projects with their client's current name (a client renamed after the project was
// last read shows its new name).
const projectsWithClients = (db: string): string => `(SELECT * FROM ${live(db, 'projects')}) AS pr
  LEFT JOIN (SELECT account_id AS pc_account_id, id AS pc_id, name AS pc_name FROM ${live(db, 'clients')}) AS pc
    ON pr.account_id = pc_account_id AND pr.client_id = pc_id`;

const PROJECT_COLUMNS = `account_id AS p_account_id,
    id AS p_id,
    name AS p_name,
    code AS p_code,
    client_id AS p_client_id,
    coalesce(pc_name, client_name) AS p_client_name,
    client_currency AS p_currency,`;

export const VIEW_SQL: readonly ViewSQL[] = [
  {
    name: 'v_hours_daily',
    reads: () => ['time_entries', ...NAME_TABLES],
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
    reads: () => ['time_entries', ...NAME_TABLES],
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
    reads: () => ['time_entries', ...NAME_TABLES],
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
    reads: () => ['time_entries', ...NAME_TABLES],
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
    reads: () => ['projects', 'time_entries', 'expenses', ...NAME_TABLES],
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
  FROM ${projectsWithClients(db)}
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
    reads: () => ['projects', 'time_entries', 'expenses', 'invoice_line_items', ...NAME_TABLES],
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
  FROM ${projectsWithClients(db)}
  WHERE is_billable
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
  \`token_user_id\`,
  \`token_access_roles\`,
  \`_synced_at\` AS updated_at
FROM ${ref(db, RUNS_TABLE)} FINAL`,
  },
  {
    name: 'v_last_sync',
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
