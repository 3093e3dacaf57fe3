// A sync session: Temporal (cluster or embedded), plus an in-process worker when the
// server is embedded, and a way to run `harvestSync` to completion with live progress.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from './config';
import { rootMessage } from './sync/failures';
import { connectTemporal, type TemporalHandle } from './temporal';
import { createSyncWorker, type SyncWorker } from './worker';
import { progressLines, summaryLines } from './cli/progress';
import type { ResourceProgress, SyncInput, SyncSummary } from './sync/types';
import { QUERY_NAMES, WORKFLOW_TYPES, resourceWorkflowId, type SyncProgress } from './contracts';

export interface Output {
  isTTY: boolean;
  write(text: string): void;
}

export const stdoutOutput: Output = {
  isTTY: Boolean(process.stdout.isTTY),
  write: (text) => process.stdout.write(text),
};

export interface Session {
  temporal: TemporalHandle;
  /** Starts `harvestSync` and follows it to the end (or only starts it, with `detach`). */
  runSync(input: SyncInput, opts?: { detach?: boolean }): Promise<{ ok: true; summary: SyncSummary | undefined } | { ok: false; message: string }>;
  close(): Promise<void>;
}

export async function openSession(cfg: Config, out: Output): Promise<Session> {
  const temporal = await connectTemporal(cfg.temporal);
  let sw: SyncWorker | undefined;
  let running: Promise<void> | undefined;
  try {
    if (temporal.embedded) {
      sw = await createSyncWorker(cfg, { connection: temporal.nativeConnection });
      running = sw.worker.run();
    }
  } catch (err) {
    await temporal.close();
    throw err;
  }
  return {
    temporal,
    async runSync(input, opts = {}) {
      const started = Date.now();
      const accounts = input.accountId ? [input.accountId] : cfg.harvest!.accounts;
      const label = accounts === 'all' ? 'all' : accounts.join('-');
      const kind = input.mode === 'backfill' ? 'backfill' : 'sync';
      const workflowId = `harvest-${kind}-${label}-${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}`;
      const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.harvestSync, {
        taskQueue: cfg.temporal.taskQueue,
        workflowId,
        args: [input],
      });
      out.write(`${kind} ${workflowId} started (${input.mode ?? 'incremental'})\n`);
      if (opts.detach) {
        out.write(`follow it with \`harvest-sync status ${workflowId}\`\n`);
        return { ok: true, summary: undefined };
      }
      const display = startProgressDisplay(temporal.client, workflowId, out);
      try {
        const summary = (await handle.result()) as SyncSummary;
        await display.stop();
        const outcomes: Array<Pick<SyncSummary, 'accountId' | 'status' | 'skippedBecause'>> = summary.accounts ?? [summary];
        const skipped = outcomes.filter((s) => s.status === 'skipped');
        if (skipped.length === outcomes.length) {
          return { ok: false, message: `nothing done: ${skipped.map((s) => s.skippedBecause).join('; ')}` };
        }
        out.write(summaryLines(await resourcesOf(temporal.client, summary), Date.now() - started).join('\n') + '\n');
        for (const s of skipped) out.write(`warning: account ${s.accountId} skipped: ${s.skippedBecause}\n`);
        return { ok: true, summary };
      } catch (err) {
        await display.stop();
        const message = err instanceof WorkflowFailedError ? rootMessage(err) : (err as Error).message;
        return { ok: false, message };
      }
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

/**
 * Per-resource progress of a finished sync. With several accounts the sync's own result
 * holds only totals; each account's resources are in its `syncAccount` result.
 */
export async function resourcesOf(client: Client, summary: SyncSummary): Promise<ResourceProgress[]> {
  if (!summary.accounts) return summary.resources;
  const perAccount = await Promise.all(
    summary.accounts.map(async (a) => {
      if (a.status === 'skipped' || !a.runId) return [];
      const own = (await client.workflow.getHandle(a.workflowId, a.runId).result()) as SyncSummary;
      return own.resources.map((r) => ({ ...r, resource: `${a.accountId}/${r.resource}` }));
    }),
  );
  return perAccount.flat();
}

/** Live counts per resource: parent query for states, child queries for running ones. */
export async function fetchProgress(client: Client, workflowId: string): Promise<ResourceProgress[] | undefined> {
  let overall: SyncProgress;
  try {
    overall = await client.workflow.getHandle(workflowId).query<SyncProgress>(QUERY_NAMES.progress);
  } catch {
    return undefined;
  }
  if (overall.accountSyncs) {
    // Each account's sync holds its progress; with several, names become account/resource.
    const several = overall.accountSyncs.length > 1;
    const perAccount = await Promise.all(
      overall.accountSyncs.map(async (ref) => {
        const rows = ref.state === 'running' ? ((await fetchProgress(client, ref.workflowId)) ?? []) : [];
        return rows.map((r) => (several ? { ...r, resource: `${ref.accountId}/${r.resource}` } : r));
      }),
    );
    return perAccount.flat();
  }
  return Promise.all(
    overall.resources.map(async (r) => {
      if (r.state !== 'running') return r;
      const child = client.workflow.getHandle(resourceWorkflowId(workflowId, r.resource));
      try {
        const [live, desc] = await Promise.all([child.query<ResourceProgress>(QUERY_NAMES.progress), child.describe()]);
        // A page being retried: Temporal knows why (429, 5xx, timeout) and how often.
        const retrying = (desc.raw.pendingActivities ?? []).filter((a) => (a.attempt ?? 1) > 1 && a.lastFailure?.message);
        if (retrying.length) live.retrying = retrying.map((a) => `${a.lastFailure!.message} (attempt ${a.attempt})`).slice(0, 2).join('; ');
        return live;
      } catch {
        return r;
      }
    }),
  );
}

export function startProgressDisplay(client: Client, workflowId: string, out: Output): { stop(): Promise<void> } {
  let drawn = 0;
  let lastPlain = '';
  let lastPlainAt = 0;
  let stopped = false;
  const tick = async (): Promise<void> => {
    const resources = await fetchProgress(client, workflowId);
    if (!resources || stopped) return;
    const lines = progressLines(resources, { bars: out.isTTY });
    if (out.isTTY) {
      const up = drawn > 0 ? `\x1b[${drawn}A` : '';
      out.write(up + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
      drawn = lines.length;
    } else {
      // Plain lines for logs: only when something changed, at most every 5 s.
      const text = lines.join('\n');
      if (text !== lastPlain && Date.now() - lastPlainAt > 5000) {
        out.write(text + '\n');
        lastPlain = text;
        lastPlainAt = Date.now();
      }
    }
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
  };
}
