// The `_sync_runs` log as the tests read it.

/** A run log row as the sync writes it (the views must show the newest state of each run). */
export interface RunRow {
  account_id: number;
  run_id: string;
  workflow_id: string;
  mode: string;
  trigger: string;
  schedule_id: string;
  started_at: string;
  finished_at: string | null;
  status: string;
  rows: number;
  requests: number;
  rate_limited: number;
  errors: number;
  error: string;
  'resources.name': string[];
  'resources.state': string[];
  'resources.rows': number[];
  'resources.pages': number[];
  'resources.requests': number[];
  'resources.rate_limited': number[];
  'resources.deleted': number[];
  'resources.error': string[];
  _synced_at: string;
}
