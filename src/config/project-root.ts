// Where the project lives (package.json), from the sources (src/…) and the compiled code
// (dist/src/…) alike.
import * as fs from 'node:fs';
import * as path from 'node:path';

let found: string | undefined;

/** The directory of harvest-sync's package.json, above this file. */
export function projectRoot(): string {
  if (found) return found;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'harvest-sync') return (found = dir);
    if (path.dirname(dir) === dir) throw new Error(`harvest-sync: no package.json above ${__dirname}`);
  }
}

/** The release: the version in package.json. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
