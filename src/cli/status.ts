// `harvest-sync status`: recent syncs and, for running ones, per-resource progress from
// the workflows' `progress` queries. On a terminal it follows running syncs live.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WORKFLOW_TYPES } from '../core/contracts';
import { fetchProgress, type Output } from './session';
import type { AuditOutcome, FullEveryOutcome, ResourceProgress } from '../core/types';
import { progressLines } from './progress';

export interface SyncStatus {
  workflowId: string;
  runId: string;
  status: string;
  accounts: string[] | null;
  mode: string | null;
  startTime: string;
  closeTime: string | null;
  /** Whose token synced each account (`/users/me`), once its account sync finished. */
  tokens?: Record<string, { userId: number; accessRoles: string[]; role: string }>;
  /** Per account, once its sync finished: the resources `fullEvery` found due, and those it reconciled. */
  fullEvery?: Record<string, FullEveryOutcome>;
  /** Per account, once its sync finished: report windows whose totals disagree with the synced entries. */
  audit?: Record<string, AuditOutcome>;
  resources?: ResourceProgress[];
}

export async function collectStatus(client: Client, opts: { workflowId?: string; limit: number }): Promise<SyncStatus[]> {
  const found: Array<Pick<WorkflowExecutionInfo, 'workflowId' | 'runId' | 'status' | 'memo' | 'startTime' | 'closeTime'>> = [];
  if (opts.workflowId) {
    found.push(await client.workflow.getHandle(opts.workflowId).describe());
  } else {
    for await (const wf of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPES.harvestSync}'` })) {
      found.push(wf);
      if (found.length >= opts.limit) break;
    }
  }
  return Promise.all(
    found.map(async (wf) => {
      const memo = (wf.memo ?? {}) as { accounts?: string[]; mode?: string; tokens?: SyncStatus['tokens']; fullEvery?: SyncStatus['fullEvery']; audit?: SyncStatus['audit'] };
      return {
        workflowId: wf.workflowId,
        runId: wf.runId,
        status: wf.status.name,
        accounts: memo.accounts ?? null,
        mode: memo.mode ?? null,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
        ...(memo.tokens ? { tokens: memo.tokens } : {}),
        ...(memo.fullEvery ? { fullEvery: memo.fullEvery } : {}),
        ...(memo.audit ? { audit: memo.audit } : {}),
        resources: wf.status.name === 'RUNNING' ? await fetchProgress(client, wf.workflowId) : undefined,
      };
    }),
  );
}

export function statusLines(report: SyncStatus[], bars: boolean): string[] {
  if (report.length === 0) return ['no harvestSync runs found'];
  const lines: string[] = [];
  for (const r of report) {
    const what = [r.mode, r.accounts ? `account ${r.accounts.join(',')}` : null].filter(Boolean).join(', ');
    lines.push(`${r.workflowId}  ${r.status}${what ? `  (${what})` : ''}  started ${r.startTime}${r.closeTime ? `  closed ${r.closeTime}` : ''}`);
    for (const [account, t] of Object.entries(r.tokens ?? {})) lines.push(`    ${tokenLine(account, t)}`);
    for (const [account, f] of Object.entries(r.fullEvery ?? {})) lines.push(`    ${fullEveryLine(account, f)}`);
    for (const [account, a] of Object.entries(r.audit ?? {})) lines.push(...auditLines(account, a).map((l) => `    ${l}`));
    if (r.resources) lines.push(...progressLines(r.resources, { bars }).map((l) => `    ${l}`));
  }
  return lines;
}

/** `token of account 1: user 42, roles member (not an Administrator: sees part of the account)` */
export function tokenLine(account: string, t: NonNullable<SyncStatus['tokens']>[string]): string {
  const warn = t.role === 'administrator' ? '' : ' (not an Administrator: sees part of the account; deletions only marked for what it sees)';
  return `token of account ${account}: user ${t.userId}, roles ${t.accessRoles.join(', ') || 'none'}${warn}`;
}

/** `full reconciliation of account 1 (fullEvery): 3 of 4 due resource(s) reconciled; still due: users` */
export function fullEveryLine(account: string, f: FullEveryOutcome): string {
  const still = f.due.filter((r) => !f.reconciled.includes(r));
  return `full reconciliation of account ${account} (fullEvery): ${f.reconciled.length} of ${f.due.length} due resource(s) reconciled` +
    (still.length ? `; still due: ${still.join(', ')}` : '');
}

/**
 * `audit of account 1: report_time_projects 2025-12-25..2026-12-24 disagrees with the synced
 * entries for 1 project(s); its entries are re-read by the next run` (FLAGGED: twice in a row).
 */
export function auditLines(account: string, a: AuditOutcome): string[] {
  return a.disagreeing.map((w) =>
    `audit of account ${account}: ${w.report} ${w.from}..${w.to} disagrees with the synced entries for ${w.projects} project(s); ` +
    (w.flagged ? 'FLAGGED: it disagreed after its entries were re-read' : 'its entries are re-read by the next run'));
}

/** Prints the status once, or (terminal, running syncs) redraws it every second until they end. */
export async function showStatus(client: Client, out: Output, opts: { workflowId?: string; limit: number; json: boolean; follow: boolean }): Promise<void> {
  let report = await collectStatus(client, opts);
  if (opts.json) {
    out.write(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  const follow = opts.follow && out.isTTY;
  let drawn = 0;
  for (;;) {
    const lines = statusLines(report, out.isTTY);
    const up = drawn > 0 ? `\x1b[${drawn}A` : '';
    out.write(follow ? up + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n\x1b[J' : lines.join('\n') + '\n');
    drawn = lines.length;
    if (!follow || !report.some((r) => r.status === 'RUNNING')) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    report = await collectStatus(client, opts);
  }
}
