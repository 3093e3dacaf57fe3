// .env.example and docs/configuration.md's table of variables, rendered from the table in
// ./variables.ts. `npm run docs:config` writes them; test/fast/config.test.ts checks that
// the files in the repository are what this renders.
import { ENV_VARIABLES, SECTION_TITLES, type EnvVariable, type Section } from './variables';

const VARIABLES: readonly EnvVariable[] = ENV_VARIABLES;

/** docs/configuration.md's table sits between these two lines. */
export const README_TABLE_BEGIN = '<!-- variables: generated from src/config/variables.ts by `npm run docs:config` -->';
export const README_TABLE_END = '<!-- /variables -->';

function defaultCell(v: EnvVariable): string {
  if (v.defaultDoc !== undefined) return v.defaultDoc;
  return v.default !== undefined ? `\`${v.default}\`` : '—';
}

/** One row per variable harvest-sync reads (docker compose's own settings are documented with it). */
export function renderReadmeTable(): string {
  const rows = VARIABLES.filter((v) => v.section !== 'compose').map((v) => {
    const doc = v.secret ? `${v.doc}. Secret: redacted from logs` : v.doc;
    return `| \`${v.name}\` | ${defaultCell(v).replace(/\|/g, '\\|')} | ${doc.replace(/\|/g, '\\|')} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** Replaces the table between the markers of docs/configuration.md. */
export function withReadmeTable(readme: string): string {
  const begin = readme.indexOf(README_TABLE_BEGIN);
  const end = readme.indexOf(README_TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`docs/configuration.md: the markers ${README_TABLE_BEGIN} … ${README_TABLE_END} are missing`);
  return `${readme.slice(0, begin + README_TABLE_BEGIN.length)}\n${renderReadmeTable()}\n${readme.slice(end)}`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const plain = (markdown: string): string => markdown.replace(/<(https?:[^>]+)>/g, '$1');

const ENV_EXAMPLE_HEADER = [
  '# Copy to .env and fill in. Read by harvest-sync itself (from the working directory; the',
  '# environment wins) and by docker compose (docker-compose.yml passes these to the worker,',
  '# the schedule and Grafana). Every variable, with its default, is in the README.',
  '# Generated from src/config/variables.ts by `npm run docs:config`: edit the table there.',
];

export function renderEnvExample(): string {
  const out = [...ENV_EXAMPLE_HEADER];
  let section: Section | undefined;
  for (const v of VARIABLES) {
    if (v.section !== section) {
      section = v.section;
      const title = `# --- ${SECTION_TITLES[section]} `;
      out.push('', title.padEnd(88, '-'));
    }
    const notes = [plain(v.doc)];
    if (v.defaultDoc !== undefined && v.defaultDoc !== 'required') notes.push(`Default: ${plain(v.defaultDoc)}.`);
    if (v.defaultDoc === 'required') notes.push('Required.');
    out.push(...wrap(notes.join('. ').replace(/\.\./g, '.'), 86).map((l) => `# ${l}`));
    const value = v.example?.value ?? v.default ?? '';
    out.push(`${v.example?.active ? '' : '# '}${v.name}=${value}`);
  }
  return `${out.join('\n')}\n`;
}
