// The embedded `run` has one worker, of this release. A sync that a killed run of another
// release left unfinished is pinned to that release's build, which no worker serves any
// more: if its history replays on this build's workflow code, this build takes it over
// (its workflows are moved here); if not, it is terminated, and the sync asked for starts
// from the committed cursors (a sync commits them only once it ends, so nothing is lost).
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundleOption } from '@temporalio/worker';

export interface Takeover {
  /** taken-over: it goes on here; restarted: terminated, to be started again; none: it was on this build. */
  outcome: 'taken-over' | 'restarted' | 'none';
  /** What to tell the user. */
  note: string;
}

interface Pinned {
  workflowId: string;
  runId: string;
  buildId: string;
}

/** The running workflows pinned to another build (the embedded server holds this run's workflows only). */
async function pinnedElsewhere(client: Client, ours: WorkerDeploymentVersion): Promise<Pinned[]> {
  const found: Pinned[] = [];
  for await (const wf of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    const info = (await client.workflow.getHandle(wf.workflowId, wf.runId).describe()).raw.workflowExecutionInfo;
    const v = info?.versioningInfo;
    const buildId = v?.deploymentVersion?.buildId ?? undefined;
    const pinned = v?.behavior === temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED;
    if (pinned && buildId && buildId !== ours.buildId) found.push({ workflowId: wf.workflowId, runId: wf.runId, buildId });
  }
  return found;
}

export async function takeOverUnfinished(client: Client, rootId: string, ours: WorkerDeploymentVersion, bundle: WorkflowBundleOption): Promise<Takeover> {
  const pinned = await pinnedElsewhere(client, ours);
  if (pinned.length === 0) return { outcome: 'none', note: '' };
  const builds = [...new Set(pinned.map((p) => p.buildId))].join(', ');
  const failures: string[] = [];
  for (const p of pinned) {
    const history = await client.workflow.getHandle(p.workflowId, p.runId).fetchHistory();
    try {
      await Worker.runReplayHistory({ workflowBundle: bundle }, history, p.workflowId);
    } catch (err) {
      failures.push(`${p.workflowId}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (failures.length === 0) {
    for (const p of pinned) {
      await client.workflowService.updateWorkflowExecutionOptions({
        namespace: client.options.namespace,
        workflowExecution: { workflowId: p.workflowId, runId: p.runId },
        workflowExecutionOptions: { versioningOverride: { pinned: { behavior: temporal.api.workflow.v1.VersioningOverride.PinnedOverrideBehavior.PINNED_OVERRIDE_BEHAVIOR_PINNED, version: ours } } },
        updateMask: { paths: ['versioning_override'] },
      });
    }
    return {
      outcome: 'taken-over',
      note: `it was started by build ${builds}; its history replays on this build (${ours.buildId}), which takes it over from the page it reached`,
    };
  }
  await client.workflow.getHandle(rootId).terminate(`started by build ${builds}, whose workflow code this build (${ours.buildId}) cannot replay`);
  for (const p of pinned) await client.workflow.getHandle(p.workflowId, p.runId).terminate('its sync was terminated').catch(() => undefined);
  return {
    outcome: 'restarted',
    note:
      `it was started by build ${builds}, and this build (${ours.buildId}) changed its workflow code (${failures[0]}): ` +
      'it was terminated without moving any cursor, and the sync starts again from the committed cursors (the pages it stored stay stored)',
  };
}
