// What each table must hold for a fake account: the records exactly as the fake serves them.
import { projectAssignmentsFor } from '../fake-harvest/store';
import type { FakeAccountData, Rec } from '../fake-harvest';

export interface ExpectedRow {
  key: string;
  raw: unknown;
}

const byKey = (rows: ExpectedRow[]): Map<string, unknown> => new Map(rows.map((r) => [r.key, r.raw]));

/** Expected rows per table, keyed like the table (`id`, or `user_id/id`). */
export function expectedTables(data: FakeAccountData): Record<string, Map<string, unknown>> {
  const flat = (recs: Rec[]): ExpectedRow[] => recs.map((r) => ({ key: String(r.id), raw: r }));
  const userProjects: ExpectedRow[] = [];
  for (const u of data.users) {
    for (const a of projectAssignmentsFor(data, u.id) ?? []) userProjects.push({ key: `${u.id}/${a.id}`, raw: a });
  }
  return {
    users: byKey(flat(data.users)),
    projects: byKey(flat(data.projects)),
    tasks: byKey(flat(data.tasks)),
    time_entries: byKey(flat(data.timeEntries)),
    project_tasks: byKey(flat(data.taskAssignments)),
    user_projects: byKey(userProjects),
  };
}

/** SQL giving (key, _raw) of the live rows of a table, one per record. */
export function liveRowsSQL(db: string, table: string): string {
  const key = table === 'user_projects' ? "concat(toString(user_id), '/', toString(id))" : 'toString(id)';
  return `SELECT ${key} AS key, _raw FROM \`${db}\`.\`${table}\` FINAL WHERE _deleted = 0 ORDER BY key`;
}
