/**
 * The `stageline` command (cli/bin.mjs) runs the CLI (cli/stageline.ts) from one JavaScript file esbuild made of it and
 * everything it imports, so a call starts in a fifth of the time tsx takes to compile the sources again (about 0.2 s
 * against 0.9 s of CPU). The file is made on first use and made again whenever one of its sources (or the lockfile)
 * changed since: an edited checkout never runs yesterday's CLI. It lives under node_modules/.cache (never committed).
 * Plain JavaScript: it runs before anything is compiled.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// One bundle per checkout: worktrees that share node_modules never run each other's CLI.
const cache = join(root, 'node_modules', '.cache', `stageline-cli-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`);
const bundle = join(cache, 'stageline.mjs');
const inputsFile = join(cache, 'inputs.json');

const mtime = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
};

/** Whether the bundle is missing or older than any file it was made of. */
function stale() {
  const built = mtime(bundle);
  if (built === Infinity) return true;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
  } catch {
    return true;
  }
  return inputs.some((f) => mtime(join(root, f)) > built);
}

/** Makes the bundle (to a file of this process's own, then renamed: two calls at once never read half of one). */
async function buildCli() {
  const { build } = await import('esbuild');
  const out = join(cache, `stageline.${process.pid}.mjs`);
  const result = await build({
    entryPoints: [join(root, 'cli', 'stageline.ts')],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    metafile: true,
    logLevel: 'warning',
    // CommonJS packages in an ES module bundle call require(): give them Node's.
    banner: { js: "import { createRequire as __stagelineRequire } from 'node:module'; const require = __stagelineRequire(import.meta.url);" },
  });
  mkdirSync(cache, { recursive: true });
  const inputs = [...Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/')), 'package-lock.json'];
  writeFileSync(`${inputsFile}.${process.pid}`, JSON.stringify(inputs));
  renameSync(`${inputsFile}.${process.pid}`, inputsFile);
  renameSync(out, bundle);
}

/** The bundle's path, made first if it is missing or stale. */
export async function cliBundle() {
  if (stale()) await buildCli();
  return bundle;
}
