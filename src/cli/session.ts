// A sync session: Temporal (cluster or embedded), plus an in-process worker when the
// server is embedded, and a way to run `harvestSync` to completion with live progress.
import { CancelledFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { rootMessage } from '../core/failures';
import { connectTemporal, type TemporalHandle } from '../temporal/connection';
import { createSyncWorker, type SyncWorker } from '../worker/worker';
import { takeOverUnfinished } from './takeover';
import { changeLine, progressLines, retryLine, summaryLines } from './progress';
import type { ResourceProgress, SyncInput, SyncSummary } from '../core/types';
import { QUERY_NAMES, WORKFLOW_TYPES, resourceWorkflowId, type SyncProgress } from '../core/contracts';
// Types only: the client side never loads workflow code, yet starts and results are typed.
import type { harvestSync, syncAccount } from '../workflows';

export interface Output {
  isTTY: boolean;
  write(text: string): void;
}

export const stdoutOutput: Output = {
  isTTY: Boolean(process.stdout.isTTY),
  write: (text) => process.stdout.write(text),
};

export type RunOutcome =
  | { ok: true; summary: SyncSummary | undefined }
  | { ok: false; message: string; /** Ctrl-C: the sync was cancelled (cluster) or paused (embedded). */ interrupted?: boolean };

export interface RunOptions {
  /** Only start it (cluster mode). */
  detach?: boolean;
  /** Ctrl-C: cancel the sync on a cluster; pause it (state kept) on the embedded server. */
  interrupt?: AbortSignal;
}

export interface Session {
  temporal: TemporalHandle;
  /** Starts `harvestSync` and follows it to the end (or only starts it, with `detach`). */
  runSync(input: SyncInput, opts?: RunOptions): Promise<RunOutcome>;
  close(): Promise<void>;
}

/**
 * `durable`: with TEMPORAL_ADDRESS unset, the embedded server keeps its state in the
 * state directory, and a sync a killed run left unfinished is resumed first (`run`).
 * The demo runs on an in-memory server instead.
 */
export async function openSession(cfg: Config, out: Output, opts: { durable?: boolean } = {}): Promise<Session> {
  const temporal = await connectTemporal(cfg.temporal, { durable: opts.durable });
  let sw: SyncWorker | undefined;
  let running: Promise<void> | undefined;
  try {
    if (temporal.embedded) {
      sw = await createSyncWorker(cfg, { connection: temporal.nativeConnection });
      running = sw.worker.run();
      // Its build is the deployment's current one before any sync starts.
      await sw.worker.ready();
    }
  } catch (err) {
    await temporal.close();
    throw err;
  }

  /** Follows a sync to its end, or until Ctrl-C. */
  const follow = async (workflowId: string, started: number, interrupt: AbortSignal | undefined): Promise<RunOutcome> => {
    const handle = temporal.client.workflow.getHandle<typeof harvestSync>(workflowId);
    const display = startProgressDisplay(temporal.client, workflowId, out);
    // Aborted when the run stops following (embedded Ctrl-C), so no long poll outlives the connection.
    const stopWaiting = new AbortController();
    const result = temporal.client.withAbortSignal(stopWaiting.signal, () => handle.result()).then(
      (summary) => ({ summary }),
      (error: unknown) => ({ error }),
    );
    const interrupted = new Promise<'interrupted'>((resolve) => {
      if (interrupt?.aborted) resolve('interrupted');
      interrupt?.addEventListener('abort', () => resolve('interrupted'), { once: true });
    });
    let outcome = await Promise.race([result, interrupted]);
    if (outcome === 'interrupted') {
      await display.stop();
      if (temporal.durable) {
        // The worker stops with this process; the sync stays in the state file, mid-way.
        stopWaiting.abort();
        await result;
        return {
          ok: false,
          interrupted: true,
          message:
            `interrupted: sync ${workflowId} stopped at the page it reached; nothing was committed, the cursors are unchanged. ` +
            `Its state is kept in ${temporal.durable.dbFile}: the next \`harvest-sync run\` resumes it there, without reading the pages already stored again.`,
        };
      }
      out.write(`\ninterrupted: cancelling sync ${workflowId} (in-flight Harvest requests are aborted)…\n`);
      await handle.cancel();
      outcome = await result;
      if ('error' in outcome && isCancelled(outcome.error)) {
        return {
          ok: false,
          interrupted: true,
          message: `sync ${workflowId} cancelled: _sync_runs records it as cancelled and no cursor moved, so the next run reads from the same cursors as this one did`,
        };
      }
    } else {
      await display.stop();
    }
    if ('error' in outcome) {
      const err = outcome.error;
      if (isCancelled(err)) {
        return { ok: false, message: `sync ${workflowId} was cancelled (from the Web UI or \`temporal workflow cancel\`); no cursor moved, the next run reads from the same cursors` };
      }
      return { ok: false, message: err instanceof WorkflowFailedError ? rootMessage(err) : (err as Error).message };
    }
    const summary = outcome.summary;
    const outcomes: Array<Pick<SyncSummary, 'accountId' | 'status' | 'skippedBecause'>> = summary.accounts ?? [summary];
    const skipped = outcomes.filter((s) => s.status === 'skipped');
    if (skipped.length === outcomes.length) {
      return { ok: false, message: `nothing done: ${skipped.map((s) => s.skippedBecause).join('; ')}` };
    }
    const resources = await resourcesOf(temporal.client, summary);
    display.finish(resources);
    out.write(summaryLines(resources, Date.now() - started, { table: out.isTTY }).join('\n') + '\n');
    for (const s of skipped) out.write(`warning: account ${s.accountId} skipped: ${s.skippedBecause}\n`);
    for (const s of summary.accounts ?? [summary]) {
      if (s.token && s.token.role !== 'administrator') {
        out.write(`warning: account ${s.accountId} was synced with the token of user ${s.token.userId} (${s.token.accessRoles.join(', ') || 'no roles'}), not an Administrator's: it sees part of the account, so deletions were marked only for what it can see\n`);
      }
    }
    return { ok: true, summary };
  };

  return {
    temporal,
    async runSync(input, opts = {}) {
      if (temporal.durable) {
        // A previous run was killed mid-sync: its sync is still in the state file. Finish it
        // first, from the page it reached; it is the run asked for when it has the same input.
        for (const wf of await unfinishedSyncs(temporal.client, cfg.temporal.taskQueue)) {
          out.write(
            `resuming ${wf.workflowId} (${wf.memo.mode ?? 'sync'}, started ${wf.startTime.toISOString()}): ` +
              `a run stopped before it finished${temporal.durable.tookOver ? ' (its Temporal server was left running; stopped and restarted on its state)' : ''}; ` +
              'it goes on from the page it reached\n',
          );
          // Left by another release: taken over when its history replays here, else restarted.
          if (sw?.version) {
            const takeover = await takeOverUnfinished(temporal.client, wf.workflowId, sw.version, sw.workflowBundle);
            if (takeover.note) out.write(`${wf.workflowId}: ${takeover.note}\n`);
            if (takeover.outcome === 'restarted') continue;
          }
          const resumed = await follow(wf.workflowId, Date.now(), opts.interrupt);
          if (!resumed.ok || sameRequest(wf.memo, input)) return resumed;
          out.write('the interrupted sync is done; now the one asked for\n');
        }
      }
      if (opts.interrupt?.aborted) return { ok: false, interrupted: true, message: 'interrupted before the sync started; nothing was done' };
      const started = Date.now();
      const accounts = input.accountId ? [input.accountId] : cfg.harvest!.accounts;
      const label = accounts === 'all' ? 'all' : accounts.join('-');
      const kind = input.mode === 'backfill' ? 'backfill' : 'sync';
      const workflowId = `harvest-${kind}-${label}-${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}`;
      await temporal.client.workflow.start<typeof harvestSync>(WORKFLOW_TYPES.harvestSync, {
        taskQueue: cfg.temporal.taskQueue,
        workflowId,
        args: [input],
      });
      out.write(`${kind} ${workflowId} started (${input.mode ?? 'incremental'})\n`);
      if (opts.detach) {
        out.write(`follow it with \`harvest-sync status ${workflowId}\`\n`);
        return { ok: true, summary: undefined };
      }
      return follow(workflowId, started, opts.interrupt);
    },
    async close() {
      if (sw) {
        sw.worker.shutdown();
        await running;
        await sw.release();
      }
      await temporal.close();
    },
  };
}

function isCancelled(err: unknown): boolean {
  return err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure;
}

interface SyncMemo {
  accounts?: string[];
  mode?: string;
  resources?: string[] | 'all';
  since?: string;
  until?: string;
}

/** Running `harvestSync`s of this task queue on the embedded server (left by a killed run). */
async function unfinishedSyncs(client: Client, taskQueue: string): Promise<Array<{ workflowId: string; startTime: Date; memo: SyncMemo }>> {
  const found = [];
  const query = `WorkflowType = '${WORKFLOW_TYPES.harvestSync}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue.replace(/['\\]/g, '')}'`;
  for await (const wf of client.workflow.list({ query })) {
    found.push({ workflowId: wf.workflowId, startTime: wf.startTime, memo: (wf.memo ?? {}) as SyncMemo });
  }
  return found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
}

/** Whether the interrupted sync is the one asked for now (its memo records its input). */
function sameRequest(memo: SyncMemo, input: SyncInput): boolean {
  return (
    (memo.mode ?? 'incremental') === (input.mode ?? 'incremental') &&
    JSON.stringify(memo.resources ?? 'all') === JSON.stringify(input.resources ?? 'all') &&
    memo.since === input.since &&
    memo.until === input.until &&
    (input.accountId === undefined || (memo.accounts?.length === 1 && memo.accounts[0] === input.accountId))
  );
}

/**
 * Per-resource progress of a finished sync. With several accounts the sync's own result
 * holds only totals; each account's resources are in its `syncAccount` result.
 */
export async function resourcesOf(client: Client, summary: SyncSummary): Promise<ResourceProgress[]> {
  if (!summary.accounts) return summary.resources;
  const perAccount = await Promise.all(
    summary.accounts.map(async (a) => {
      if (a.status === 'skipped' || !a.runId) return [];
      const own = await client.workflow.getHandle<typeof syncAccount>(a.workflowId, a.runId).result();
      return own.resources.map((r) => ({ ...r, resource: `${a.accountId}/${r.resource}` }));
    }),
  );
  return perAccount.flat();
}

/** Live counts per resource: parent query for states, child queries for running ones. */
export async function fetchProgress(client: Client, workflowId: string, notBefore?: string): Promise<ResourceProgress[] | undefined> {
  let overall: SyncProgress;
  try {
    overall = await client.workflow.getHandle(workflowId).query<SyncProgress>(QUERY_NAMES.progress);
  } catch {
    return undefined;
  }
  // An account's sync id is reused run after run: until this sync's child starts, the id
  // still answers for the previous one, whose resources are all done.
  if (notBefore && overall.startedAt < notBefore) return undefined;
  if (overall.accountSyncs) {
    // Each account's sync holds its progress; with several, names become account/resource.
    const several = overall.accountSyncs.length > 1;
    const perAccount = await Promise.all(
      overall.accountSyncs.map(async (ref) => {
        const rows = ref.state === 'running' ? ((await fetchProgress(client, ref.workflowId, overall.startedAt)) ?? []) : [];
        return rows.map((r) => (several ? { ...r, resource: `${ref.accountId}/${r.resource}` } : r));
      }),
    );
    return perAccount.flat();
  }
  const [rows, own] = await Promise.all([
    resourceRows(client, workflowId, overall),
    // The account sync's own activities (run log, sync state, the final cursor commit).
    client.workflow.getHandle(workflowId).describe().catch(() => undefined),
  ]);
  const retrying = retryReasons(own?.raw.pendingActivities);
  if (retrying) {
    rows.push({
      resource: `(${(own?.raw.pendingActivities ?? []).map((a) => a.activityType?.name ?? 'activity').join(', ')})`,
      state: 'running', pages: 0, rows: 0, requests: 0, rateLimited: 0, typeMismatches: 0,
      updatedSince: null, committedCursor: null, newestUpdatedAt: null, continuedAsNew: 0, retrying,
    });
  }
  return rows;
}

type PendingActivities = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['describe']>>['raw']['pendingActivities'];

/** Why pending activities are being retried (429, 5xx, timeouts, ClickHouse outages), and how often. */
function retryReasons(pending: PendingActivities): string | undefined {
  const retrying = (pending ?? []).filter((a) => (a.attempt ?? 1) > 1 && a.lastFailure?.message);
  return retrying.length ? retrying.map((a) => `${a.lastFailure!.message} (attempt ${a.attempt})`).slice(0, 2).join('; ') : undefined;
}

function resourceRows(client: Client, workflowId: string, overall: SyncProgress): Promise<ResourceProgress[]> {
  return Promise.all(
    overall.resources.map(async (r) => {
      if (r.state !== 'running') return r;
      const child = client.workflow.getHandle(resourceWorkflowId(workflowId, r.resource));
      try {
        const [live, desc] = await Promise.all([child.query<ResourceProgress>(QUERY_NAMES.progress), child.describe()]);
        // A page being retried: Temporal knows why (429, 5xx, timeout) and how often.
        const retrying = retryReasons(desc.raw.pendingActivities);
        if (retrying) live.retrying = retrying;
        return live;
      } catch {
        return r;
      }
    }),
  );
}

/**
 * Progress while a sync runs. On a terminal: the live table, redrawn each second (a page
 * being retried shows why in its row). Elsewhere (logs, CI, cron): one line per resource
 * state change and per new retry reason; `finish` prints what changed since the last look.
 */
export function startProgressDisplay(client: Client, workflowId: string, out: Output): { stop(): Promise<void>; finish(resources: readonly ResourceProgress[]): void } {
  let drawn = 0;
  let stopped = false;
  // Per resource: the state last announced, how many looks found it running, its last retry reason.
  const said = new Map<string, { state: string; looksRunning: number; retrying?: string }>();
  const sayChanges = (resources: readonly ResourceProgress[]): void => {
    for (const r of resources) {
      const s = said.get(r.resource) ?? { state: 'pending', looksRunning: 0 };
      if (r.state === 'running') {
        // Announced at the second look: most resources are done before it, and say so then.
        if (++s.looksRunning === 2 && s.state !== 'running') {
          out.write(changeLine(r) + '\n');
          s.state = 'running';
        }
      } else if (r.state !== 'pending' && r.state !== s.state) {
        out.write(changeLine(r) + '\n');
        s.state = r.state;
      }
      if (r.retrying && r.retrying !== s.retrying) {
        out.write(retryLine(r) + '\n');
        s.retrying = r.retrying;
      }
      said.set(r.resource, s);
    }
  };
  const tick = async (): Promise<void> => {
    const resources = await fetchProgress(client, workflowId);
    if (!resources || stopped) return;
    if (out.isTTY) {
      const lines = progressLines(resources, { bars: true });
      const up = drawn > 0 ? `\x1b[${drawn}A` : '';
      out.write(up + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
      drawn = lines.length;
    } else sayChanges(resources);
  };
  let pending = Promise.resolve();
  const timer = setInterval(() => {
    pending = pending.then(tick).catch(() => undefined);
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      stopped = true;
      if (out.isTTY && drawn > 0) out.write(`\x1b[${drawn}A\x1b[J`);
    },
    finish(resources) {
      if (!out.isTTY) sayChanges(resources);
    },
  };
}
