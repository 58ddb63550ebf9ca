import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/**
 * Module init time of a bundle: a fresh `node` process (the same binary that
 * runs the bench) times `await import(bundle)`. A new process each time, so
 * nothing is cached between runs — like a Lambda cold start's init phase,
 * minus the runtime's own bootstrap.
 */
const CHILD = `
const url = process.env.BENCH_BUNDLE_URL;
const t0 = performance.now();
await import(url);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }));
`;

export async function importTime(file: string): Promise<number> {
  // TABLE_NAME is read lazily by the handlers, but set it as Lambda would; no
  // NODE_OPTIONS, so a loader the parent runs under (tsx) is not inherited.
  const { NODE_OPTIONS: _omit, ...env } = process.env;
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    // AWS_EXECUTION_ENV as on Lambda: Powertools (the Tracer above all) sets itself up as it would there.
    env: { ...env, TABLE_NAME: 'bench', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', BENCH_BUNDLE_URL: pathToFileURL(file).href },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`importing ${file} failed (exit ${code}):\n${err}`);
  return (JSON.parse(out) as { ms: number }).ms;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Median import time of each file over `runs` fresh processes. Runs are
 * interleaved (every file once, then again) so a slow moment of the machine
 * does not land on one function only.
 */
export async function importTimes(files: string[], runs: number): Promise<number[][]> {
  const samples: number[][] = files.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (const [i, f] of files.entries()) samples[i]!.push(await importTime(f));
  }
  return samples;
}
