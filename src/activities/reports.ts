// Report window activities: which windows a windowed report reads (all, or today's and
// the stale ones), noting windows made stale, replacing a window once read, and the
// self-audit of a window against the synced entries (docs/coverage.md).
import { getResource } from '../catalog';
import { auditReportWindow, disagreeingWindows, entryDates, noteReportWindows, notedReportWindows, readCursors, replaceReportWindow, staleEntryDates, type CommittedCursor } from '../clickhouse/store';
import { windowOf, windowsBetween, windowsHolding, type ReportWindow } from '../core/windows';
import { reportScope } from '../core/token-scope';
import type { AuditOutcome, DateRange, TokenReach } from '../core/types';
import type { ActivityDeps } from './deps';

export function reportActivities(deps: ActivityDeps) {
  const ch = deps.clickhouse;
  const db = ch.database;

  // Every windowed report of a sync asks for the same dates once its inputs (time entries,
  // expenses) are stored, and the reports of one sync share a cursor (they commit
  // together): one query answers them all.
  const syncEntryDates = sharedAnswers((accountId: string, syncId: string, all: boolean) => entryDates(ch, db, accountId, all ? undefined : syncId));
  const staleDates = sharedAnswers((accountId: string, _syncId: string, since: CommittedCursor) =>
    staleEntryDates(ch, db, accountId, { since: since.cursor, notBy: since.syncId }),
  );
  return {
    /**
     * Windows a windowed report must read: all (from the oldest entry), or today's and the
     * stale ones; backfills: those covering their date range. Stale (given the report's
     * `resource`): the windows of every version of the entries written since the report's
     * own committed cursor, and the windows noted stale since then, except by the sync that
     * committed it (it wrote its entries, and noted them, before its report read them).
     * The cursor does not move when the report fails, is skipped or ends unstable, so the
     * next run derives the same windows again.
     */
    async reportWindows(req: { accountId: string; syncId: string; all: boolean; range?: DateRange; resource?: string }): Promise<ReportWindow[]> {
      const today = new Date().toISOString().slice(0, 10);
      if (req.range) {
        const last = req.range.to && req.range.to < today ? req.range.to : today;
        const first = req.range.from ?? (await syncEntryDates(req.accountId, req.syncId, true))[0] ?? last;
        return windowsBetween(first < last ? first : last, last);
      }
      const cursor = req.resource && !req.all ? (await readCursors(ch, db, req.accountId)).find((c) => c.resource === req.resource) : undefined;
      if (req.all || (req.resource && cursor === undefined)) {
        const dates = await syncEntryDates(req.accountId, req.syncId, true);
        return dates.length ? windowsBetween(dates[0] < today ? dates[0] : today, today) : [windowOf(today)];
      }
      // Callers that do not name the report: the windows of the entries this sync wrote.
      if (cursor === undefined) return windowsHolding([...(await syncEntryDates(req.accountId, req.syncId, false)), today]);
      const [dates, noted] = await Promise.all([staleDates(req.accountId, req.syncId, cursor), notedReportWindows(ch, db, req.accountId, cursor.cursor, cursor.syncId)]);
      // Noted now, the old windows of moved entries outlive the merges that drop older versions.
      const known = new Set(noted.map((w) => w.from));
      await noteReportWindows(ch, db, req.accountId, req.syncId, windowsHolding(dates).filter((w) => !known.has(w.from)));
      return windowsHolding([...dates, ...noted.map((w) => w.from), today]);
    },

    /**
     * After an input of the windowed reports (time entries, expenses) ended, in any state:
     * notes the windows its writes made stale (old dates of moved entries included), so
     * the reports re-read them whenever they next run, even if none runs in this sync.
     */
    async noteReportWindows(req: { accountId: string; syncId: string }): Promise<number> {
      const windows = windowsHolding(await staleEntryDates(ch, db, req.accountId, { writtenBy: req.syncId }));
      await noteReportWindows(ch, db, req.accountId, req.syncId, windows);
      return windows.length;
    },

    /**
     * After every page of a window: its rows this sync did not write are gone from the
     * report; under a token below Administrator (`reach`), only rows of the projects it
     * manages (the only ones it wrote: reportScope), and none of a report it may not read.
     */
    async replaceWindow(req: { accountId: string; resource: string; syncId: string; window: ReportWindow; syncStartedAt: string; reach?: TokenReach }): Promise<number> {
      const spec = getResource(req.resource);
      const scope = req.reach && req.reach.role !== 'administrator' ? reportScope(spec, req.reach) : undefined;
      if (scope && 'skip' in scope) return 0;
      const replaced = await replaceReportWindow(ch, db, spec, req.accountId, req.syncId, req.window, req.syncStartedAt, scope?.projectIds);
      // The window as Harvest totals it, against the synced entries (whole only for an Administrator's token).
      if (!scope) await auditReportWindow(ch, db, req.accountId, spec.name, req.window, req.syncId);
      return replaced;
    },

    /** The windows this sync audited whose report and entries disagree (for the summary and `status`). */
    async auditFindings(req: { accountId: string; syncId: string }): Promise<AuditOutcome> {
      const windows = await disagreeingWindows(ch, db, req.accountId, req.syncId);
      return { disagreeing: windows.map((w) => ({ report: w.report, from: w.from, to: w.to, projects: w.disagreeing.length, flagged: w.streak >= 2 })) };
    },
  };
}

/**
 * `ask` with its answers shared by callers with the same arguments for a minute; a failed
 * answer is not kept. (`syncId` is part of the key: a later sync asks again.)
 */
function sharedAnswers<A extends unknown[], T>(ask: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  const asked = new Map<string, { at: number; answer: Promise<T> }>();
  return (...args: A): Promise<T> => {
    const now = Date.now();
    for (const [k, v] of asked) if (now - v.at > 60_000) asked.delete(k);
    const key = JSON.stringify(args);
    const known = asked.get(key);
    if (known) return known.answer;
    const answer = ask(...args);
    asked.set(key, { at: now, answer });
    answer.catch(() => asked.delete(key));
    return answer;
  };
}
