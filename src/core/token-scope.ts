// What deletion marking may touch under a token below Administrator. Pure: the markDeleted
// activity applies it with the TokenReach the workflow read into its history.
import type { ResourceSpec } from '../catalog';
import type { TokenReach } from './types';

export interface RowScope {
  userColumn: string;
  userIds: number[];
  projectColumn?: string;
  projectIds?: number[];
}

export type DeletionScope = { scope: RowScope; note: string } | { skip: string };

/** Who the token is, as one phrase for warnings (`user 42, member`). */
export function describeToken(reach: Pick<TokenReach, 'userId' | 'role'>): string {
  return `user ${reach.userId}, ${reach.role}`;
}

/**
 * A list that says whose each row is (`visibleBy`) is narrowed to the rows the token could
 * see; any other list is not marked at all, since its listing may have left out what the
 * token may not see.
 */
export function deletionScope(spec: ResourceSpec, reach: TokenReach): DeletionScope {
  const who = describeToken(reach);
  if (!spec.visibleBy) {
    return { skip: `deletions not marked: the token (${who}) is not an Administrator's, so its listing of ${spec.name} may leave out records that still exist` };
  }
  const userIds = reach.userIds ?? [reach.userId];
  const projectIds = spec.visibleBy.project ? (reach.projectIds ?? []) : [];
  const scope: RowScope = { userColumn: spec.visibleBy.user, userIds, ...(spec.visibleBy.project && projectIds.length ? { projectColumn: spec.visibleBy.project, projectIds } : {}) };
  const whose = [`${userIds.length} user(s)`, ...(projectIds.length ? [`${projectIds.length} managed project(s)`] : [])].join(' and ');
  return { scope, note: `deletions marked only for rows of ${whose} the token (${who}) can see` };
}

export type ReportScope = { projectIds: number[]; note: string } | { skip: string };

/**
 * What a report may write under a token below Administrator. Harvest sums a report's rows
 * over what the token sees, so a row is complete only where the token sees every entry
 * behind it: the projects a Manager manages. Reports keyed by project write (and replace)
 * the rows of those projects only; reports whose rows mix projects (by client, task,
 * person, category) are not read at all, nor is any report when no project is managed.
 */
export function reportScope(spec: { name: string; key?: readonly string[] }, reach: TokenReach): ReportScope {
  const who = describeToken(reach);
  const projectIds = reach.projectIds ?? [];
  if (!spec.key?.includes('project_id')) {
    return { skip: `not read: the token (${who}) is not an Administrator's and the rows of ${spec.name} mix projects it may not see, so their totals would be partial; read reports with an Administrator's token` };
  }
  if (projectIds.length === 0) {
    return { skip: `not read: the token (${who}) manages no project, so every row of ${spec.name} would hold partial totals; read reports with an Administrator's token` };
  }
  return { projectIds, note: `only the rows of the ${projectIds.length} project(s) the token (${who}) manages are written` };
}
