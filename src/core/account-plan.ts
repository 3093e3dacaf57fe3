// Pure rules of an account sync across its resources: which fan-outs ask only the parents
// that changed, and how far a child list's cursor may move. Workflows import this module.
import type { CursorPlan } from './plan';
import type { ResourceProgress, WorkflowSpec } from './types';

/**
 * A fan-out asks only parents that may have changed when it has read before (`since`, its
 * lower bound) and every change signal was read in this run from no later than that bound.
 */
export function askChangedParentsOnly(spec: WorkflowSpec, since: string | undefined, plans: ReadonlyMap<string, CursorPlan>): boolean {
  if (!spec.parent || !spec.changeSignals || since === undefined) return false;
  const bound = new Date(since).toISOString();
  return spec.changeSignals.every((sig) =>
    [sig.resource, sig.via?.resource].every((r) => {
      if (r === undefined) return true;
      const read = plans.get(r)?.updatedSince;
      return read === null || (read !== undefined && read <= bound);
    }),
  );
}

/** A child list's cursor held back (or not moved) because of a resource it reads its parents from. */
export interface CursorCap {
  resource: string;
  bound: string;
  cursor: string | null;
}

/**
 * A child list asks only the parents its parent (and change signals) named, so it may not
 * move past what they read: its new cursor (`pendingCursor`) is capped by each one's cursor
 * after this commit (the new one, else the old one; none: the child commits none). A
 * payment between the two cursors is then read by the next run, once its invoice is read.
 * Changes `progress` in place; returns the caps applied.
 */
export function capChildCursors(progress: ReadonlyMap<string, ResourceProgress>, specs: ReadonlyMap<string, WorkflowSpec>, committed: Readonly<Record<string, string>>): CursorCap[] {
  const caps: CursorCap[] = [];
  const after = new Map<string, string | null>();
  const cursorAfter = (name: string): string | null => {
    if (after.has(name)) return after.get(name)!;
    const r = progress.get(name)!;
    const spec = specs.get(name)!;
    if (r.state === 'done' && r.pendingCursor) {
      const bounds = new Set([spec.parent?.resource, ...(spec.changeSignals ?? []).flatMap((sig) => [sig.resource, sig.via?.resource])]);
      for (const b of bounds) {
        if (b === undefined || b === name || !progress.has(b) || !r.pendingCursor) continue;
        const limit = cursorAfter(b);
        if (limit === null || limit < r.pendingCursor) {
          r.pendingCursor = limit;
          caps.push({ resource: name, bound: b, cursor: limit });
        }
      }
    }
    const cursor = r.state === 'done' && r.pendingCursor ? r.pendingCursor : (committed[name] ?? null);
    after.set(name, cursor);
    return cursor;
  };
  for (const name of progress.keys()) cursorAfter(name);
  return caps;
}

/** The failure types along a failure's chain of causes (a 403 inside a child's activity). */
export function failureTypes(err: unknown): string[] {
  const types: string[] = [];
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string') types.push(e.type);
  }
  return types;
}
