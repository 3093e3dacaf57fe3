// What each analytics view holds, for readers: its one-line description, its columns
// and notes. docs/analytics.md's view reference is generated from this file
// (`npm run docs:views`), and a unit test keeps the two in step. The SQL is in sql.ts.

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
  /** Markdown paragraphs after the column table. */
  notes?: string;
}

const cols = (spec: Array<[string, string]>): ViewColumn[] => spec.map(([name, description]) => ({ name, description }));

const DIMENSION_DOCS: Array<[string, string]> = [
  ['user_id', 'Harvest user id of the person who tracked the time'],
  ['user_name', "the person's name, from users by id as of its latest reading (else as on their most recently updated entry)"],
  ['client_id', 'client id'],
  ['client_name', 'client name, from clients by id as of its latest reading'],
  ['project_id', 'project id'],
  ['project_name', 'project name, from projects by id as of its latest reading'],
  ['project_code', 'project code (may be NULL), from projects by id'],
  ['task_id', 'task id'],
  ['task_name', 'task name, from tasks by id as of its latest reading'],
  ['currency', "the client's currency: billable_amount is in it"],
];
const HOUR_DOCS: Array<[string, string]> = [
  ['hours', 'hours tracked'],
  ['billable_hours', 'hours of billable entries'],
  ['non_billable_hours', 'hours of non-billable entries'],
];

export const VIEW_DOCS: readonly ViewDoc[] = [
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
    notes: `Rows are grouped by the ids (and the client's currency). Names come from the dimension
tables (users, clients, projects, tasks) by id, as of their latest reading: a project
renamed in Harvest shows its new name on old days too (its entries are not re-read), and
stays one row. An id those tables lack keeps the name on its most recently updated entry.
\`billable_amount\` is the value of the time at its billable rate, fixed-fee projects
included: Harvest's time reports (\`report_time_*\`) show 0 for fixed-fee projects instead
(they bill their fee, not hours). To match them, leave out the projects with
\`v_project_budget.is_fixed_fee\`.`,
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
    notes: `The same figures as \`v_hours_daily\`, one row per ISO week (Monday to Sunday; Harvest's
own week may start on another day: \`company.week_start_day\`).`,
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
    notes: `The whole account per week, for a billable-share chart; per project or person, use
\`v_hours_weekly\`.`,
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
    notes: `A person appears in the weeks they tracked time; a week without any entry (vacation
not tracked, say) is not a row. Capacity is the person's *current*
\`users.weekly_capacity\`: Harvest keeps no history of it. \`utilization\` counts billable
hours against the capacity, \`total_utilization\` every hour.`,
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
    notes: `Every project is a row; \`budget\`, \`budget_remaining\` and \`budget_used_pct\` are NULL for
\`budget_by = 'none'\`. It follows Harvest's project budget report (synced as
\`report_project_budget\`), and the tests check that the two agree project by project:

- hours budgets (\`project\`, \`task\`, \`person\`) compare all hours tracked on the project
  with \`projects.budget\`; money budgets (\`project_cost\`) compare hours × billable rate of
  the billable entries (fixed fee or not), plus every expense when
  \`cost_budget_include_expenses\`, with \`projects.cost_budget\`;
- monthly budgets (\`budget_is_monthly\`) count the current UTC month only.

Differences from the report: the report lists budgeted projects only; the view is
computed from the synced time entries and expenses, so it is as fresh as those, while
the report rows are as of the run that read them. Budgets per task or per person
(\`project_tasks.budget\`, \`user_assignments.budget\`) are not split out: the view compares
the project's total. \`task_fees\` (a money budget per task) is read as a money budget
against \`cost_budget\`; the fake Harvest used by the tests has no such project, so compare
it with \`report_project_budget\` before relying on it.`,
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
    notes: `One row per billable project (as Harvest's uninvoiced report), zero rows included; sum
by \`client_id, currency\` for the client view. "Uninvoiced" is Harvest's rule: billable
time entries and billable expenses whose \`is_billed\` is false. A fixed-fee project's
uninvoiced amount is its fee less everything invoiced for it (the invoice lines naming
the project), as Harvest reports it.

Difference from \`report_uninvoiced\`: the report is per 365-day window, the view is to
date. The windows together cover every entry, so summing the report's
\`uninvoiced_hours\` and \`uninvoiced_expenses\` over its windows gives the view's figures
(the tests check this); a fixed-fee project's amount is repeated in every window of the
report, so it must not be summed. \`total_hours\` is all hours to date (the report's is
the window's).`,
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
    notes: `One row per table of the catalog (\`harvest-sync resources\`), nested tables and reports
included, plus the \`_sync_runs\` run log, even when a table is empty. Counting live rows
reads each table with \`FINAL\`: cheap for thousands of rows, a second or so for millions.
A table whose age keeps growing while syncs succeed is a resource no run reads any more
(or one Harvest refuses: see the runs' \`failed_resources\` and \`skipped_resources\`).`,
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
      ['token_user_id', 'Harvest user id of the token that ran the sync (`/users/me`; NULL for runs before it was recorded)'],
      ['token_access_roles', "that user's access roles (`administrator`, `manager`, `member`, …): below Administrator a full run marks deletions only for what the token sees"],
      ['updated_at', '_synced_at of this state of the run'],
    ]),
    notes: `The run log is written by the sync as a run starts, progresses and ends; the view keeps
each run's newest state. A run still \`running\` long after it started is worth a look in
the Temporal Web UI (its \`workflow_id\`).`,
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
    notes: `Alert on \`seconds_since_success\` (a schedule stopped, credentials revoked) and on
\`failures_24h\`.`,
  },
];
