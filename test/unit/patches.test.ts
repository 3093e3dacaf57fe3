// Patches live in one register (src/workflows/patches.ts): no `patched()` elsewhere in the
// workflows, every registered id used, each with its releases.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PATCHES } from '../../src/workflows/patches';

const WORKFLOWS = path.join(__dirname, '..', '..', 'src', 'workflows');

describe('the patch register', () => {
  it('patched() is called only by the register; every registered id is used and dated', () => {
    const sources = fs.readdirSync(WORKFLOWS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== 'patches.ts');
    const text = sources.map((f) => fs.readFileSync(path.join(WORKFLOWS, f), 'utf8')).join('\n');
    assert.doesNotMatch(text, /\bpatched\(|\bdeprecatePatch\(/, 'patches go through patchedSince() of src/workflows/patches.ts');
    for (const p of PATCHES) {
      assert.match(text, new RegExp(`patchedSince\\(['"]${p.id}['"]\\)`), `registered patch ${p.id} is not used`);
      assert.match(p.addedIn, /^\d+\.\d+\.\d+$/);
      assert.match(p.removableAfter, /^\d+\.\d+\.\d+$/);
    }
  });
});
