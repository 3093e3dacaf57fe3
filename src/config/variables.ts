// Every environment variable harvest-sync reads, as data. This table drives the parsing
// (src/config/values.ts), the list of secrets redacted from logs, .env.example and the
// README's table (`npm run docs:config` writes both; a unit test keeps them in step).

/** How a value is read; src/config/values.ts has one parser per type. */
export type VariableType =
  | 'text'
  | 'url'
  | 'positive'
  | 'count'
  | 'boolean'
  | 'date'
  | 'path'
  | 'pem-file'
  | 'identifier'
  | 'host-port'
  | 'account-ids'
  | 'api-key'
  | 'aes-key'
  | 'key-id'
  | 'key-ring'
  | 'origins'
  | 'log-format'
  | 'log-level'
  | 'pacing'
  | 'page-size'
  | 'budgets';

/**
 * Sections group the table in .env.example; `harvest` settings are read only by commands
 * that talk to Harvest, `compose` ones only by docker-compose.yml.
 */
export type Section = 'harvest' | 'tuning' | 'temporal' | 'clickhouse' | 'encryption' | 'observability' | 'compose';

export interface EnvVariable {
  readonly name: string;
  readonly section: Section;
  readonly type: VariableType;
  /** The value used when the variable is unset, as it would be written (parsed like one). */
  readonly default?: string;
  /** The default as the docs show it, where it is computed or depends on other settings. */
  readonly defaultDoc?: string;
  /** A value that must never be logged: configured values are redacted from every log line. */
  readonly secret?: boolean;
  /** One sentence for the README's table (Markdown) and .env.example. */
  readonly doc: string;
  /** In .env.example: the value shown, and whether the line is active (else commented out). */
  readonly example?: { readonly value: string; readonly active?: boolean };
}

export const DEFAULT_USER_AGENT = 'harvest-sync (https://github.com/harvest-sync/harvest-sync)';

export const ENV_VARIABLES = [
  // --- Harvest ------------------------------------------------------------------------
  {
    name: 'HARVEST_ACCOUNT_ID', section: 'harvest', type: 'account-ids', defaultDoc: 'required',
    doc: 'Harvest account id; several separated by commas; or `all` (every Harvest account the token reaches)',
    example: { value: '', active: true },
  },
  {
    name: 'HARVEST_ACCESS_TOKEN', section: 'harvest', type: 'text', secret: true,
    doc: 'personal access token (<https://id.getharvest.com/developers>), or the three OAuth2 variables below',
    example: { value: '', active: true },
  },
  { name: 'HARVEST_CLIENT_ID', section: 'harvest', type: 'text', doc: 'OAuth2 instead of a personal access token: the app\'s client id' },
  { name: 'HARVEST_CLIENT_SECRET', section: 'harvest', type: 'text', secret: true, doc: 'OAuth2: the app\'s client secret' },
  { name: 'HARVEST_REFRESH_TOKEN', section: 'harvest', type: 'text', secret: true, doc: 'OAuth2: a refresh token; a rotated one is kept in `HARVEST_TOKEN_FILE`' },
  {
    name: 'HARVEST_USER_AGENT', section: 'harvest', type: 'text', default: DEFAULT_USER_AGENT, defaultDoc: '`harvest-sync (…)`',
    doc: 'how harvest-sync names itself to Harvest, which asks for `app (contact email or URL)`',
    example: { value: '"harvest-sync (you@example.com)"', active: true },
  },
  {
    name: 'HARVEST_START_DATE', section: 'harvest', type: 'date', defaultDoc: 'all history',
    doc: 'first `updated_since` of a resource without a cursor (first syncs only)', example: { value: '2024-01-01' },
  },
  { name: 'HARVEST_BASE_URL', section: 'harvest', type: 'url', default: 'https://api.harvestapp.com/v2', doc: 'API base' },
  { name: 'HARVEST_TOKEN_URL', section: 'harvest', type: 'url', default: 'https://id.getharvest.com/api/v2/oauth2/token', doc: 'OAuth2 token endpoint' },
  {
    name: 'HARVEST_ACCOUNTS_URL', section: 'harvest', type: 'url', defaultDoc: '`HARVEST_TOKEN_URL` with `/accounts` for `/oauth2/token`',
    doc: 'account list, for `HARVEST_ACCOUNT_ID=all`',
  },
  { name: 'HARVEST_REQUEST_TIMEOUT_MS', section: 'harvest', type: 'positive', default: '60000', doc: 'per-request timeout (milliseconds)' },
  {
    name: 'HARVEST_PER_PAGE', section: 'harvest', type: 'page-size', default: '2000',
    doc: 'advanced: `per_page` of list requests, 1 to 2000 (Harvest\'s maximum); smaller pages only cost more requests (tests use them to read many pages of few records)',
  },
  { name: 'HARVEST_SYNC_STATE_DIR', section: 'harvest', type: 'path', default: '.harvest-sync', doc: 'where a rotated OAuth2 refresh token is kept, and the embedded `run` keeps its Temporal state (`temporal-run.db`) and lock file' },
  {
    name: 'HARVEST_TOKEN_FILE', section: 'harvest', type: 'path', defaultDoc: '`oauth-<accounts>.json` in `HARVEST_SYNC_STATE_DIR`',
    doc: 'the file that keeps the newest OAuth2 refresh token',
  },
  // --- Pacing -------------------------------------------------------------------------
  {
    name: 'HARVEST_PACING', section: 'tuning', type: 'pacing', default: 'window',
    doc: '`window`: Harvest\'s windows per token (100 / 15 s, reports 100 / 15 min), shared by every worker through a pacer workflow (docs/pacing.md); `queue`: the two task-queue rates below alone',
  },
  {
    name: 'HARVEST_REQUESTS_PER_SECOND', section: 'tuning', type: 'positive', default: '6.5',
    doc: 'with `HARVEST_PACING=queue`: task-queue-wide page rate (Harvest: 100 / 15 s per token)',
  },
  {
    name: 'HARVEST_REPORTS_REQUESTS_PER_SECOND', section: 'tuning', type: 'positive', default: String(100 / 900), defaultDoc: '`0.111` (100 / 15 min)',
    doc: 'with `HARVEST_PACING=queue`: pace of report requests (their own task queue)', example: { value: '0.111' },
  },
  {
    name: 'HARVEST_PACING_BUDGETS', section: 'tuning', type: 'budgets', defaultDoc: 'Harvest\'s: `general=100/15,reports=100/900`',
    doc: 'with `HARVEST_PACING=window`: the windows paced to, as `budget=requests/seconds` separated by commas; only for an API with other limits (a test fake). Every worker of a token must be given the same',
  },
  { name: 'HARVEST_CONCURRENCY', section: 'tuning', type: 'count', default: '32', doc: 'concurrent activities per worker (a fresh window is spent at once)' },
  // --- Temporal -----------------------------------------------------------------------
  {
    name: 'TEMPORAL_ADDRESS', section: 'temporal', type: 'text', defaultDoc: 'embedded dev server',
    doc: 'Temporal frontend `host:port`; unset, `run` and `demo` start an embedded dev server for their duration',
    example: { value: 'temporal.internal:7233' },
  },
  { name: 'TEMPORAL_NAMESPACE', section: 'temporal', type: 'text', default: 'default', doc: 'namespace' },
  { name: 'TEMPORAL_TASK_QUEUE', section: 'temporal', type: 'text', default: 'harvest-sync', doc: 'task queue' },
  {
    name: 'TEMPORAL_DEPLOYMENT_NAME', section: 'temporal', type: 'text', default: 'harvest-sync',
    doc: 'Worker Versioning: the worker deployment; each worker joins it with a build id of its release and workflow code, and every sync stays on the build that started it (docs/releasing.md)',
  },
  {
    name: 'TEMPORAL_WORKER_BUILD_ID', section: 'temporal', type: 'text', defaultDoc: '`<version>-<12 hex of the workflow code>`',
    doc: 'Worker Versioning: this worker\'s build id (set it to your CI\'s build id if you like; workers of one build must run the same code)',
  },
  {
    name: 'TEMPORAL_WORKER_VERSIONING', section: 'temporal', type: 'boolean', default: 'true',
    doc: '`false`: unversioned workers (a Temporal server older than 1.29, which has no Worker Versioning); a release must then not change running syncs\' workflow code',
  },
  {
    name: 'TEMPORAL_CLI_PATH', section: 'temporal', type: 'path', defaultDoc: '`temporal` on PATH, then `./.venv/bin/temporal`',
    doc: 'binary for the embedded server',
  },
  { name: 'TEMPORAL_API_KEY', section: 'temporal', type: 'api-key', secret: true, doc: 'Temporal Cloud API key (turns TLS on)' },
  {
    name: 'TEMPORAL_TLS', section: 'temporal', type: 'boolean', defaultDoc: 'on with an API key, client certificate, CA or server name',
    doc: 'TLS to the Temporal frontend (`true`/`false`)',
  },
  { name: 'TEMPORAL_TLS_CERT', section: 'temporal', type: 'pem-file', doc: 'mTLS client certificate (PEM file; with `TEMPORAL_TLS_KEY`)' },
  { name: 'TEMPORAL_TLS_KEY', section: 'temporal', type: 'pem-file', doc: 'mTLS client private key (PEM file; with `TEMPORAL_TLS_CERT`)' },
  { name: 'TEMPORAL_TLS_CA', section: 'temporal', type: 'pem-file', defaultDoc: 'system CAs', doc: 'the Temporal server\'s CA (PEM file)' },
  { name: 'TEMPORAL_TLS_SERVER_NAME', section: 'temporal', type: 'text', defaultDoc: 'the address\'s host', doc: 'the server name to verify (SNI)' },
  // --- ClickHouse ---------------------------------------------------------------------
  {
    name: 'CLICKHOUSE_URL', section: 'clickhouse', type: 'url', defaultDoc: 'embedded engine',
    doc: 'ClickHouse HTTP(S) URL (server ≥ 24.8), e.g. https://abc.clickhouse.cloud:8443; unset, the embedded engine in `CLICKHOUSE_PATH`',
    example: { value: 'https://clickhouse.internal:8443' },
  },
  { name: 'CLICKHOUSE_PATH', section: 'clickhouse', type: 'path', defaultDoc: '`./.harvest-sync/clickhouse`', doc: 'embedded engine\'s data directory' },
  {
    name: 'CLICKHOUSE_USER', section: 'clickhouse', type: 'text', doc: 'server user (docker compose: created on first start)',
    example: { value: 'harvest', active: true },
  },
  {
    name: 'CLICKHOUSE_PASSWORD', section: 'clickhouse', type: 'text', secret: true, doc: 'server password',
    example: { value: 'harvest', active: true },
  },
  {
    name: 'CLICKHOUSE_DATABASE', section: 'clickhouse', type: 'identifier', default: 'harvest', doc: 'database for all tables',
    example: { value: 'harvest', active: true },
  },
  { name: 'CLICKHOUSE_CA_CERT', section: 'clickhouse', type: 'pem-file', defaultDoc: 'system CAs', doc: 'CA of the ClickHouse server\'s certificate (`https` URLs)' },
  // --- Encryption ---------------------------------------------------------------------
  {
    name: 'HARVEST_SYNC_ENCRYPTION_KEY', section: 'encryption', type: 'aes-key', secret: true, defaultDoc: '— (off)',
    doc: '32-byte key (base64 or hex, `openssl rand -base64 32`): AES-256-GCM encryption of everything harvest-sync stores in Temporal',
  },
  { name: 'HARVEST_SYNC_ENCRYPTION_KEY_ID', section: 'encryption', type: 'key-id', default: 'default', doc: 'the key\'s id (stored with each payload)' },
  {
    name: 'HARVEST_SYNC_ENCRYPTION_OLD_KEYS', section: 'encryption', type: 'key-ring', secret: true,
    doc: 'decrypt-only keys after a rotation (`id:key,…`)',
  },
  {
    name: 'HARVEST_SYNC_CODEC_CORS_ORIGIN', section: 'encryption', type: 'origins', defaultDoc: 'the local Web UIs',
    doc: 'origins allowed to call `harvest-sync codec-server`, separated by commas',
  },
  // --- Logs and metrics ---------------------------------------------------------------
  {
    name: 'LOG_FORMAT', section: 'observability', type: 'log-format', defaultDoc: '`json` for a worker off a terminal, else `pretty`',
    doc: 'log lines on stderr (`json` or `pretty`); configured secrets are redacted. Interactive commands (`run`, `demo`, …) given neither this nor `LOG_LEVEL` log JSON to `<state dir>/logs/harvest-sync.log` instead',
  },
  {
    name: 'LOG_LEVEL', section: 'observability', type: 'log-level', defaultDoc: '`INFO` worker, `WARN` others',
    doc: '`TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`',
  },
  {
    name: 'HARVEST_SYNC_METRICS_ADDRESS', section: 'observability', type: 'host-port', defaultDoc: '— (off)',
    doc: '`host:port` of the worker\'s Prometheus endpoint (`/metrics`)', example: { value: '0.0.0.0:9464' },
  },
  // --- docker compose only (docker-compose.yml reads them; harvest-sync does not) -------
  { name: 'HARVEST_SYNC_EVERY', section: 'compose', type: 'text', default: '1h', doc: 'how often the `schedule` service\'s Temporal schedule syncs' },
  {
    name: 'HARVEST_SYNC_FULL_EVERY', section: 'compose', type: 'text', default: '7d',
    doc: 'how often that schedule lists each resource in full and marks deletions (`fullEvery`; `off`: never)',
  },
  { name: 'GRAFANA_ADMIN_USER', section: 'compose', type: 'text', default: 'admin', doc: 'Grafana\'s admin login (the dashboard itself opens without one)' },
  { name: 'GRAFANA_ADMIN_PASSWORD', section: 'compose', type: 'text', default: 'admin', secret: true, doc: 'Grafana\'s admin password' },
] as const satisfies readonly EnvVariable[];

export type VariableName = (typeof ENV_VARIABLES)[number]['name'];

/** The variables harvest-sync itself reads (the compose-only ones aside). */
export const APPLICATION_VARIABLES: readonly EnvVariable[] = ENV_VARIABLES.filter((v) => v.section !== 'compose');

export const SECTION_TITLES: Record<Section, string> = {
  harvest: 'Harvest',
  tuning: 'Pacing',
  temporal: 'Temporal',
  clickhouse: 'ClickHouse',
  encryption: 'Encryption of what harvest-sync stores in Temporal',
  observability: 'Logs and metrics',
  compose: 'docker compose only',
};
