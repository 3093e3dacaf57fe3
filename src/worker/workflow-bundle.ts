// The workflow code the worker runs: prebuilt by `npm run build` (dist/workflows.bundle.js,
// so a production worker starts without webpack); from source, bundled once per version
// of the sources by a short-lived child process into node_modules/.cache, so the worker
// never loads webpack (about 120 MB of resident memory it would keep) and a second start
// reads the file.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowBundleOption } from '@temporalio/worker';

export const WORKFLOW_BUNDLE_FILE = 'workflows.bundle.js';
/** src/ (or dist/src/): the workflows are in its workflows/ folder, the prebuilt bundle beside them. */
const SRC_DIR = path.join(__dirname, '..');

/** The bundle written beside the compiled code, when this is the compiled code and it was built. */
export function prebuiltWorkflowBundle(dir = SRC_DIR): WorkflowBundleOption | undefined {
  const codePath = path.join(dir, WORKFLOW_BUNDLE_FILE);
  return fs.existsSync(codePath) ? { codePath } : undefined;
}

/**
 * From source: the bundle of these sources, cached in node_modules/.cache/harvest-sync
 * (or `fallbackDir`), made by a child process when it is not there yet. Keyed by the contents of every source file and the SDK's version,
 * so an edit or an upgrade bundles again; written to a temporary file and renamed, so two
 * workers starting at once never read half a bundle.
 */
export async function sourceWorkflowBundle(fallbackDir: string, srcDir = SRC_DIR): Promise<WorkflowBundleOption> {
  const cacheDir = writableDir(path.join(srcDir, '..', 'node_modules', '.cache', 'harvest-sync')) ?? fallbackDir;
  const codePath = path.join(cacheDir, `workflows-${sourceDigest(srcDir)}.js`);
  if (fs.existsSync(codePath)) return { codePath };
  fs.mkdirSync(cacheDir, { recursive: true });
  const partial = `${codePath}.${process.pid}.tmp`;
  // From source the child runs this file through tsx, found from here (not from the cwd).
  const script = __filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs'), __filename] : [__filename];
  try {
    await promisify(execFile)(process.execPath, [...script, path.join(srcDir, 'workflows'), partial], {
      maxBuffer: 16 * 1024 * 1024,
    });
    fs.renameSync(partial, codePath);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`bundling the workflow code failed: ${(e.stderr || e.message).trim().slice(-2000)}`);
  }
  // Older bundles of other source versions are of no further use.
  for (const f of fs.readdirSync(cacheDir)) {
    if (/^workflows-[0-9a-f]+\.js$/.test(f) && path.join(cacheDir, f) !== codePath) fs.rmSync(path.join(cacheDir, f), { force: true });
  }
  return { codePath };
}

/** `dir`, made if need be, when this process may write there (node_modules/.cache in a checkout). */
function writableDir(dir: string): string | undefined {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return undefined;
  }
}

function sourceDigest(srcDir: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) hash.update(path.relative(srcDir, file)).update('\0').update(fs.readFileSync(file)).update('\0');
    }
  };
  walk(srcDir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  hash.update((require('@temporalio/workflow/package.json') as { version: string }).version);
  return hash.digest('hex').slice(0, 16);
}

// `node --import tsx src/workflow-bundle.ts <workflowsPath> <out>`: the child that bundles.
if (require.main === module) {
  const [workflowsPath, out] = process.argv.slice(2);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { bundleWorkflowCode, DefaultLogger } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') })
    .then(({ code }) => fs.writeFileSync(out, code))
    .catch((err: Error) => {
      process.stderr.write(`${err.stack ?? err.message}\n`);
      process.exit(1);
    });
}
