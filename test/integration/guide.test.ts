import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePortAndNext } from '../../local/dynamodb.ts';
import { fencedBlocks } from '../support/markdown.ts';

/**
 * The guide runs: every ```bash block of README and of every page under docs/guide/ is run, in order, against a
 * fresh `npm start` of its own (pages never depend on each other's leftovers). A page passes when its
 * script exits 0 under `set -eo pipefail`: each page ends in checks (`jq -e …`) that fail the script
 * when the product does not do what the page says.
 *
 * Pages run side by side, PAGES_AT_ONCE at a time: each has its own checkout folder, port, data folder
 * (and so its own DynamoDB Local) and process group, and most of a page's time is spent waiting on its stack.
 */
const root = join(import.meta.dirname, '..', '..');
const guide = join(root, 'docs', 'guide');
/** README's example first (it is the front door), then the guide's pages in order. */
const pages = [
  'README.md',
  ...readdirSync(guide)
    .filter((f) => /^\d\d-.*\.md$/.test(f))
    .sort()
    .map((f) => join('docs', 'guide', f)),
].filter((p) => !process.env.STAGELINE_GUIDE_PAGES || new RegExp(process.env.STAGELINE_GUIDE_PAGES).test(p)); // a developer's run of some pages: STAGELINE_GUIDE_PAGES=25-roles

export const shellBlocks = (markdown: string): string[] => fencedBlocks(markdown, 'bash');

/** A folder that looks like a fresh checkout (the project's files, linked) with its own .stageline. */
function freshCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stageline-guide-'));
  for (const entry of readdirSync(root)) {
    if (entry === '.stageline' || entry === '.git') continue;
    symlinkSync(join(root, entry), join(dir, entry));
  }
  return dir;
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  return { child, output: () => out };
}

async function healthy(url: string, deadlineMs: number, gone: () => boolean = () => false): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (gone()) throw new Exited();
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`the stack at ${url} did not become healthy`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * What a page says its `npm start` needs (tenant secrets, which locally are environment variables): a first
 * line `<!-- npm start with: NAME=value … -->`. Only tenant secrets (STAGELINE_SECRET_…) may be named. A value
 * `file:<path>` is that file's text (a key: the page shows `NAME="$(cat <path>)"`), the path within the repository.
 */
export function startVariables(markdown: string, root = process.cwd()): Record<string, string> {
  const m = /^<!-- npm start with: (.*?) -->/.exec(markdown);
  if (!m) return {};
  return Object.fromEntries(
    m[1]!
      .trim()
      .split(/\s+/)
      .map((kv) => kv.split('=') as [string, string])
      .filter(([k, v]) => /^STAGELINE_SECRET_[A-Z0-9_]+$/.test(k) && v)
      .map(([k, v]) => {
        const file = /^file:([\w./-]+)$/.exec(v)?.[1];
        if (file && (file.includes('..') || file.startsWith('/'))) throw new Error(`${k}: file:${file} is not a path within the repository`);
        return [k, file ? readFileSync(join(root, file), 'utf8') : v];
      }),
  );
}

const env = (port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra, PORT: String(port), CI: 'true' };
  // the child is a user's `npm start`, not a test worker
  for (const k of Object.keys(e)) if (k.startsWith('VITEST') || k === 'NODE_OPTIONS' || k === 'TEST') delete e[k];
  return e;
};

/** The processes still in process group `pgid` (a page's script and what it started), after up to 5 s for them to exit. */
async function leftRunning(pgid: number): Promise<string[]> {
  let left: string[] = [];
  for (let i = 0; i < 25; i++) {
    left = execFileSync('ps', ['-e', '-o', 'pgid=,stat=,args='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([g, stat]) => Number(g) === pgid && !stat?.startsWith('Z'))
      .map((fields) => fields.slice(2).join(' '));
    if (!left.length) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
  return left;
}

/** How many pages run at once (each starts a JVM and a Node process of its own: at three, the other worker's tests starved on two cores). */
const PAGES_AT_ONCE = 2;
let running = 0;
const queued: (() => void)[] = [];
/** Runs `f` once fewer than PAGES_AT_ONCE pages are running. */
async function inTurn<T>(f: () => Promise<T>): Promise<T> {
  if (running >= PAGES_AT_ONCE) await new Promise<void>((r) => queued.push(r));
  else running++;
  try {
    return await f();
  } finally {
    const next = queued.shift();
    if (next) next();
    else running--;
  }
}

/** The process a health check waited for ended. */
class Exited extends Error {}

/**
 * A page's `npm start`, healthy: on the port it was given and the one after it (the demo IdP's, which the single
 * sign-on page connects to). A free port is only free when it was looked at: another process of the machine may take
 * it before the stack listens (a fresh-clone run once saw a stack that never became healthy). A stack that stopped
 * because its port was taken is started again on another one, at most three times; one that stopped for anything else
 * fails the page at once with what it printed.
 */
async function startPage(dir: string, page: string): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePortAndNext();
    const started = run('npm', ['start', '--silent'], { cwd: dir, env: env(port, startVariables(readFileSync(join(root, page), 'utf8'), root)) });
    const gone = () => started.child.exitCode !== null || started.child.signalCode !== null;
    const err = await healthy(`http://127.0.0.1:${port}`, 120_000, gone).then(
      () => null,
      (e: unknown) => e,
    );
    if (!err) return { child: started.child, port };
    await stopPage(started.child, null);
    if (err instanceof Exited && /is in use|EADDRINUSE/.test(started.output()) && attempt < 3) continue;
    throw new Error(`${err instanceof Exited ? `npm start stopped (exit ${started.child.exitCode})` : String(err)}\n${started.output().slice(-3000)}`);
  }
}

/** Stops a page's `npm start` (its whole process group) and removes its checkout folder. */
async function stopPage(stack: ChildProcess | undefined, dir: string | null): Promise<void> {
  if (stack?.pid) {
    try {
      process.kill(-stack.pid, 'SIGTERM');
    } catch {
      // gone already
    }
    await new Promise((r) => (stack.exitCode !== null || stack.signalCode !== null ? r(undefined) : stack.once('exit', r)));
  }
  // The group's other processes (DynamoDB Local, the stand-ins) may still write as they exit: retry what they refill.
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}

describe('docs/guide: every page runs on a fresh stack', () => {
  it('finds the pages and their shell blocks', () => {
    expect(pages.length).toBeGreaterThanOrEqual(10);
    for (const p of pages) expect(shellBlocks(readFileSync(join(root, p), 'utf8')).length, p).toBeGreaterThan(0);
  });

  it('puts no token on a command line (`ps` shows it to every user of the machine): `stageline login` or STAGELINE_TOKEN', () => {
    const offenders: string[] = [];
    for (const p of pages) {
      readFileSync(join(root, p), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/--token\b/.test(line)) offenders.push(`${p}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it("a page's wait gives up at once on a final status it did not wait for (or a promotion that does not exist), and a COMPLETED one may still roll back", () => {
    const waiting = pages.filter((p) => /^wait_for\(\)/m.test(readFileSync(join(root, p), 'utf8')));
    expect(waiting.length).toBeGreaterThan(10);
    for (const p of waiting) {
      const ended = /^ended\(\) \{.*\}$/m.exec(readFileSync(join(root, p), 'utf8'))?.[0];
      expect(ended, `${p} defines wait_for without ended`).toBeDefined();
      const verdicts = execFileSync(
        'bash',
        [
          '-c',
          `${ended}\nfor c in 'FAILED COMPLETED' 'null COMPLETED' 'COMPLETED AWAITING_APPROVAL' 'COMPLETED ROLLED_BACK' 'EXECUTING COMPLETED' 'VALIDATION_FAILED AWAITING_APPROVAL'; do set -- $c; ended $1 "$2" && echo "$1 gives up" || echo "$1 waits"; done`,
        ],
        { encoding: 'utf8' },
      );
      expect(verdicts.trim().split('\n'), p).toEqual([
        'FAILED gives up',
        'null gives up',
        'COMPLETED gives up',
        'COMPLETED waits',
        'EXECUTING waits',
        'VALIDATION_FAILED waits',
      ]);
    }
  });

  for (const page of pages) {
    // The timeout includes the wait for a turn: at most (pages / PAGES_AT_ONCE) pages of about 10 s each.
    it.concurrent(page, { timeout: 300_000 }, ({ expect }) =>
      inTurn(async () => {
        const dir = freshCheckout();
        let stack: ChildProcess | undefined;
        try {
          const { child, port } = await startPage(dir, page);
          stack = child;
          const script = ['set -eo pipefail', ...shellBlocks(readFileSync(join(root, page), 'utf8'))].join('\n');
          const result = run('bash', ['-c', script], { cwd: dir, env: env(port) });
          const code = await new Promise<number | null>((r) => result.child.once('exit', r));
          // Each page stops what it started (a receiver, an exporter, Prometheus, stand-ins): nothing of its process group
          // is left once it ended (given a moment to exit after its `kill`).
          const left = await leftRunning(result.child.pid!);
          try {
            process.kill(-result.child.pid!, 'SIGKILL');
          } catch {
            // nothing left
          }
          expect(code, `${page} failed:\n${result.output().slice(-6000)}`).toBe(0);
          expect(left, `${page} left these running`).toEqual([]);
        } finally {
          await stopPage(stack, dir);
        }
      }),
    );
  }
});
