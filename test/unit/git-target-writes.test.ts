import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsFilesIn } from '../support/source-files.ts';

/**
 * Every path that saves a git target refuses a secret the tenant does not have (422 naming it), before it
 * writes: a module of the domain that writes one (the store's putGitTarget, or a `gitTarget` op of a
 * transaction) checks them with assertGitSecretsExist. A new path that saves git targets without it fails here.
 */
describe('saving a git target', () => {
  it('every domain module that writes a git target checks that each secret it names exists (assertGitSecretsExist)', () => {
    const writers = tsFilesIn('domain')
      .map((f) => ({ f, text: readFileSync(join(import.meta.dirname, '..', '..', 'domain', f), 'utf8') }))
      .filter(({ text }) => /\.putGitTarget\(|kind: 'gitTarget'/.test(text.replace(/^\s*(\*|\/\/).*$/gm, '')))
      .filter(({ f }) => f !== 'gitops/ports.ts');
    expect(writers.map((w) => w.f).sort()).toEqual(['gitops/service.ts', 'manifest/apply-outbound.ts']);
    for (const { f, text } of writers) expect(text, f).toMatch(/await assertGitSecretsExist\(/);
  });
});
