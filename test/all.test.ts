// The whole suite in one process, so the Temporal dev server starts once per run (each
// file also runs alone: test/support/harness.ts stops what it started). Unit tests first,
// then the workflows with mocked activities, then end to end.
import './unit/rules.test';
import './unit/catalog.test';
import './unit/date-windows.test';
import './unit/patches.test';
import './unit/config.test';
import './unit/lint.test';
import './unit/views-docs.test';
import './unit/cli-help.test';
import './workflows/workflows.test';
import './workflows/replay.test';
import './e2e/pacing.test';
import './e2e/sandbox.test';
import './e2e/sync.test';
import './e2e/coverage.test';
import './e2e/faults.test';
import './e2e/crash.test';
import './e2e/cli.test';
import './e2e/operations.test';
import './e2e/views.test';
import './e2e/deploy.test';
import './e2e/operate.test';
import './e2e/releases.test';
import './e2e/versioning.test';
import './e2e/durability.test';
import './e2e/state-lock.test';
import './e2e/clock-skew.test';
import './e2e/schema.test';
import './e2e/versions.test';
import './e2e/listing.test';
import './e2e/edit-stream.test';
import './e2e/reach.test';
