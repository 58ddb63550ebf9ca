import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleFunction, REPO_ROOT } from '../../infra/bundle.ts';
import { bundleSourcesHash } from '../../infra/bundle-cache.ts';

/**
 * The functions' bundles are made once per set of sources and read by every process after (infra/bundle-cache.ts
 * CACHE_ROOT): the suite's synths, the bundle checks and `cdk synth`. What a cached bundle says of itself must be
 * where it is.
 */
describe('bundles made once per set of sources', () => {
  // The first process after a change of the sources builds them all (minutes on a loaded two-core machine).
  it('live in a folder named by the hash of their sources and tracing, complete, their metafiles naming files in it', { timeout: 600_000 }, () => {
    const hash = bundleSourcesHash(false);
    expect(hash).toMatch(/^[0-9a-f]{24}$/);
    expect(bundleSourcesHash(false)).toBe(hash);
    expect(bundleSourcesHash(true)).not.toBe(hash);
    const { dir, metafile } = bundleFunction('health', { traceSdk: false });
    expect(path.basename(path.dirname(dir))).toBe(`plain-${hash}`);
    expect(existsSync(path.join(path.dirname(dir), '.complete'))).toBe(true);
    const outputs = Object.keys(metafile.outputs);
    expect(outputs.length).toBeGreaterThan(0);
    for (const o of outputs) {
      // Named where the folder is now, not where it was made.
      expect(path.join(REPO_ROOT, o).startsWith(`${dir}${path.sep}`), o).toBe(true);
      expect(existsSync(path.join(REPO_ROOT, o)), o).toBe(true);
    }
    expect(readFileSync(path.join(dir, 'index.mjs'), 'utf8')).toContain('handler');
  });
});
