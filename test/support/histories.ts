// Recorded workflow histories of real runs (test/histories/*.json.gz): how they are
// written (`npm run record:histories`) and read back for `Worker.runReplayHistories`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { PROJECT_ROOT } from './harness';

export const HISTORIES_DIR = path.join(PROJECT_ROOT, 'test', 'histories');

export interface RecordedScenario {
  scenario: string;
  /** What the scenario exercises, for the reader of a failed replay. */
  description: string;
  /** harvest-sync version that recorded it. */
  version: string;
  recordedAt: string;
  /** Each history as Temporal's protobuf encoding, base64 (what `temporal workflow show` would export). */
  histories: Array<{ workflowId: string; runId: string; workflowType: string; events: number; history: string }>;
}

/** Every execution (each continue-as-new run included) on one task queue, with its history. */
export async function collectHistories(client: Client, taskQueue: string): Promise<RecordedScenario['histories']> {
  const out: RecordedScenario['histories'] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    if (wf.status.name === 'RUNNING') throw new Error(`${wf.workflowId} is still running: record finished runs only`);
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const encoded = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('base64');
    out.push({ workflowId: wf.workflowId, runId: wf.runId, workflowType: wf.type, events: history.events?.length ?? 0, history: encoded });
  }
  return out.sort((a, b) => a.workflowId.localeCompare(b.workflowId) || a.runId.localeCompare(b.runId));
}

export function writeScenario(s: RecordedScenario): string {
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  const file = path.join(HISTORIES_DIR, `${s.scenario}.json.gz`);
  fs.writeFileSync(file, zlib.gzipSync(JSON.stringify(s), { level: 9 }));
  return file;
}

export function readScenarios(): RecordedScenario[] {
  if (!fs.existsSync(HISTORIES_DIR)) return [];
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(HISTORIES_DIR, f))).toString('utf8')) as RecordedScenario);
}

/** A recorded history back as the protobuf object `Worker.runReplayHistories` takes. */
export function decodeHistory(encoded: string): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.decode(Buffer.from(encoded, 'base64'));
}
