// Usage of every command and `schedule` sub-command: `harvest-sync <command> --help`, and
// the overview that `harvest-sync --help` prints is built from the same entries.
import { packageVersion } from '../config/project-root';

/** Bad arguments: the message, then the command's usage, exit 2. */
export class CliUsageError extends Error {}

export interface CommandHelp {
  /** Usage lines, each after `harvest-sync `. */
  usage: string[];
  summary: string;
  options?: Array<[flag: string, meaning: string]>;
  notes?: string[];
}

const ACCOUNT: [string, string] = ['--account ID', 'one configured account (default: every account in HARVEST_ACCOUNT_ID)'];
const RESOURCES: [string, string] = ['--resources a,b', 'only these resources (names from `harvest-sync resources`); their dependencies are added'];
const DETACH: [string, string] = ['--detach', 'start it on the cluster and return at once (needs TEMPORAL_ADDRESS)'];
const IDS_NOTE = 'Without ids or --account: every harvest-sync schedule of the task queue.';
const NEEDS_CLUSTER = 'Needs TEMPORAL_ADDRESS (a cluster, docker compose, or `harvest-sync server`).';

export const COMMANDS: Record<string, CommandHelp> = {
  run: {
    usage: ['run [--resources a,b] [--full] [--since ISO] [--strict] [--account ID] [--detach]'],
    summary: 'one sync to completion, with live progress',
    options: [
      RESOURCES,
      ['--full', 're-read everything (and mark records Harvest no longer has as deleted)'],
      ['--since ISO', 'read records updated since then instead of from the committed cursor'],
      ['--strict', 'a 403 fails the run instead of skipping the resource'],
      ACCOUNT,
      DETACH,
    ],
    notes: [
      'Without TEMPORAL_ADDRESS, an embedded Temporal dev server and worker run for the command\'s duration.',
      'Exit 0 when the sync succeeded, 1 when it failed or was skipped, 2 for bad arguments or configuration.',
    ],
  },
  backfill: {
    usage: ['backfill --since DATE [--until DATE] [--resources a,b] [--account ID] [--detach]'],
    summary: 're-read history without moving the cursors',
    options: [
      ['--since DATE', 'first day of history (required)'],
      ['--until DATE', 'last day of history (default: today)'],
      RESOURCES,
      ACCOUNT,
      DETACH,
    ],
    notes: ['A backfill runs as its own workflow (<task queue>/<account>/backfill), beside scheduled syncs; it never writes cursors or marks deletions.'],
  },
  worker: {
    usage: ['worker'],
    summary: 'a long-running worker (needs TEMPORAL_ADDRESS)',
    notes: ['Runs until SIGINT/SIGTERM, finishing in-flight activities. Logs JSON lines to stderr off a terminal (LOG_FORMAT, LOG_LEVEL).'],
  },
  server: {
    usage: ['server [--port 7233] [--ui-port 8233] [--ip 127.0.0.1] [--db-file FILE] [--codec-endpoint URL]'],
    summary: 'a local Temporal dev server that keeps its data (.harvest-sync/temporal.db) for schedules',
    options: [
      ['--port N', 'frontend port (default 7233)'],
      ['--ui-port N', 'Web UI port (default 8233)'],
      ['--ip IP', 'address to listen on (default 127.0.0.1)'],
      ['--db-file FILE', 'database file (default .harvest-sync/temporal.db)'],
      ['--codec-endpoint URL', 'a `harvest-sync codec-server` for the Web UI to decrypt payloads'],
    ],
  },
  status: {
    usage: ['status [WORKFLOW_ID] [--json] [--once] [--limit N]'],
    summary: 'recent syncs and live progress of running ones',
    options: [
      ['WORKFLOW_ID', 'one sync (or account sync, or resource) instead of the recent ones'],
      ['--json', 'machine-readable output, once'],
      ['--once', 'print once instead of redrawing until the runs finish'],
      ['--limit N', 'how many recent runs (default 10)'],
    ],
    notes: [NEEDS_CLUSTER],
  },
  'codec-server': {
    usage: ['codec-server [--port 8888] [--host IP]'],
    summary: 'decrypts payloads for the Web UI and the temporal CLI',
    options: [
      ['--port N', 'port (default 8888)'],
      ['--host IP', 'address to listen on (default 127.0.0.1)'],
    ],
    notes: ['Needs HARVEST_SYNC_ENCRYPTION_KEY; see docs/running-for-real.md.'],
  },
  sql: {
    usage: ['sql "SELECT …" [--json]'],
    summary: 'a query on the configured ClickHouse (name tables with their database; embedded: worker stopped)',
    options: [['--json', 'one JSON object per row']],
    notes: ['Example: harvest-sync sql "SELECT * FROM harvest.v_last_sync"'],
  },
  schedule: {
    usage: ['schedule <create|list|describe|update|pause|unpause|trigger|delete> …'],
    summary: 'recurring syncs as Temporal schedules, one per account',
    notes: ['`harvest-sync schedule <sub-command> --help` describes each one.', NEEDS_CLUSTER],
  },
  resources: {
    usage: ['resources'],
    summary: 'the resources harvest-sync copies, with their keys and dependencies',
  },
  demo: {
    usage: ['demo [--time-entries N]'],
    summary: 'the whole pipeline against a built-in sandbox account',
    options: [['--time-entries N', 'size of the generated account (default 20000)']],
    notes: ['Needs no Harvest account and no services: embedded Temporal, embedded ClickHouse (database harvest_demo).'],
  },
  help: {
    usage: ['help [COMMAND]', '--version'],
    summary: 'this overview, a command\'s usage, or the version',
  },
};

const SETTINGS: Array<[string, string]> = [
  ['--every 1h', 'run every interval (s, m, h, d)'],
  ['--cron "0 * * * *"', 'or a cron expression (five fields)'],
  ['--timezone TZ', 'time zone of the cron expression (default UTC)'],
  RESOURCES,
  ['--full-every 7d', 'list each resource in full (and mark deletions) once its last full reconciliation is older than that (create: 7d unless given; off: never)'],
  ['--catchup-window 1h', 'after an outage, missed runs within the window run once (default 1h)'],
];

export const SCHEDULE_COMMANDS: Record<string, CommandHelp> = {
  create: {
    usage: ['schedule create [--every 1h | --cron "0 * * * *"] [--timezone TZ] [--resources a,b]', '                [--full-every 7d|off] [--catchup-window 1h] [--account ID]'],
    summary: 'one schedule per account (id <task queue>-<account>)',
    options: [...SETTINGS, ACCOUNT],
    notes: ['An existing schedule is left as it is: change it with `schedule update`.'],
  },
  list: { usage: ['schedule list [--json]'], summary: 'harvest-sync\'s schedules', options: [['--json', 'machine-readable output']] },
  describe: {
    usage: ['schedule describe [ID…] [--account ID] [--json]'],
    summary: 'timing, policies, next runs, last results',
    options: [ACCOUNT, ['--json', 'machine-readable output']],
    notes: [IDS_NOTE],
  },
  update: {
    usage: ['schedule update [ID…] [--account ID] [--every 1h | --cron …] [--resources a,b|all]', '                [--full-every 7d|off] [--catchup-window 1h]'],
    summary: 'change the timing or the input of schedules',
    options: [...SETTINGS, ['--resources all', 'every resource again'], ['--full-every off', 'no periodic full reconciliation (never works too)'], ACCOUNT],
    notes: [IDS_NOTE],
  },
  pause: { usage: ['schedule pause [ID…] [--account ID] [--note text]'], summary: 'stop starting runs', options: [ACCOUNT, ['--note text', 'why (shown by describe)']], notes: [IDS_NOTE] },
  unpause: { usage: ['schedule unpause [ID…] [--account ID] [--note text]'], summary: 'start runs again', options: [ACCOUNT, ['--note text', 'why']], notes: [IDS_NOTE] },
  trigger: { usage: ['schedule trigger [ID…] [--account ID]'], summary: 'a run now (skipped if one is running)', options: [ACCOUNT], notes: [IDS_NOTE] },
  delete: { usage: ['schedule delete [ID…] [--account ID]'], summary: 'remove schedules (runs already started go on)', options: [ACCOUNT], notes: [IDS_NOTE] },
};

const COLUMN = 49;
const WIDTH = 110;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** `left` and `right` in two columns, `right` wrapped; a long `left` gets a line of its own. */
function twoColumns(left: string, right: string, indent = '  '): string {
  const head = `${indent}${left}`;
  const [first, ...more] = wrap(right, WIDTH - COLUMN);
  const rest = more.map((l) => `${' '.repeat(COLUMN)}${l}\n`).join('');
  return head.length + 1 < COLUMN ? `${head.padEnd(COLUMN)}${first}\n${rest}` : `${head}\n${' '.repeat(COLUMN)}${first}\n${rest}`;
}

/** Usage lines as the overview shows them: continuation lines keep their indentation. */
function usageBlock(help: CommandHelp): string {
  const lines = help.usage.filter((u) => !u.startsWith('--'));
  return lines.slice(0, -1).map((u) => `  ${u}\n`).join('') + twoColumns(lines[lines.length - 1], help.summary);
}

/** `harvest-sync --help`: every command on a line or two. */
export function overview(): string {
  let text = 'usage: harvest-sync <command> [options]\n\ncommands:\n';
  for (const [name, help] of Object.entries(COMMANDS)) {
    if (name === 'schedule') for (const sub of Object.values(SCHEDULE_COMMANDS)) text += usageBlock(sub);
    else text += usageBlock(help);
  }
  text += '\n`harvest-sync <command> --help` describes a command; `harvest-sync --version` prints the version.\n';
  text += 'Configuration is read from the environment and ./.env; see README.md.\n';
  return text;
}

/** The usage of one command (or `schedule` sub-command), or undefined for an unknown one. */
export function commandHelp(command: string, sub?: string): string | undefined {
  const help = command === 'schedule' && sub && SCHEDULE_COMMANDS[sub] ? SCHEDULE_COMMANDS[sub] : COMMANDS[command];
  if (!help) return undefined;
  // A line that starts with spaces continues the one before it (aligned under its options).
  let text = help.usage.map((u, i) => (i === 0 ? `usage: harvest-sync ${u}\n` : u.startsWith(' ') ? `${' '.repeat(20)}${u}\n` : `       harvest-sync ${u}\n`)).join('');
  text += `\n${help.summary[0].toUpperCase()}${help.summary.slice(1)}.\n`;
  if (command === 'schedule' && help === COMMANDS.schedule) {
    text += '\nsub-commands:\n';
    for (const [name, s] of Object.entries(SCHEDULE_COMMANDS)) text += twoColumns(name, s.summary);
  }
  if (help.options?.length) {
    text += '\noptions:\n';
    for (const [flag, meaning] of help.options) text += twoColumns(flag, meaning);
  }
  for (const note of help.notes ?? []) text += `\n${note}\n`;
  return text;
}

/** Whether the arguments ask for help (before a `--` that ends the options). */
export function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** The version in package.json. */
export const version = packageVersion;
