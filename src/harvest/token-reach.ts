// What the configured token may see: `/users/me` (whose token, which access roles) and,
// for a Manager, whom and what it manages. Read at the start of each account sync; the
// answer goes into workflow history, so nothing here may carry a credential.
import type { HarvestClockReading, TokenReach, TokenReachReading } from '../core/types';
import type { HarvestClient, RequestTiming } from './client';
import { HarvestError } from './errors';

type Rec = Record<string, unknown>;

/** administrator > manager > member, from Harvest's `access_roles`. */
export function roleOf(accessRoles: readonly string[]): TokenReach['role'] {
  if (accessRoles.includes('administrator')) return 'administrator';
  if (accessRoles.includes('manager')) return 'manager';
  return 'member';
}

/** Reads the token's reach; its first answer's `Date` header tells Harvest's clock. */
export async function readTokenReach(harvest: HarvestClient, baseUrl: string, accountId: string): Promise<TokenReachReading> {
  const timing: RequestTiming = { pacedMs: 0 };
  const reach = await readReach(harvest, baseUrl, accountId, timing);
  const clock: HarvestClockReading | undefined =
    timing.harvestDateMs !== undefined && timing.answeredAt !== undefined
      ? { harvestDateMs: timing.harvestDateMs, ageMs: Math.max(0, Math.round(performance.now() - timing.answeredAt)) }
      : undefined;
  return clock ? { ...reach, clock } : reach;
}

async function readReach(harvest: HarvestClient, baseUrl: string, accountId: string, timing: RequestTiming): Promise<TokenReach> {
  const api = baseUrl.replace(/\/+$/, '');
  const where = (path: string): string => `the token's reach in account ${accountId} (GET ${path})`;
  const me = (await harvest.getJson(`${api}/users/me`, where('/users/me'), accountId, undefined, timing)) as Rec | null;
  if (!me || typeof me.id !== 'number') {
    throw new HarvestError(`unexpected response for ${where('/users/me')}: no numeric id`, 'malformed', 200, false);
  }
  const accessRoles = Array.isArray(me.access_roles) ? me.access_roles.filter((r): r is string => typeof r === 'string') : [];
  const role = roleOf(accessRoles);
  const reach: TokenReach = { userId: me.id, accessRoles, role };
  if (role === 'administrator') return reach;

  const userIds = new Set<number>([me.id]);
  const projectIds = new Set<number>();
  if (role === 'manager') {
    // A Manager also sees the records of the people it manages and of the projects it manages.
    for (const t of await listAll(harvest, `${api}/users/${me.id}/teammates?per_page=2000`, 'teammates', where(`/users/${me.id}/teammates`), accountId)) {
      if (typeof t.id === 'number') userIds.add(t.id);
    }
    for (const pa of await listAll(harvest, `${api}/users/me/project_assignments?per_page=2000`, 'project_assignments', where('/users/me/project_assignments'), accountId)) {
      const project = pa.project as Rec | undefined;
      if (pa.is_project_manager === true && typeof project?.id === 'number') projectIds.add(project.id);
    }
  }
  return { ...reach, userIds: [...userIds].sort((a, b) => a - b), ...(role === 'manager' ? { projectIds: [...projectIds].sort((a, b) => a - b) } : {}) };
}

async function listAll(harvest: HarvestClient, first: string, key: string, where: string, accountId: string): Promise<Rec[]> {
  const out: Rec[] = [];
  const prefix = first.slice(0, first.indexOf('/users/'));
  for (let url: string | null = first; url; ) {
    const body = (await harvest.getJson(url, where, accountId)) as Rec;
    const records = body?.[key];
    if (!Array.isArray(records)) throw new HarvestError(`unexpected response for ${where}: no "${key}" array`, 'malformed', 200, false);
    out.push(...(records as Rec[]));
    const next = (body.links as Rec | undefined)?.next;
    // The token goes only to the configured API.
    url = typeof next === 'string' && next.startsWith(prefix + '/') ? next : null;
  }
  return out;
}
