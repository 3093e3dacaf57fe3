// The whole suite in one process, so the Temporal dev server starts once per run.
import { after } from 'node:test';
import { teardown } from './support/harness';
import './unit.test';
import './pacing.test';
import './fast/config.test';
import './fast/lint.test';
import './fast/workflows.test';
import './sandbox.test';
import './sync.test';
import './coverage.test';
import './faults.test';
import './crash.test';
import './cli.test';
import './operations.test';
import './views.test';
import './deploy.test';
import './operate.test';
import './releases.test';
import './durability.test';
import './state-lock.test';
import './clock-skew.test';
import './schema.test';
import './versions.test';
import './listing.test';
import './reach.test';
import './fast/views-docs.test';

after(teardown);
