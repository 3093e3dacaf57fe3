#!/usr/bin/env node
// Runs the compiled program (dist/, from `npm run build`) when it is there and not older
// than the sources; otherwise the TypeScript sources through tsx's require hook, so a
// fresh clone needs no build step. An image ships dist/ without src/ or tsx.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'src', 'cli', 'main.js');
const source = path.join(root, 'src', 'cli', 'main.ts');

/** Newest modification time of the .ts files under dir (0 when there are none). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

function hasTsx() {
  try {
    require.resolve('tsx/cjs/api');
    return true;
  } catch {
    return false;
  }
}

function entryPoint() {
  const sources = path.join(root, 'src');
  if (!fs.existsSync(compiled)) return source;
  if (!fs.existsSync(sources) || !hasTsx()) return compiled;
  if (fs.statSync(compiled).mtimeMs >= newestSource(sources)) return compiled;
  process.stderr.write('harvest-sync: dist/ is older than src/, running the sources (npm run build refreshes dist/)\n');
  return source;
}

const entry = entryPoint();
if (entry.endsWith('.ts')) require('tsx/cjs/api').register();
const { main } = require(entry);

main(process.argv.slice(2)).then((code) => process.exit(code));
