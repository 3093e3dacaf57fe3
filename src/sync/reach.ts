// What deletion marking may touch under a token below Administrator. Pure: the markDeleted
// activity applies it with the TokenReach the workflow read into its history.
import type { ResourceSpec } from '../harvest/catalog';
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
