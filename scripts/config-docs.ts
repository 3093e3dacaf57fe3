// Writes .env.example and docs/configuration.md's table of variables from src/config/variables.ts.
//   npm run docs:config          (rewrite both)
//   npm run docs:config -- --check   (exit 1 when either is out of step)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderEnvExample, withReadmeTable } from '../src/config/docs';

const root = path.join(__dirname, '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [file, render] of [
  ['.env.example', () => renderEnvExample()],
  ['docs/configuration.md', (current: string) => withReadmeTable(current)],
] as const) {
  const target = path.join(root, file);
  const current = fs.readFileSync(target, 'utf8');
  const wanted = render(current);
  if (wanted === current) continue;
  if (check) {
    process.stderr.write(`${file} is out of step with src/config/variables.ts: run npm run docs:config\n`);
    stale++;
  } else {
    fs.writeFileSync(target, wanted);
    process.stdout.write(`wrote ${file}\n`);
  }
}
process.exit(stale ? 1 : 0);
