// The register of patches (docs/releasing.md). Syncs are pinned to the build that started
// them (Worker Versioning), so a release changes sync workflows freely. Only a workflow
// that outlives a deploy (the pacer, which moves to each new build) changes behind a patch,
// and every patch id is registered here: the release that added it, and the release after
// which no history can hold its old branch any more (then `deprecatePatch`, then removal).
import { patched } from '@temporalio/workflow';

export interface RegisteredPatch {
  id: string;
  /** The release that added it. */
  addedIn: string;
  /** Once every worker runs a release after this one, the old branch is gone: deprecate, then remove. */
  removableAfter: string;
  why: string;
}

export const PATCHES: readonly RegisteredPatch[] = [];

/** `patched(id)` for a registered id: an unregistered one is a mistake caught in tests. */
export function patchedSince(id: string): boolean {
  if (!PATCHES.some((p) => p.id === id)) throw new Error(`patch ${id} is not in src/workflows/patches.ts`);
  return patched(id);
}
