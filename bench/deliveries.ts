import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, heading, quantile } from './common.ts';
import { startLocalStack } from '../local/stack.ts';
import { IsomorphicGitWriter } from '../functions/adapters/git-writer.ts';
import { startGitServer } from '../test/support/git-server.ts';
import { localSecretVariable, secretsFromEnv } from '../functions/adapters/secrets.ts';
import { localDefaults } from '../functions/configuration-overrides.ts';

/**
 * Delivery figures: outbound webhook deliveries per second on the local stack (a real
 * receiver on loopback, every delivery signed), the time from a promotion's commit (its create
 * answered) to the first delivery attempt reaching the receiver, and the git commit step
 * (isomorphic-git shallow clone + commit + push to git http-backend on loopback).
 */
export async function benchDeliveries(opts: { promotions?: number; subscriptions?: number; commits?: number } = {}) {
  const promotions = opts.promotions ?? 20;
  const subscriptions = opts.subscriptions ?? 10;
  heading('Deliveries: outbound webhooks and git commits (local)');
  const arrivals: { at: number; promotionId: string }[] = [];
  const receiver = createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      arrivals.push({ at: performance.now(), promotionId: String(JSON.parse(b).data?.promotionId) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/h`;
  const dataDir = mkdtempSync(join(tmpdir(), 'stageline-bench-deliveries-'));
  const stack = await startLocalStack({ dataDir, tableName: 'bench-deliveries' });
  try {
    const tenant = 'bench';
    const tok = (g: string) => stack.issuer.sign({ sub: `${g}-b`, email: `${g}@bench.test`, tenant, groups: [g] });
    const [admin, deployer] = [await tok('admin'), await tok('deployer')];
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const r = await fetch(stack.gateway.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      const j = (await r.json().catch(() => null)) as any;
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
      return j;
    };
    for (const [position, name] of ['dev', 'staging'].entries()) await call('POST', '/api/v1/environments', admin, { name, position });
    let n = 0;
    // Each promotion carries a new release (the same one twice is refused).
    const request = async () => {
      await call('POST', '/api/v1/environments/dev/configs', admin, { key: `k${++n}`, value: n });
      return call('POST', '/api/v1/promotions', deployer, { sourceEnvironment: 'dev', targetEnvironment: 'staging', autoStart: false });
    };
    // Commit → first attempt: one subscription, promotions one at a time.
    const one = await call('POST', '/api/v1/webhooks', admin, { url: hook, events: ['promotion.requested'] });
    const latency: number[] = [];
    for (let i = 0; i < promotions; i++) {
      const p = await request();
      const committed = performance.now();
      const until = Date.now() + 10_000;
      while (!arrivals.some((a) => a.promotionId === p.id) && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      const hit = arrivals.find((a) => a.promotionId === p.id);
      if (hit) latency.push(hit.at - committed);
      await call('DELETE', `/api/v1/promotions/${p.id}`, deployer).catch(() => {});
    }
    await call('DELETE', `/api/v1/webhooks/${one.id}`, admin);
    // Throughput: `subscriptions` subscriptions × `promotions` events, requested back to back.
    for (let i = 0; i < subscriptions; i++) await call('POST', '/api/v1/webhooks', admin, { url: hook, events: ['promotion.cancelled'] });
    const ids: string[] = [];
    for (let i = 0; i < promotions; i++) ids.push((await request()).id);
    arrivals.length = 0;
    const started = performance.now();
    await Promise.all(ids.map((id) => call('DELETE', `/api/v1/promotions/${id}`, deployer)));
    const expected = promotions * subscriptions;
    const until = Date.now() + 60_000;
    while (arrivals.length < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    const span = (arrivals.at(-1)?.at ?? started) - started;
    console.log(
      `webhook deliveries/s (local, ${subscriptions} subscriptions × ${promotions} cancellations): ${fmt((arrivals.length / span) * 1000)} (${arrivals.length}/${expected} in ${fmt(span, 0)} ms)`,
    );
    console.log(
      `commit → first delivery attempt (${latency.length} promotions, one at a time): p50 ${fmt(quantile(latency, 0.5), 0)} ms, p90 ${fmt(quantile(latency, 0.9), 0)} ms (stream poll 100 ms)`,
    );
  } finally {
    await stack.stop();
    await new Promise((r) => receiver.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  // The git step alone: clone (depth 1) + edit + commit + push, each with a new value.
  const g = await startGitServer('bench-token');
  // The git server is on loopback (local mode), and the bench tenant's push token is given to the writer's resolver.
  localDefaults({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });
  const secrets = secretsFromEnv({ [localSecretVariable('bench', 'git-token', 'BENCH_GIT')!]: 'bench-token' });
  try {
    const url = g.repo('bench', {
      'values.yaml': 'image:\n  tag: v0\n',
      ...Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`charts/c${i}.yaml`, `n: ${i}\n`.repeat(200)])),
    });
    const target = {
      tenant: 'bench',
      environment: 'production',
      repository: url,
      branch: 'main',
      file: 'values.yaml',
      path: 'image.tag',
      value: 'version' as const,
      tokenSecret: 'BENCH_GIT',
      version: 1,
      createdAt: '',
      createdBy: '',
      updatedAt: '',
      updatedBy: '',
    };
    const ms: number[] = [];
    for (let i = 1; i <= (opts.commits ?? 10); i++) {
      const t0 = performance.now();
      await new IsomorphicGitWriter(secrets).commit({
        tenant: 'bench',
        target,
        value: `v${i}`,
        message: `v${i}`,
        author: { name: 'bench', email: 'bench@bench.test' },
      });
      ms.push(performance.now() - t0);
    }
    console.log(
      `git commit step (shallow clone + commit + push, 51-file repo, git http-backend on loopback): p50 ${fmt(quantile(ms, 0.5), 0)} ms, p90 ${fmt(quantile(ms, 0.9), 0)} ms`,
    );
  } finally {
    await g.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDeliveries();
