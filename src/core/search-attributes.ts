// Custom search attributes that make syncs findable in the Temporal UI and CLI
// (`HarvestAccounts = '123' AND HarvestSyncMode = 'backfill'`). They must be registered
// in the namespace before a workflow may set them; the worker registers them where it
// is allowed to and tells the workflows whether they exist.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_NAMES } from './contracts';

export const ACCOUNTS_ATTRIBUTE = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.accounts, SearchAttributeType.KEYWORD_LIST);
export const MODE_ATTRIBUTE = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.mode, SearchAttributeType.KEYWORD);

/** Name → Temporal's indexed value type, for the operator service. */
export const CUSTOM_SEARCH_ATTRIBUTES: Array<{ name: string; type: 'KEYWORD' | 'KEYWORD_LIST' }> = [
  { name: ACCOUNTS_ATTRIBUTE.name, type: 'KEYWORD_LIST' },
  { name: MODE_ATTRIBUTE.name, type: 'KEYWORD' },
];
