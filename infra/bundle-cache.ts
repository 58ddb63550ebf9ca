import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { version as esbuildVersion } from 'esbuild';
import { FUNCTIONS } from '../functions/http/topology.ts';

/** Repo root (as infra/bundle.ts REPO_ROOT, which imports this module). */
const REPO_ROOT = path.join(import.meta.dirname, '..');

/**
 * Where the bundles of every function live, built already by another process when the sources are the same: a
 * folder named by the hash of everything a bundle is made from (functions/, domain/ and infra/, the package files,
 * esbuild's version, the tracing choice). The suite's synths, the bundle checks and `cdk synth` then bundle once
 * between two changes, not once each. Made in a folder of its own and renamed into place when complete, so a
 * process never reads another's half-made one.
 */
const CACHE_ROOT = path.join(REPO_ROOT, 'node_modules', '.cache', 'stageline-bundles');
const SOURCE_DIRS = ['functions', 'domain', 'infra'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];

/** The hash of what the functions' bundles are made from (see CACHE_ROOT). */
export function bundleSourcesHash(traceSdk: boolean): string {
  const hash = createHash('sha256').update(`${esbuildVersion}\0${traceSdk}\0${FUNCTIONS.join(',')}\0`);
  const files = [
    ...SOURCE_DIRS.flatMap((dir) => readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f))),
    ...SOURCE_FILES,
  ].sort();
  for (const f of files) {
    const abs = path.join(REPO_ROOT, f);
    if (statSync(abs).isFile()) hash.update(f).update('\0').update(readFileSync(abs)).update('\0');
  }
  return hash.digest('hex').slice(0, 24);
}

/** Builds functions in a child process (esbuild's asynchronous API, which plugins need) into `root`. */
export function buildInChild(names: readonly string[], traceSdk: boolean, root: string): void {
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra', 'bundle-child.ts'), JSON.stringify({ names, traceSdk, root })], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`bundling ${names.join(', ')} failed: ${child.stderr || child.error?.message}`);
}

/** The folder holding every function's bundle for these sources (CACHE_ROOT), built now if no process has. */
export function cachedBatch(traceSdk: boolean): string {
  const kind = traceSdk ? 'traced' : 'plain';
  const root = path.join(CACHE_ROOT, `${kind}-${bundleSourcesHash(traceSdk)}`);
  if (existsSync(path.join(root, '.complete'))) return root;
  const making = `${root}.making-${process.pid}`;
  rmSync(making, { recursive: true, force: true });
  buildInChild(FUNCTIONS, traceSdk, making);
  // The metafiles name their outputs by path: the folder's final one.
  const from = `${path.relative(REPO_ROOT, making)}/`;
  const to = `${path.relative(REPO_ROOT, root)}/`;
  for (const name of FUNCTIONS) {
    const meta = path.join(making, `${name}.meta.json`);
    writeFileSync(meta, readFileSync(meta, 'utf8').replaceAll(JSON.stringify(from).slice(1, -1), JSON.stringify(to).slice(1, -1)));
  }
  writeFileSync(path.join(making, '.complete'), '');
  try {
    renameSync(making, root);
  } catch {
    // Another process put the same bundles in place first.
    rmSync(making, { recursive: true, force: true });
  }
  // Bundles of earlier sources, left more than an hour ago, go.
  for (const old of readdirSync(CACHE_ROOT)) {
    const dir = path.join(CACHE_ROOT, old);
    if (dir !== root && statSync(dir).mtimeMs < Date.now() - 3_600_000) rmSync(dir, { recursive: true, force: true });
  }
  return root;
}
