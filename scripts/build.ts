// `npm run build`: compiles src/ to dist/ and prebuilds the workflow bundle into
// dist/src/workflows.bundle.js, so `node dist/src/cli/main.js worker` starts without tsx or webpack.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_FILE } from '../src/worker/workflow-bundle';

async function build(): Promise<void> {
  const root = path.join(__dirname, '..');
  const dist = path.join(root, 'dist');
  fs.rmSync(dist, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  // Bundled from the compiled JavaScript: exactly the code the rest of dist/ runs.
  const started = Date.now();
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(dist, 'src', 'workflows', 'index.js'), logger: new DefaultLogger('WARN') });
  fs.writeFileSync(path.join(dist, 'src', WORKFLOW_BUNDLE_FILE), code);
  process.stdout.write(`built dist/ and dist/src/${WORKFLOW_BUNDLE_FILE} (${(code.length / 1024).toFixed(0)} KiB, bundled in ${Date.now() - started} ms)\n`);
}

build().catch((err: Error) => {
  process.stderr.write(`build failed: ${err.message}\n`);
  process.exit(1);
});
