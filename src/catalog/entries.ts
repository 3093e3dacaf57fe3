// The entries: every Harvest resource harvest-sync copies is one entry here. The generic
// engine (workflows + activities) interprets them; adding a resource means adding an
// entry, not a module. Pure data.

import type { ResourceSpec } from './types';
import { amounts, clientRef, col, cols, dated, hours, id, idName, lineItems, list, messageColumns, perParent, projectRef, recipientsOf, ref, report, timestamps, userRates, userRef, valuesOf } from './builders';

// Child lists whose new entries may not touch the parent's updated_at (docs/coverage.md):
// incremental runs ask the parents still open to them again, this many per resource and
// run, those asked longest ago first (_sync_parent_checks).
const RECHECK_BUDGET = 25;
const OPEN_INVOICES = { column: 'state', values: ['draft', 'open'], budget: RECHECK_BUDGET };
const ACTIVE_USERS = { column: 'is_active', values: [true], budget: RECHECK_BUDGET };

export const CATALOG: readonly ResourceSpec[] = [
  {
    name: 'company',
    description: 'The account itself (one row per account)',
    path: '/company',
    dataKey: '',
    key: [],
    paging: 'none',
    incremental: null,
    dependsOn: [],
    columns: [
      ...cols({
        name: 'String', base_uri: 'String', full_domain: 'String', is_active: 'Bool', week_start_day: 'String',
        wants_timestamp_timers: 'Bool', time_format: 'String', date_format: 'String', plan_type: 'String', clock: 'String',
        currency: 'String', weekly_capacity: 'Int64', expense_feature: 'Bool', invoice_feature: 'Bool', estimate_feature: 'Bool',
        approval_feature: 'Bool', team_feature: 'Bool', decimal_symbol: 'String', thousands_separator: 'String', color_scheme: 'String',
      }),
    ],
  },
  list('clients', 'Clients', [id, ...cols({ name: 'String', is_active: 'Bool', address: 'String', statement_key: 'String', currency: 'String' }), ...timestamps]),
  list("contacts", "Clients' contacts", [
    id,
    ...cols({ title: 'String', first_name: 'String', last_name: 'String', email: 'String', phone_office: 'String', phone_mobile: 'String', fax: 'String' }),
    ...clientRef,
    ...timestamps,
  ]),
  {
    name: 'roles',
    description: 'Roles and the users holding them (no updated_since: listed in full every run)',
    path: '/roles',
    dataKey: 'roles',
    key: ['id'],
    paging: 'cursor',
    incremental: null,
    dependsOn: [],
    columns: [id, col('name', 'String'), ...timestamps],
    nested: [valuesOf('role_users', 'Users of each role', 'user_ids', 'role_id', col('user_id', 'UInt64'))],
  },
  list('users', 'People in the account', [
    id,
    ...cols({
      first_name: 'String', last_name: 'String', email: 'String', telephone: 'String', timezone: 'String', weekly_capacity: 'Int64',
      has_access_to_all_future_projects: 'Bool', is_contractor: 'Bool', is_active: 'Bool', default_hourly_rate: 'Float64',
      cost_rate: 'Float64', roles: 'Array(String)', access_roles: 'Array(String)', avatar_url: 'String',
    }),
    ...timestamps,
  ], { nested: [valuesOf('user_roles', 'Roles of each user', 'roles', 'user_id', col('role', 'String'))] }),
  userRates('billable_rates', 'billable rate', { recheck: ACTIVE_USERS }),
  userRates('cost_rates', 'cost rate', { recheck: ACTIVE_USERS }),
  perParent({
    parent: 'users',
    name: 'teammates',
    description: "Each Manager's teammates (the people they manage; per user)",
    suffix: 'teammates',
    dataKey: 'teammates',
    paging: 'cursor',
    incremental: null,
    // Harvest answers 422 for a user who is not a Manager: that user has no teammates list.
    emptyOnStatus: 422,
    // A teammate's row copies that user's name: a changed user also re-reads the lists of
    // the Managers who have them as a teammate (found in this table's previous rows).
    changeSignals: [
      { resource: 'users', select: 'id' },
      { resource: 'users', select: 'id', via: { resource: 'teammates', match: 'id', select: 'user_id' } },
    ],
    columns: [id, ...cols({ first_name: 'String', last_name: 'String', email: 'String' })],
  }),
  list('projects', 'Projects with their client and budget settings', [
    id,
    ...cols({ name: 'String', code: 'String' }),
    ...ref('client', [['id', 'UInt64'], ['name', 'String'], ['currency', 'String']]),
    ...cols({
      is_active: 'Bool', is_billable: 'Bool', is_fixed_fee: 'Bool', bill_by: 'String', budget: 'Float64', budget_by: 'String',
      budget_is_monthly: 'Bool', notify_when_over_budget: 'Bool', over_budget_notification_percentage: 'Float64',
      show_budget_to_all: 'Bool', hourly_rate: 'Float64', fee: 'Float64', cost_budget: 'Float64',
      cost_budget_include_expenses: 'Bool', starts_on: 'Date', ends_on: 'Date', over_budget_notification_date: 'Date', notes: 'String',
    }),
    ...timestamps,
  ]),
  list('tasks', 'Task types that can be assigned to projects', [
    id,
    ...cols({ name: 'String', billable_by_default: 'Bool', default_hourly_rate: 'Float64', is_default: 'Bool', is_active: 'Bool' }),
    ...timestamps,
  ]),
  {
    name: 'project_tasks',
    description: 'Task assignments of every project (/task_assignments; the same rows as /projects/{id}/task_assignments)',
    path: '/task_assignments',
    dataKey: 'task_assignments',
    key: ['id'],
    paging: 'cursor',
    incremental: 'updated_since',
    dependsOn: ['projects', 'tasks'],
    columns: [
      id,
      ...projectRef,
      ...ref('task', [['id', 'UInt64'], ['name', 'String']]),
      ...cols({ is_active: 'Bool', billable: 'Bool', hourly_rate: 'Float64', budget: 'Float64' }),
      ...timestamps,
    ],
  },
  {
    name: 'user_assignments',
    description: 'User assignments of every project (/user_assignments)',
    path: '/user_assignments',
    dataKey: 'user_assignments',
    key: ['id'],
    paging: 'cursor',
    incremental: 'updated_since',
    dependsOn: ['projects', 'users'],
    columns: [
      id,
      ...projectRef,
      ...userRef,
      ...cols({ is_project_manager: 'Bool', is_active: 'Bool', use_default_rates: 'Bool', hourly_rate: 'Float64', budget: 'Float64' }),
      ...timestamps,
    ],
  },
  perParent({
    parent: 'users',
    name: 'user_projects',
    description: "Each user's active project assignments with their task assignments (per user)",
    suffix: 'project_assignments',
    dataKey: 'project_assignments',
    paging: 'cursor',
    incremental: 'updated_since',
    // A user's assignments change with the user, their user assignments, or the
    // project's task assignments; other users are not asked again.
    changeSignals: [
      { resource: 'users', select: 'id' },
      { resource: 'user_assignments', select: 'user_id' },
      { resource: 'project_tasks', select: 'project_id', via: { resource: 'user_assignments', match: 'project_id', select: 'user_id' } },
      { resource: 'projects', select: 'id', via: { resource: 'user_assignments', match: 'project_id', select: 'user_id' } },
    ],
    columns: [
      id,
      ...cols({ is_project_manager: 'Bool', is_active: 'Bool', use_default_rates: 'Bool', hourly_rate: 'Float64', budget: 'Float64' }),
      ...projectRef,
      ...clientRef,
      ...timestamps,
    ],
    nested: [
      {
        name: 'user_project_tasks',
        description: 'Task assignments inside each user project assignment',
        from: 'task_assignments',
        parentKey: { user_id: 'user_id', project_assignment_id: 'id' },
        parentColumn: 'project_assignment_id',
        key: ['user_id', 'project_assignment_id', 'id'],
        columns: [
          id,
          ...cols({ billable: 'Bool', is_active: 'Bool', hourly_rate: 'Float64', budget: 'Float64' }),
          ...ref('task', [['id', 'UInt64'], ['name', 'String']]),
          ...timestamps,
        ],
      },
    ],
  }),
  list('expense_categories', 'Expense categories', [id, ...cols({ name: 'String', unit_name: 'String', unit_price: 'Float64', is_active: 'Bool' }), ...timestamps]),
  list('invoice_item_categories', 'Invoice item categories', [id, ...cols({ name: 'String', use_as_service: 'Bool', use_as_expense: 'Bool' }), ...timestamps]),
  list('estimate_item_categories', 'Estimate item categories', [id, col('name', 'String'), ...timestamps]),
  dated('time_entries', 'Tracked time, one row per entry', 'spent_date', [
    id,
    ...cols({
      spent_date: 'Date', hours: 'Float64', hours_without_timer: 'Float64', rounded_hours: 'Float64', notes: 'String',
      is_locked: 'Bool', locked_reason: 'String', is_closed: 'Bool', is_billed: 'Bool', is_running: 'Bool', timer_started_at: 'DateTime',
      // Clock times such as "3:00pm" are not datetimes.
      started_time: 'String', ended_time: 'String',
      billable: 'Bool', budgeted: 'Bool', billable_rate: 'Float64', cost_rate: 'Float64',
    }),
    ...userRef,
    ...ref('client', [['id', 'UInt64'], ['name', 'String'], ['currency', 'String']]),
    ...projectRef,
    ...ref('task', [['id', 'UInt64'], ['name', 'String']]),
    ...ref('user_assignment', [['id', 'UInt64']]),
    ...ref('task_assignment', [['id', 'UInt64']]),
    ...ref('invoice', [['id', 'UInt64'], ['number', 'String']]),
    ...ref('external_reference', [['id', 'String'], ['group_id', 'String'], ['account_id', 'String'], ['service', 'String'], ['permalink', 'String'], ['service_icon_url', 'String']]),
    ...timestamps,
  ], { visibleBy: { user: 'user_id', project: 'project_id' } }),
  dated('expenses', 'Expenses, one row per entry', 'spent_date', [
    id,
    ...cols({
      spent_date: 'Date', notes: 'String', total_cost: 'Float64', units: 'Float64', billable: 'Bool', is_closed: 'Bool',
      is_locked: 'Bool', is_billed: 'Bool', locked_reason: 'String',
    }),
    ...ref('receipt', [['url', 'String'], ['file_name', 'String'], ['file_size', 'UInt64'], ['content_type', 'String']]),
    ...userRef,
    ...ref('client', [['id', 'UInt64'], ['name', 'String'], ['currency', 'String']]),
    ...projectRef,
    ...ref('expense_category', [['id', 'UInt64'], ['name', 'String'], ['unit_price', 'Float64'], ['unit_name', 'String']]),
    ...ref('user_assignment', [['id', 'UInt64']]),
    ...ref('invoice', [['id', 'UInt64'], ['number', 'String']]),
    ...timestamps,
  ], { visibleBy: { user: 'user_id', project: 'project_id' } }),
  dated('invoices', 'Invoices (line items in invoice_line_items)', 'issue_date', [
    id,
    ...cols({
      client_key: 'String', number: 'String', purchase_order: 'String', amount: 'Float64', due_amount: 'Float64', tax: 'Float64',
      tax_amount: 'Float64', tax2: 'Float64', tax2_amount: 'Float64', discount: 'Float64', discount_amount: 'Float64',
      subject: 'String', notes: 'String', state: 'String', period_start: 'Date', period_end: 'Date', issue_date: 'Date',
      due_date: 'Date', payment_term: 'String', sent_at: 'DateTime', paid_at: 'DateTime', paid_date: 'Date', closed_at: 'DateTime',
      recurring_invoice_id: 'UInt64', currency: 'String', payment_options: 'Array(String)',
    }),
    ...clientRef,
    ...ref('estimate', [['id', 'UInt64']]),
    ...ref('retainer', [['id', 'UInt64']]),
    ...ref('creator', [['id', 'UInt64'], ['name', 'String']]),
    ...timestamps,
  ], { nested: [lineItems('invoice')] }),
  perParent({
    parent: 'invoices',
    name: 'invoice_messages',
    description: 'Messages sent for each invoice (per invoice)',
    suffix: 'messages',
    dataKey: 'invoice_messages',
    paging: 'cursor',
    incremental: 'updated_since',
    recheck: OPEN_INVOICES,
    columns: [
      ...messageColumns,
      ...cols({ include_link_to_client_invoice: 'Bool', attach_pdf: 'Bool', thank_you: 'Bool', reminder: 'Bool', send_reminder_on: 'Date' }),
    ],
    nested: [recipientsOf('invoice')],
  }),
  perParent({
    parent: 'invoices',
    name: 'invoice_payments',
    description: 'Payments recorded for each invoice (per invoice)',
    suffix: 'payments',
    dataKey: 'invoice_payments',
    paging: 'cursor',
    incremental: 'updated_since',
    recheck: OPEN_INVOICES,
    columns: [
      id,
      ...cols({ amount: 'Float64', paid_at: 'DateTime', paid_date: 'Date', recorded_by: 'String', recorded_by_email: 'String', notes: 'String', transaction_id: 'String' }),
      ...ref('payment_gateway', [['id', 'String'], ['name', 'String']]),
      ...timestamps,
    ],
  }),
  dated('estimates', 'Estimates (line items in estimate_line_items)', 'issue_date', [
    id,
    ...cols({
      client_key: 'String', number: 'String', purchase_order: 'String', amount: 'Float64', tax: 'Float64', tax_amount: 'Float64',
      tax2: 'Float64', tax2_amount: 'Float64', discount: 'Float64', discount_amount: 'Float64', subject: 'String', notes: 'String',
      state: 'String', issue_date: 'Date', sent_at: 'DateTime', accepted_at: 'DateTime', declined_at: 'DateTime', currency: 'String',
    }),
    ...clientRef,
    ...ref('creator', [['id', 'UInt64'], ['name', 'String']]),
    ...timestamps,
  ], { nested: [lineItems('estimate')] }),
  perParent({
    parent: 'estimates',
    name: 'estimate_messages',
    description: 'Messages sent for each estimate (per estimate)',
    suffix: 'messages',
    dataKey: 'estimate_messages',
    paging: 'cursor',
    incremental: 'updated_since',
    recheck: { column: 'state', values: ['draft', 'sent'], budget: RECHECK_BUDGET },
    columns: messageColumns,
    nested: [recipientsOf('estimate')],
  }),
  report('time_clients', 'time/clients', 'Time report by client, per 365-day window', ['client_id', 'currency'], [...idName('client'), ...hours]),
  report('time_projects', 'time/projects', 'Time report by project, per 365-day window', ['project_id', 'currency'], [...idName('project'), ...idName('client'), ...hours]),
  report('time_tasks', 'time/tasks', 'Time report by task, per 365-day window', ['task_id', 'currency'], [...idName('task'), ...hours]),
  report('time_team', 'time/team', 'Time report by person, per 365-day window', ['user_id', 'currency'], [...idName('user'), col('is_contractor', 'Bool'), ...hours]),
  report('expenses_clients', 'expenses/clients', 'Expense report by client, per 365-day window', ['client_id', 'currency'], [...idName('client'), ...amounts]),
  report('expenses_projects', 'expenses/projects', 'Expense report by project, per 365-day window', ['project_id', 'currency'], [...idName('client'), ...idName('project'), ...amounts]),
  report('expenses_categories', 'expenses/categories', 'Expense report by category, per 365-day window', ['expense_category_id', 'currency'], [...idName('expense_category'), ...amounts]),
  report('expenses_team', 'expenses/team', 'Expense report by person, per 365-day window', ['user_id', 'currency'], [...idName('user'), col('is_contractor', 'Bool'), ...amounts]),
  report('uninvoiced', 'uninvoiced', 'Uninvoiced report by project, per 365-day window', ['project_id', 'currency'], [
    ...idName('client'),
    ...idName('project'),
    ...cols({ currency: 'String', total_hours: 'Float64', uninvoiced_hours: 'Float64', uninvoiced_expenses: 'Float64', uninvoiced_amount: 'Float64' }),
  ]),
  report('project_budget', 'project_budget', 'Project budget report (current state, one row per project)', ['project_id'], [
    ...idName('project'),
    ...idName('client'),
    ...cols({ budget_is_monthly: 'Bool', budget_by: 'String', is_active: 'Bool', budget: 'Float64', budget_spent: 'Float64', budget_remaining: 'Float64' }),
  ], false),
];
