#!/usr/bin/env node
// Runs the TypeScript sources through tsx's require hook (no build step needed).
require('tsx/cjs/api').register();
const { main } = require('../src/client.ts');

main(process.argv.slice(2)).then((code) => process.exit(code));
