// docs/analytics.md's view reference, generated from docs.ts (`npm run docs:views`).
import { VIEW_DOCS } from './docs';

export const VIEW_REFERENCE_BEGIN = '<!-- view reference: generated from src/clickhouse/views/docs.ts by `npm run docs:views`; do not edit by hand -->';
export const VIEW_REFERENCE_END = '<!-- end of view reference -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The index table and one section per view, between the markers. */
export function renderViewReference(): string {
  const out: string[] = [VIEW_REFERENCE_BEGIN, '', '| view | what it holds |', '|---|---|'];
  for (const v of VIEW_DOCS) out.push(`| [\`${v.name}\`](#${v.name}) | ${cell(v.description)} |`);
  for (const v of VIEW_DOCS) {
    out.push('', `### \`${v.name}\``, '', `${v.description}.`, '', '| column | meaning |', '|---|---|');
    for (const c of v.columns) out.push(`| \`${c.name}\` | ${cell(c.description)} |`);
    if (v.notes) out.push('', v.notes.trim());
  }
  out.push('', VIEW_REFERENCE_END);
  return out.join('\n');
}

/** `doc` with its view reference replaced by a fresh one; throws when the markers are missing. */
export function withViewReference(doc: string): string {
  const begin = doc.indexOf(VIEW_REFERENCE_BEGIN);
  const end = doc.indexOf(VIEW_REFERENCE_END);
  if (begin < 0 || end < begin) throw new Error('docs/analytics.md: view reference markers not found');
  return doc.slice(0, begin) + renderViewReference() + doc.slice(end + VIEW_REFERENCE_END.length);
}
