// Namespace set-up the pipeline needs: its custom search attributes. Registered through
// the operator service where that is allowed (dev server, self-hosted clusters); Temporal
// Cloud registers them through its own console or `tcld`, so a refusal is only a warning
// and workflows then run without them.
import type { Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../core/search-attributes';

// temporal.api.enums.v1.IndexedValueType
const INDEXED_KEYWORD = 2;
const INDEXED_KEYWORD_LIST = 7;

export interface SearchAttributeStatus {
  ready: boolean;
  /** Why not, when not (for a warning). */
  problem?: string;
}

export async function ensureSearchAttributes(connection: Connection | NativeConnection, namespace: string): Promise<SearchAttributeStatus> {
  const wanted = CUSTOM_SEARCH_ATTRIBUTES;
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const have = { ...(existing.customAttributes ?? {}), ...(existing.systemAttributes ?? {}) };
    const missing = wanted.filter((a) => !(a.name in have));
    if (missing.length === 0) return { ready: true };
    const searchAttributes: Record<string, number> = {};
    for (const a of missing) searchAttributes[a.name] = a.type === 'KEYWORD_LIST' ? INDEXED_KEYWORD_LIST : INDEXED_KEYWORD;
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
    return { ready: true };
  } catch (err) {
    const names = wanted.map((a) => `${a.name} (${a.type})`).join(', ');
    return {
      ready: false,
      problem: `search attributes ${names} are not registered in namespace ${namespace} and could not be added (${(err as Error).message}); syncs run without them. Register them with \`temporal operator search-attribute create\` or, on Temporal Cloud, in the namespace settings.`,
    };
  }
}
