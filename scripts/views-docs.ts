// Regenerates docs/analytics.md's view reference from src/clickhouse/views/docs.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withViewReference } from '../src/clickhouse/views';

const file = path.resolve(__dirname, '..', 'docs', 'analytics.md');
fs.writeFileSync(file, withViewReference(fs.readFileSync(file, 'utf8')));
console.log(`wrote ${path.relative(process.cwd(), file)}`);
