import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { freePortAndNext } from '../../local/dynamodb.ts';

/**
 * What a user sees in the terminal after `npm start`: a short banner that says where the API, the
 * console and the tokens are, and no token or secret in full (they stay in .stageline/tokens.env,
 * 0600). The access log, the EMF metric documents and stack traces only with --verbose.
 * The stack runs as a child process with its own port, its own DynamoDB Local and its own data folder.
 */
const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

interface Started {
  child: ChildProcess;
  output: () => string;
  url: string;
  dataDir: string;
}

let running: Started | undefined;
afterEach(() => stopRunning());

/** Stops the stack a test started (its whole process group) and removes its data folder. */
async function stopRunning(): Promise<void> {
  const s = running;
  running = undefined;
  if (!s) return;
  if (s.child.pid && s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise((r) => s.child.once('exit', r));
    // The whole group: tsx, the stack and its DynamoDB Local.
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-s.child.pid!, signal);
      } catch {
        // gone already
      }
    };
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    kill('SIGKILL'); // whatever of the group outlived the stack (DynamoDB Local is stopped by it)
  }
  rmSync(dirname(s.dataDir), { recursive: true, force: true });
}

/**
 * A stack with its demo IdP: a port is free only when it was looked at, and another process of the machine may take
 * the one after the API's before the stack listens on it (a fresh-clone run saw "IdP not started: port … is in use").
 * That stack is stopped and another started on another pair, at most three times.
 */
async function startWithIdp(args: string[] = []): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    const s = await start(args);
    if (attempt === 3 || !/^ {2}IdP +not started: port \d+ .*is in use/m.test(s.output())) return s;
    await stopRunning();
  }
}

async function start(args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}, port?: number): Promise<Started> {
  port ??= await freePortAndNext();
  const dataDir = join(mkdtempSync(join(tmpdir(), 'stageline-start-output-')), '.stageline');
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), STAGELINE_DATA_DIR: dataDir, ...extraEnv };
  // A user's `npm start`, not a test worker; and the defaults, not what this shell may have set.
  for (const k of Object.keys(env)) if (k.startsWith('VITEST') || k === 'NODE_OPTIONS' || k === 'TEST') delete env[k];
  for (const k of ['DYNAMODB_PORT', 'STAGELINE_ACCESS_LOG', 'POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_DEV']) if (!(k in extraEnv)) delete env[k];
  const child = spawn(process.execPath, [tsx, join(root, 'local', 'start.ts'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const started: Started = { child, output: () => out, url: `http://127.0.0.1:${port}`, dataDir };
  running = started;
  const until = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${out.slice(-3000)}`);
    try {
      if ((await fetch(`${started.url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`the stack at ${started.url} did not become healthy:\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return started;
}

function tokensEnv(dataDir: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const m of readFileSync(join(dataDir, 'tokens.env'), 'utf8').matchAll(/^export ([A-Z_]+)=(.*)$/gm)) vars[m[1]!] = m[2]!;
  return vars;
}

/**
 * A few requests a user makes first: with a token, without one, a route that is not there, a bad body;
 * each function more than once, so the later calls are warm invocations (the Logger resets its level
 * on each of those: the quiet level must hold through it).
 */
async function aFewRequests(url: string, vars: Record<string, string>): Promise<void> {
  const auth = { authorization: `Bearer ${vars.ALICE_TOKEN}` };
  for (let i = 0; i < 3; i++) expect((await fetch(`${url}/api/v1/environments`, { headers: auth })).status).toBe(200);
  for (let i = 0; i < 2; i++) expect((await fetch(`${url}/api/v1/environments/staging`, { headers: auth })).status).toBe(200);
  expect((await fetch(`${url}/api/v1/environments`)).status).toBe(401);
  expect((await fetch(`${url}/api/v1/no-such-route`, { headers: auth })).status).toBeGreaterThanOrEqual(400);
  expect(
    (await fetch(`${url}/api/v1/environments`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{not json' })).status,
  ).toBe(400);
  // The stream consumer relays the seed's and these requests' events (metrics, if any, are written then).
  await new Promise((r) => setTimeout(r, 1500));
}

describe('npm start: a calm terminal', () => {
  it(
    'prints a short banner (API, console, where the tokens are and how to use them, the demo users) and no token or secret',
    { timeout: 180_000 },
    async () => {
      const s = await startWithIdp();
      const vars = tokensEnv(s.dataDir);
      await aFewRequests(s.url, vars);
      const out = s.output();
      const lines = out.replace(/\n+$/, '').split('\n');
      const shown = `--- what npm start printed (${lines.length} lines) ---\n${out}`;
      expect(lines.length, shown).toBeLessThan(25);
      expect(out, shown).toContain(s.url);
      expect(out, shown).toContain(`${s.url}/dashboard`);
      // The demo IdP on the port after the API's, said so (a second stack on that port would find it taken).
      const idpPort = Number(new URL(s.url).port) + 1;
      expect(out, shown).toMatch(new RegExp(`^  IdP +http://127\\.0\\.0\\.1:${idpPort} .*port ${idpPort}, the API's \\+ 1`, 'm'));
      expect(vars.DEMO_IDP_ISSUER).toBe(`http://127.0.0.1:${idpPort}`);
      expect(out, shown).toContain(join(s.dataDir, 'tokens.env'));
      expect(out, shown).toMatch(/source \S*tokens\.env/);
      for (const name of ['alice', 'bob', 'carol', 'dave', 'victor', 'eve']) expect(out, shown).toContain(name);
      expect(out, shown).not.toMatch(JWT);
      for (const [k, v] of Object.entries(vars)) {
        if (/TOKEN|SECRET/.test(k)) expect(out.includes(v), `${k} is printed in full\n${shown}`).toBe(false);
      }
      expect(vars.SLACK_SIGNING_SECRET?.length, 'tokens.env keeps the Slack signing secret').toBeGreaterThan(8);
      expect(
        lines.filter((l) => l.trimStart().startsWith('{')),
        shown,
      ).toEqual([]);
      expect(out, shown).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // no stack trace
      // No access-log or step line, on the first call of a function or any later (warm) one.
      expect(out, shown).not.toMatch(/^info: /m);
    },
  );

  it('--verbose adds the access log and the metrics, still without a token or secret in the banner', { timeout: 180_000 }, async () => {
    const s = await start(['--verbose']);
    const vars = tokensEnv(s.dataDir);
    // A promotion request, so the flow's events reach the stream consumer and become metrics (the seed emits none:
    // it no longer breaks glass).
    const created = await fetch(`${s.url}/api/v1/config/promotions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${vars.BOB_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sourceEnvironment: 'staging', targetEnvironment: 'production', promotionType: 'PATTERN', keyPatterns: ['query.*'] }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    await aFewRequests(s.url, vars);
    for (let i = 0; i < 30 && !s.output().includes('"_aws"'); i++) await new Promise((r) => setTimeout(r, 500));
    const out = s.output();
    const json = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      json.some((l) => l.message === 'request' && l.route === 'GET /api/v1/environments'),
      out,
    ).toBe(true);
    expect(
      json.some((l) => '_aws' in l),
      out,
    ).toBe(true);
    expect(out).not.toMatch(JWT);
    expect(out.includes(vars.SLACK_SIGNING_SECRET!)).toBe(false);
  });

  it("with the port after the API's taken, starts without the demo IdP and says so in one line", { timeout: 240_000 }, async () => {
    const port = await freePortAndNext();
    // Another stack's gateway, say: something listening on the port the demo IdP would take.
    const other: Server = createServer((c) => c.end('other\n'));
    await new Promise<void>((resolve) => other.listen(port + 1, '127.0.0.1', resolve));
    try {
      const s = await start([], {}, port);
      const out = s.output();
      const shown = `--- what npm start printed ---\n${out}`;
      expect(out, shown).toMatch(
        new RegExp(`^  IdP +not started: port ${port + 1} \\(the API's \\+ 1\\) is in use; this stack runs without the demo IdP`, 'm'),
      );
      expect(out, shown).not.toMatch(/Node\.js v\d+/);
      expect(tokensEnv(s.dataDir).DEMO_IDP_ISSUER).toBeUndefined();
      // The stack answers; the other listener still has its port.
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
      expect(other.listening).toBe(true);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  it("--no-idp starts no demo IdP: the port after the API's stays free, and the banner says how to have it", { timeout: 180_000 }, async () => {
    const s = await start(['--no-idp']);
    const out = s.output();
    expect(out, out).toMatch(/^  IdP +not started \(--no-idp\)/m);
    expect(tokensEnv(s.dataDir).DEMO_IDP_ISSUER).toBeUndefined();
    const next = Number(new URL(s.url).port) + 1;
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(next, '127.0.0.1', resolve));
    await new Promise((r) => probe.close(r));
  });

  it('a port already in use for the API is said in one line, not a crash', { timeout: 120_000 }, async () => {
    const port = await freePortAndNext();
    // Something else answering on the API's port (another stack's demo IdP, say).
    const other = createHttpServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
    try {
      const err = await start([], {}, port).then(
        () => null,
        (e: Error) => e.message,
      );
      expect(err).toMatch(/exited with 1/);
      expect(err).toMatch(new RegExp(`port ${port} is in use`));
      expect(err).not.toMatch(/Node\.js v\d+|EADDRINUSE/);
    } finally {
      other.closeAllConnections();
      await new Promise((r) => other.close(r));
    }
  });
});
