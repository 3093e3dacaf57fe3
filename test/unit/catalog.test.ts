// The catalog as data: its consistency check (every rule against a planted mistake), the
// per-parent builder for any parent, and the entries as the engine receives them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CATALOG, getResource, resolveSelection, validateCatalog, type ResourceSpec } from '../../src/catalog';
import { col, cols, id, perParent, projectRef, ref, singular, timestamps, userRef } from '../../src/catalog/builders';

// The catalog as the entries produced it when they were written out by hand, before the
// builders took options. Entries added since are not in it; an existing entry changed on
// purpose: UPDATE_CATALOG_SNAPSHOT=1 node --import tsx --test test/unit/catalog.test.ts
const SNAPSHOT = path.join(__dirname, 'catalog-snapshot.json');

/** The problems of the catalog after `edit` changed a copy of it. */
function problemsAfter(edit: (catalog: ResourceSpec[], at: (name: string) => ResourceSpec) => void): string[] {
  const copy = structuredClone(CATALOG) as ResourceSpec[];
  edit(copy, (name) => copy.find((r) => r.name === name)!);
  return validateCatalog(copy);
}

/** A per-parent list of projects in the shape of Harvest's /projects/{id}/task_assignments. */
const projectTasks = (more: Partial<Parameters<typeof perParent>[0]> = {}): ResourceSpec =>
  perParent({
    parent: 'projects',
    name: 'per_project_tasks',
    description: 'Task assignments of each project (per project)',
    suffix: 'task_assignments',
    dataKey: 'task_assignments',
    paging: 'page',
    incremental: 'updated_since',
    columns: [id, ...ref('task', [['id', 'UInt64'], ['name', 'String']]), ...cols({ billable: 'Bool' }), ...timestamps],
    ...more,
  });

describe('catalog', () => {
  it('is consistent', () => {
    assert.deepEqual(validateCatalog(), []);
  });

  it('holds the entries as written before the builders took options', () => {
    if (process.env.UPDATE_CATALOG_SNAPSHOT) fs.writeFileSync(SNAPSHOT, JSON.stringify(CATALOG, null, 1) + '\n');
    const before = JSON.parse(fs.readFileSync(SNAPSHOT, 'utf8')) as ResourceSpec[];
    assert.ok(before.length >= 33);
    for (const old of before) {
      const now = CATALOG.find((r) => r.name === old.name);
      assert.ok(now, `${old.name} is gone from the catalog`);
      assert.deepStrictEqual(JSON.parse(JSON.stringify(now)), old, `${old.name} differs from the snapshot`);
    }
  });

  it('finds cycles and bad references', () => {
    const bad = [
      { ...getResource('users'), dependsOn: ['tasks'] },
      { ...getResource('tasks'), dependsOn: ['users'] },
      { ...getResource('projects'), key: ['nope'], dependsOn: ['ghost'] },
    ];
    const problems = validateCatalog(bad);
    assert.ok(problems.some((p) => p.startsWith('dependency cycle')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('key column nope')));
    assert.ok(problems.some((p) => p.includes('unknown ghost')));
  });

  it('adds dependencies to a selection and rejects unknown names', () => {
    assert.deepEqual(resolveSelection(['invoice_messages']), ['invoices', 'invoice_messages']);
    assert.deepEqual(resolveSelection(['user_projects']), ['users', 'projects', 'tasks', 'project_tasks', 'user_assignments', 'user_projects']);
    assert.deepEqual(resolveSelection(['project_tasks']), ['projects', 'tasks', 'project_tasks']);
    assert.throws(() => resolveSelection(['team_rates', 'users']), /unknown resource\(s\): team_rates/);
  });
});

describe('validateCatalog rejects what the engine would take silently', () => {
  // Each planted mistake, and the problem it must raise (and no other entry is touched).
  const cases: Array<[string, Parameters<typeof problemsAfter>[0], RegExp]> = [
    [
      "a record column named like the parent column (the record's project.id and the path's project id in one column)",
      (c) => c.push(projectTasks({ columns: [id, ...projectRef, ...timestamps] })),
      /^per_project_tasks: column project_id \(from project\.id\) clashes with the parent column project_id/,
    ],
    [
      'a nested column named like a parent key column',
      (_c, at) => at('invoices').nested![0].columns.push(col('invoice_id', 'UInt64')),
      /^invoice_line_items: column invoice_id .*clashes with the parent column invoice_id/,
    ],
    ['a nested table named like a resource', (_c, at) => (at('invoices').nested![0].name = 'clients'), /^table clients is defined twice \(resource clients, a nested array of invoices\)/],
    ['two nested tables of one name', (_c, at) => (at('estimates').nested![0].name = 'invoice_line_items'), /^table invoice_line_items is defined twice/],
    ['a key column that is no column', (_c, at) => (at('invoices').nested![0].key = ['invoice_id', 'line_id']), /^invoice_line_items: key column line_id is not a column/],
    ['a key naming a column twice', (_c, at) => (at('clients').key = ['id', 'id']), /^clients: key id, id names a column twice/],
    ['a per-parent key without the parent column', (_c, at) => (at('invoice_payments').key = ['id']), /^invoice_payments: key must include the parent column invoice_id/],
    ['a nested key without its parent column', (_c, at) => (at('invoices').nested![0].key = ['id']), /^invoice_line_items: key must include the parent column invoice_id/],
    ['a duplicate column', (_c, at) => at('clients').columns.push(col('name', 'String', 'client_name')), /^clients: duplicate column name/],
    ['a duplicate nested column', (_c, at) => at('invoices').nested![0].columns.push(col('amount', 'Float64')), /^invoice_line_items: duplicate column amount/],
    ['a column named like a bookkeeping column', (_c, at) => at('clients').columns.push(col('_deleted', 'Bool')), /^clients: column _deleted is the engine's own/],
    ['a column named account_id', (_c, at) => at('clients').columns.push(col('account_id', 'UInt64')), /^clients: column account_id is the engine's own/],
    ['a table named like a view', (_c, at) => (at('clients').name = 'v_clients'), /^table v_clients: a table name is lower_snake_case/],
    ['a path placeholder nothing fills', (_c, at) => (at('invoice_payments').path = '/invoices/{invoice_id}/payments/{payment_id}'), /^invoice_payments: path placeholder \{payment_id\} is not the parent's param/],
    ['a path without the parent placeholder', (_c, at) => (at('invoice_payments').path = '/invoices/payments'), /^invoice_payments: path lacks \{invoice_id\}/],
    ['a parent that is not a resource', (_c, at) => (at('invoice_payments').parent!.resource = 'bills'), /^invoice_payments: parent bills is not a resource/],
    ['a parent not keyed by id', (c) => c.push(projectTasks({ parent: 'invoice_payments', column: 'payment_id', suffix: 'x' })), /^per_project_tasks: parent invoice_payments must be keyed by id/],
    ['a change signal of an unknown resource', (_c, at) => at('invoice_payments').changeSignals!.push({ resource: 'bills', select: 'id' }), /^invoice_payments: change signal names unknown resource bills/],
    ['a change signal column that is no column', (_c, at) => (at('invoice_payments').changeSignals![0].select = 'invoice_id'), /^invoice_payments: change signal invoices: invoice_id is not a column of invoices/],
    [
      'a change signal via a column that is no column',
      (_c, at) => (at('user_projects').changeSignals![2].via!.match = 'project'),
      /^user_projects: change signal project_tasks via user_assignments: project is not a column of user_assignments/,
    ],
    ['change signals on a top-level list', (_c, at) => (at('clients').changeSignals = [{ resource: 'clients', select: 'id' }]), /^clients: changeSignals apply to per-parent lists only/],
    ['recheck values of the wrong type', (_c, at) => (at('billable_rates').recheck!.values = ['true']), /^billable_rates: recheck values must be booleans, like users\.is_active \(Bool\)/],
    [
      'a recheck of a parent without updated_at',
      (_c, at) => {
        at('invoices').columns = at('invoices').columns.filter((x) => x.name !== 'updated_at');
      },
      /^invoice_messages: recheck needs a parent with updated_at/,
    ],
    ['a date range on a cursor list', (_c, at) => (at('clients').dateRange = 'created_at'), /^clients: dateRange applies to page-numbered top-level lists only/],
    ['a date range that is no Date column', (_c, at) => (at('invoices').dateRange = 'created_at'), /^invoices: dateRange created_at is not a Date column/],
    ['updated_since on a single object', (_c, at) => (at('company').incremental = 'updated_since'), /^company: a single object \(paging 'none'\) takes no updated_since/],
    ['a list without its data key', (_c, at) => (at('clients').dataKey = ''), /^clients: a list needs its dataKey/],
  ];
  for (const [what, edit, expected] of cases) {
    it(what, () => {
      const problems = problemsAfter(edit);
      assert.ok(problems.some((p) => expected.test(p)), `expected ${expected}, got:\n${problems.join('\n')}`);
    });
  }
});

describe('perParent', () => {
  it('takes any parent keyed by id, with the facts of the endpoint as options', () => {
    const spec = projectTasks();
    assert.deepEqual(
      { path: spec.path, dataKey: spec.dataKey, key: spec.key, paging: spec.paging, parent: spec.parent, changeSignals: spec.changeSignals, dependsOn: spec.dependsOn },
      {
        path: '/projects/{project_id}/task_assignments',
        dataKey: 'task_assignments',
        key: ['project_id', 'id'],
        paging: 'page',
        parent: { resource: 'projects', param: 'project_id', column: 'project_id' },
        changeSignals: [{ resource: 'projects', select: 'id' }],
        dependsOn: ['projects'],
      },
    );
    assert.deepEqual(validateCatalog([...CATALOG, spec]), []);
  });

  it("depends on the parent and every change signal's resources, and takes a whole path or another column", () => {
    const spec = projectTasks({
      suffix: undefined,
      path: '/projects/{id}/task_assignments',
      param: 'id',
      column: 'parent_project_id',
      changeSignals: [
        { resource: 'projects', select: 'id' },
        { resource: 'users', select: 'id', via: { resource: 'user_assignments', match: 'user_id', select: 'project_id' } },
      ],
      dependsOn: ['tasks'],
      columns: [id, ...projectRef, ...userRef, ...timestamps],
    });
    assert.equal(spec.path, '/projects/{id}/task_assignments');
    assert.deepEqual(spec.parent, { resource: 'projects', param: 'id', column: 'parent_project_id' });
    assert.deepEqual(spec.key, ['parent_project_id', 'id']);
    assert.deepEqual(spec.dependsOn, ['projects', 'users', 'user_assignments', 'tasks']);
    assert.deepEqual(validateCatalog([...CATALOG, spec]), []);
    assert.throws(() => projectTasks({ path: '/projects/{project_id}/x' }), /either suffix or path/);
  });

  it('names the parent column after the singular parent', () => {
    assert.deepEqual(['users', 'projects', 'expense_categories', 'invoices'].map(singular), ['user', 'project', 'expense_category', 'invoice']);
  });
});
