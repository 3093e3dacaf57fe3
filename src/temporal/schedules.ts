// Temporal schedules for recurring syncs: one per account, with a stable id, so
// `schedule create` can be repeated safely and every other command finds them again.
// Overlap policy SKIP: a run that comes due while the previous one still runs is dropped
// (and counted), never queued behind it; the account's sync id guards manual runs too.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSpec } from '@temporalio/client';
import { rootMessage } from '../core/failures';
import { parseInterval } from '../core/plan';
import type { SyncInput, SyncSummary } from '../core/types';

export const SCHEDULE_MEMO_KIND = 'harvest-sync';

/** Schedules reconcile every resource this often unless told otherwise (`--full-every off`). */
export const DEFAULT_FULL_EVERY = '7d';
/** `--full-every` values that turn periodic full reconciliation off. */
export const FULL_EVERY_OFF = ['off', 'never'] as const;

/**
 * A schedule's `fullEvery` from `--full-every`: the default when not given, none for
 * `off`/`never`, else the interval as given (validateScheduleSettings checks it).
 */
export function scheduleFullEvery(option: string | undefined): string | undefined {
  if (option === undefined) return DEFAULT_FULL_EVERY;
  return (FULL_EVERY_OFF as readonly string[]).includes(option.trim()) ? undefined : option;
}

export interface ScheduleTiming {
  /** "1h", "30m", "1d" */
  every?: string;
  /** Five-field cron, in UTC unless `timezone`. */
  cron?: string;
  timezone?: string;
}

export interface ScheduleSettings extends ScheduleTiming {
  resources?: string[];
  /** The workflow input's `fullEvery` (see scheduleFullEvery for the command line's default). */
  fullEvery?: string;
  /** How far back a schedule catches up on runs missed while Temporal was unavailable. */
  catchupWindow: string;
  note?: string;
}

/** Stable schedule id of one account on one task queue (the default queue gives `harvest-sync-<account>`). */
export { scheduleIdFor } from '../core/contracts';
import { scheduleIdFor, WORKFLOW_TYPES } from '../core/contracts';
import type { harvestSync } from '../workflows';

export function scheduleSpec(t: ScheduleTiming): ScheduleSpec {
  if (t.cron) return { cronExpressions: [t.cron], ...(t.timezone ? { timezone: t.timezone } : {}) };
  const ms = parseInterval(t.every ?? '1h');
  if (ms === null) throw new Error(`--every must be an interval like "1h", "30m" or "1d" (got "${t.every}")`);
  return { intervals: [{ every: ms }], ...(t.timezone ? { timezone: t.timezone } : {}) };
}

/** Problems with schedule settings, all at once. */
export function validateScheduleSettings(s: Partial<ScheduleSettings>): string[] {
  const problems: string[] = [];
  if (s.every !== undefined && s.cron !== undefined) problems.push('--every and --cron exclude each other');
  if (s.every !== undefined && parseInterval(s.every) === null) problems.push(`--every must be an interval like "1h", "30m" or "1d" (got "${s.every}")`);
  if (s.cron !== undefined && s.cron.trim().split(/\s+/).length !== 5) problems.push(`--cron must have five fields like "0 * * * *" (got "${s.cron}")`);
  if (s.catchupWindow !== undefined && parseInterval(s.catchupWindow) === null) problems.push(`--catchup-window must be an interval like "1h" (got "${s.catchupWindow}")`);
  if (s.fullEvery !== undefined && !(FULL_EVERY_OFF as readonly string[]).includes(s.fullEvery.trim()) && parseInterval(s.fullEvery) === null) {
    problems.push(`--full-every must be an interval like "7d", or off (got "${s.fullEvery}")`);
  }
  return problems;
}

function workflowInput(accountId: string, s: ScheduleSettings): SyncInput {
  return { accountId, ...(s.resources ? { resources: s.resources } : {}), ...(s.fullEvery ? { fullEvery: s.fullEvery } : {}) };
}

export type CreateOutcome = { scheduleId: string; created: boolean };

/** Creates the account's schedule; an existing one is left as it is (create is repeatable). */
export async function createSchedule(client: Client, taskQueue: string, accountId: string, s: ScheduleSettings): Promise<CreateOutcome> {
  const scheduleId = scheduleIdFor(taskQueue, accountId);
  try {
    await client.schedule.create({
      scheduleId,
      spec: scheduleSpec(s),
      action: {
        type: 'startWorkflow',
        workflowType: WORKFLOW_TYPES.harvestSync,
        taskQueue,
        // Temporal appends the scheduled time, so every run has its own id.
        workflowId: scheduleId,
        args: [workflowInput(accountId, s)],
      },
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        catchupWindow: parseInterval(s.catchupWindow)!,
        // A failed run is visible (describe, _sync_runs); the next one may well succeed.
        pauseOnFailure: false,
      },
      memo: { kind: SCHEDULE_MEMO_KIND, accountId },
      state: { note: s.note ?? `harvest-sync: account ${accountId}` },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId, created: false };
    throw err;
  }
}

export interface ScheduleUpdate extends Partial<ScheduleTiming> {
  resources?: string[] | 'all';
  /** An interval, or `off` / `never`: no periodic full reconciliation. */
  fullEvery?: string;
  catchupWindow?: string;
}

export async function updateSchedule(client: Client, scheduleId: string, u: ScheduleUpdate): Promise<void> {
  await client.schedule.getHandle(scheduleId).update((prev) => {
    const input = { ...((prev.action.args?.[0] as SyncInput | undefined) ?? {}) };
    if (u.resources === 'all') delete input.resources;
    else if (u.resources) input.resources = u.resources;
    if (u.fullEvery !== undefined) {
      const fullEvery = scheduleFullEvery(u.fullEvery);
      if (fullEvery === undefined) delete input.fullEvery;
      else input.fullEvery = fullEvery;
    }
    let spec: ScheduleSpec = prev.spec;
    if (u.every || u.cron || u.timezone) {
      spec = u.every || u.cron ? scheduleSpec({ every: u.every, cron: u.cron, timezone: u.timezone ?? prev.spec.timezone }) : { ...prev.spec, timezone: u.timezone };
    }
    return {
      ...prev,
      spec,
      action: { ...prev.action, args: [input] },
      policies: { ...prev.policies, ...(u.catchupWindow ? { catchupWindow: parseInterval(u.catchupWindow)! } : {}) },
    };
  });
}

/** Ids of harvest-sync's schedules on this task queue. */
export async function listScheduleIds(client: Client, taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) {
    if (s.action?.type === 'startWorkflow' && s.action.workflowType === WORKFLOW_TYPES.harvestSync && s.scheduleId.startsWith(`${taskQueue}-`)) ids.push(s.scheduleId);
  }
  return ids.sort();
}

export interface RecentRun {
  workflowId: string;
  scheduledAt: string;
  status: string;
  closedAt: string | null;
  /** From the run's result: rows written, or why it failed / was skipped. */
  outcome: string;
}

export interface ScheduleReport {
  scheduleId: string;
  accountId: string | null;
  timing: string;
  paused: boolean;
  note: string | null;
  input: SyncInput;
  overlap: string;
  catchupWindow: string;
  pauseOnFailure: boolean;
  nextRuns: string[];
  runsTaken: number;
  skippedOverlap: number;
  missedCatchupWindow: number;
  running: string[];
  recent: RecentRun[];
}

export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleReport> {
  let d: ScheduleDescription;
  try {
    d = await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new Error(`no schedule ${scheduleId} (see \`harvest-sync schedule list\`)`);
    throw err;
  }
  const memo = (d.memo ?? {}) as { accountId?: string };
  const recent = await Promise.all(
    d.info.recentActions.slice(-5).reverse().map(async (a): Promise<RecentRun> => {
      const { workflowId, firstExecutionRunId } = a.action.workflow;
      const run: RecentRun = { workflowId, scheduledAt: a.scheduledAt.toISOString(), status: 'UNKNOWN', closedAt: null, outcome: '' };
      try {
        const handle = client.workflow.getHandle<typeof harvestSync>(workflowId, firstExecutionRunId);
        const desc = await handle.describe();
        run.status = desc.status.name;
        run.closedAt = desc.closeTime?.toISOString() ?? null;
        if (desc.status.name === 'COMPLETED') run.outcome = outcomeOf(await handle.result());
        else if (desc.status.name === 'FAILED') run.outcome = await handle.result().then(() => '', (err: Error) => rootMessage(err));
      } catch {
        // Past the namespace's retention: only the schedule remembers it.
      }
      return run;
    }),
  );
  // From the spec itself: memos cannot be changed by an update.
  const interval = d.spec.intervals?.[0];
  const calendar = d.spec.calendars?.[0];
  const spec = interval ? `every ${formatMs(Number(interval.every))}` : calendar ? `cron "${cronOf(calendar)}"` : 'custom spec';
  return {
    scheduleId,
    accountId: memo.accountId ?? ((d.action.args?.[0] as SyncInput | undefined)?.accountId ?? null),
    timing: `${spec}${d.spec.timezone ? ` (${d.spec.timezone})` : ' (UTC)'}`,
    paused: d.state.paused,
    note: d.state.note ?? null,
    input: (d.action.args?.[0] as SyncInput | undefined) ?? {},
    overlap: String(d.policies.overlap),
    catchupWindow: formatMs(d.policies.catchupWindow),
    pauseOnFailure: d.policies.pauseOnFailure,
    nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    runsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    recent,
  };
}

function outcomeOf(s: SyncSummary): string {
  if (s.status === 'skipped') return s.skippedBecause ?? 'skipped';
  const rows = s.resources.reduce((n, r) => n + r.rows, 0);
  const requests = s.resources.reduce((n, r) => n + (r.requests ?? 0), 0);
  const skipped = s.resources.filter((r) => r.state === 'skipped').length;
  return `${rows.toLocaleString('en-US')} rows, ${requests.toLocaleString('en-US')} requests (${s.mode})${skipped ? `, ${skipped} resource(s) skipped` : ''}`;
}

type Ranges = Array<{ start: number | string; end: number | string; step: number }>;

/** A calendar spec as the cron expression it came from (minute hour day-of-month month day-of-week). */
export function cronOf(c: { minute: Ranges; hour: Ranges; dayOfMonth: Ranges; month: Ranges; dayOfWeek: Ranges }): string {
  const full: Array<[Ranges, number | string, number | string]> = [
    [c.minute, 0, 59], [c.hour, 0, 23], [c.dayOfMonth, 1, 31], [c.month, 'JANUARY', 'DECEMBER'], [c.dayOfWeek, 'SUNDAY', 'SATURDAY'],
  ];
  return full
    .map(([ranges, lo, hi]) => {
      if (ranges.length === 0 || (ranges.length === 1 && ranges[0].start === lo && ranges[0].end === hi && ranges[0].step <= 1)) return '*';
      return ranges.map((r) => `${r.start === r.end ? r.start : `${r.start}-${r.end}`}${r.step > 1 ? `/${r.step}` : ''}`).join(',');
    })
    .join(' ');
}

export function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

export function scheduleReportLines(r: ScheduleReport): string[] {
  const lines = [
    `${r.scheduleId}${r.paused ? '  PAUSED' : ''}`,
    `  account      ${r.accountId ?? 'all'}`,
    `  runs         ${r.timing}; resources ${r.input.resources?.join(',') ?? 'all'}; ${r.input.fullEvery ? `full reconciliation of each resource every ${r.input.fullEvery}` : 'no periodic full reconciliation'}`,
    `  policies     overlap ${r.overlap}, catch-up window ${r.catchupWindow}, pause on failure ${r.pauseOnFailure ? 'on' : 'off'}`,
  ];
  if (r.note) lines.push(`  note         ${r.note}`);
  lines.push(`  next runs    ${r.paused ? '(paused)' : r.nextRuns.join(', ') || '-'}`);
  lines.push(`  taken        ${r.runsTaken} runs, ${r.skippedOverlap} skipped (previous still running), ${r.missedCatchupWindow} missed (outside catch-up window)`);
  if (r.running.length) lines.push(`  running      ${r.running.join(', ')}`);
  if (r.recent.length === 0) lines.push('  last runs    none yet');
  for (const [i, run] of r.recent.entries()) {
    lines.push(`  ${i === 0 ? 'last runs   ' : '            '} ${run.scheduledAt}  ${run.status.padEnd(10)} ${run.outcome}`);
  }
  return lines;
}
