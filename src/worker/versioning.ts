// Worker Versioning (docs/releasing.md): each worker joins the deployment with a build id
// made of the release and a hash of its workflow code; a sync stays on the build that
// started it (pinned), the pacer moves to the newest (auto-upgrade). A worker that starts
// makes its build the deployment's current one, so new syncs run the newest code while
// the syncs of an older build finish on the workers of that build.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { packageVersion } from '../config/project-root';

/** `<release>-<12 hex of the workflow code>`: the same code of the same release is the same build. */
export function buildIdOf(bundle: WorkflowBundleOption): string {
  const code = 'code' in bundle ? bundle.code : fs.readFileSync(bundle.codePath, 'utf8');
  return `${packageVersion()}-${createHash('sha256').update(code).digest('hex').slice(0, 12)}`;
}

export const canonical = (v: WorkerDeploymentVersion): string => `${v.deploymentName}.${v.buildId}`;

/**
 * Makes `v` the deployment's current version once the server has seen its workers poll
 * (a version is known only then); a no-op when it already is.
 */
export async function makeCurrent(client: Client, v: WorkerDeploymentVersion, signal?: AbortSignal): Promise<void> {
  const namespace = client.options.namespace;
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      const { workerDeploymentInfo: info, conflictToken } = await client.workflowService.describeWorkerDeployment({ namespace, deploymentName: v.deploymentName });
      if (info?.routingConfig?.currentDeploymentVersion?.buildId === v.buildId) return;
      if (info?.versionSummaries?.some((s) => s.deploymentVersion?.buildId === v.buildId || s.version === canonical(v))) {
        // The task queues an older version polled need not all be polled by this one (a
        // task queue renamed in the configuration).
        await client.workflowService.setWorkerDeploymentCurrentVersion({ namespace, deploymentName: v.deploymentName, buildId: v.buildId, conflictToken, ignoreMissingTaskQueues: true });
        continue;
      }
    } catch (err) {
      // Not found yet (the first poll has not reached the server), or a concurrent change
      // (another worker made its build current): ask again.
      if (attempt >= 60) throw new Error(`could not make build ${v.buildId} the current version of worker deployment ${v.deploymentName}: ${(err as Error).message}`);
    }
    if (attempt >= 60) throw new Error(`worker deployment ${v.deploymentName} never listed build ${v.buildId}: are its workers polling?`);
    await sleep(Math.min(1000, 100 * (attempt + 1)), undefined, signal ? { signal } : undefined);
  }
}
