// The workflow code the worker runs: prebuilt by `npm run build` (dist/workflows.bundle.js,
// so a production worker starts without webpack), bundled from source otherwise.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowBundleOption } from '@temporalio/worker';

export const WORKFLOW_BUNDLE_FILE = 'workflows.bundle.js';

/** The bundle written beside the compiled code, when this is the compiled code and it was built. */
export function prebuiltWorkflowBundle(dir = __dirname): WorkflowBundleOption | undefined {
  const codePath = path.join(dir, WORKFLOW_BUNDLE_FILE);
  return fs.existsSync(codePath) ? { codePath } : undefined;
}
