import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Outbound webhooks end to end: a real receiver (a node:http server) verifies every delivery with the
 * standardwebhooks library, unchanged, and fails the first attempts of each delivery.
 */
let t: TestStack;
let receiver: Server;
let receiverUrl = '';
interface Received {
  id: string;
  body: string;
  headers: Record<string, string>;
  answered: number;
}
const received: Received[] = [];
/** how many times each webhook-id is answered 500 before 200 */
let failFirst = 3;

beforeAll(async () => {
  t = await startTestStack({ webhookRetryBaseMs: 50 });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const seen = received.filter((r) => r.id === id).length;
      const answered = seen < failFirst ? 500 : 200;
      received.push({ id, body, headers: req.headers as Record<string, string>, answered });
      res.writeHead(answered, { 'content-type': 'text/plain' });
      res.end(answered === 200 ? 'ok' : 'try later: token=abcdefghijklmnopqrstuvwxyz0123456789');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks/stageline`;
});
afterAll(async () => {
  await t.stop();
  await new Promise((r) => receiver.close(r));
});

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, {
    'webhook-id': r.headers['webhook-id']!,
    'webhook-timestamp': r.headers['webhook-timestamp']!,
    'webhook-signature': r.headers['webhook-signature']!,
  });

describe('outbound webhooks (Standard Webhooks)', () => {
  it('delivers a promotion event signed, retries a failing receiver with the same webhook-id, logs every attempt, redelivers, and signs with both secrets after a rotation', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const created = await t.call('POST', '/api/v1/webhooks', {
      token: u.admin,
      body: { url: receiverUrl, events: ['promotion.requested', 'promotion.completed'], description: 'deploy bot' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
    const id: string = created.body.id;

    // The secret is shown once: never in a read, a list, an update or the audit trail.
    const got = await t.call('GET', `/api/v1/webhooks/${id}`, { token: u.viewer });
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    const list = await t.call('GET', '/api/v1/webhooks', { token: u.viewer });
    expect(list.body.items.map((w: { id: string }) => w.id)).toEqual([id]);
    const audit = await t.call('GET', '/api/v1/audit?entityType=webhook', { token: u.viewer });
    for (const text of [JSON.stringify(got.body), JSON.stringify(list.body), JSON.stringify(audit.body)]) expect(text).not.toContain(secret.slice(6));

    // A promotion: its "requested" event goes out through the outbox; the receiver fails it 3 times.
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'feature.x', value: 'on' } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const ok = await until('a 200 for promotion.requested', () =>
      received.find((r) => r.answered === 200 && JSON.parse(r.body).type === 'promotion.requested' && JSON.parse(r.body).data.promotionId === p.body.id),
    );
    const same = received.filter((r) => r.id === ok.id);
    expect(same.map((r) => r.answered)).toEqual([500, 500, 500, 200]);
    // Every attempt verifies with the library, unchanged; the body names the event and its version.
    for (const r of same) expect(verify(secret, r)).toMatchObject({ type: 'promotion.requested', version: 1, tenant, data: { promotionId: p.body.id } });
    expect(() => verify('whsec_' + Buffer.alloc(24, 1).toString('base64'), ok)).toThrow();

    // The delivery log: one delivery, four attempts, one success; no response body beyond a redacted excerpt.
    const log = await until('the delivered log entry', async () => {
      const r = await t.call('GET', `/api/v1/webhooks/${id}/deliveries`, { token: u.viewer });
      return r.body.items.find((d: { id: string; status: string }) => d.id === ok.id && d.status === 'delivered');
    });
    expect(log.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 500, 200]);
    expect(log.attempts.map((a: { trigger: string }) => a.trigger)).toEqual(['event', 'retry', 'retry', 'retry']);
    expect(log.attempts[0].excerpt).toBe('try later: [redacted]');
    expect(log.attempts.every((a: { ms: number }) => a.ms >= 0)).toBe(true);
    expect(log.nextAttemptAt).toBeNull();

    // Rotation: a new secret, shown once; during the overlap both sign, so a receiver on either verifies.
    const rotated = await t.call('POST', `/api/v1/webhooks/${id}/rotate`, { token: u.admin, body: { overlapSeconds: 3600 } });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body.secret).not.toBe(secret);
    expect(rotated.body.secrets).toHaveLength(2);
    // Redeliver: the same webhook-id again, now signed with both secrets.
    failFirst = 0;
    const before = received.length;
    const re = await t.call('POST', `/api/v1/webhooks/${id}/deliveries/${ok.id}/redeliver`, { token: u.deployer });
    expect(re.status, JSON.stringify(re.body)).toBe(202);
    const again = await until('the redelivery', () => received.slice(before).find((r) => r.id === ok.id));
    expect(again.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(secret, again)).toMatchObject({ type: 'promotion.requested' });
    expect(verify(rotated.body.secret, again)).toMatchObject({ type: 'promotion.requested' });
  });

  it('logs every attempt of 20 concurrent redeliveries of one delivery: attempts recorded == requests the receiver got', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    failFirst = 0;
    const created = await t.call('POST', '/api/v1/webhooks', { token: u.admin, body: { url: receiverUrl, events: ['promotion.requested'] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id: string = created.body.id;
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'feature.y', value: 'on' } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    const first = await until('the first delivery', () => received.find((r) => JSON.parse(r.body).data.promotionId === p.body.id));
    const deliveryOf = async () =>
      (await t.call('GET', `/api/v1/webhooks/${id}/deliveries`, { token: u.viewer })).body.items.find((d: { id: string }) => d.id === first.id);
    await until('delivered', async () => (await deliveryOf())?.status === 'delivered');

    const answers = await Promise.all(
      Array.from({ length: 20 }, () => t.call('POST', `/api/v1/webhooks/${id}/deliveries/${first.id}/redeliver`, { token: u.deployer })),
    );
    // Accepted, or a fair 409 when the delivery changed under this one (the caller may send it again).
    for (const a of answers) expect([202, 409], JSON.stringify(a.body)).toContain(a.status);
    expect(answers.filter((a) => a.status === 202).length).toBeGreaterThan(0);
    // Quiet again: delivered, and the receiver saw no new request for a few polls.
    let hits = -1;
    await until('the redeliveries to settle', async () => {
      const now = received.filter((r) => r.id === first.id).length;
      const settled = now === hits && (await deliveryOf())?.status === 'delivered';
      hits = now;
      if (!settled) await new Promise((r) => setTimeout(r, 200));
      return settled;
    });
    expect(hits).toBeGreaterThan(1);
    // Every request the receiver got is one attempt in the log (none lost to a concurrent write): an attempt
    // whose request arrived is logged once its answer is read, so the log catches up; a lost write never would.
    const log = await until('every attempt logged', async () => {
      const d = await deliveryOf();
      hits = received.filter((r) => r.id === first.id).length;
      return d?.attempts.length === hits ? d : undefined;
    });
    expect(log.attempts).toHaveLength(hits);
    expect(log.attempts.filter((a: { trigger: string }) => a.trigger === 'redeliver')).toHaveLength(hits - 1);
  });

  it("a receiver's credential in its URL reaches only the admin who set it, once: viewers, later reads, the audit trail and gates show it redacted; the redacted value sent back keeps it", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const secretPath = '/hooks/T000/B000/XXXXSECRETXXXX?token=abc123';
    const url = `${receiverUrl}${secretPath}`;
    const made = await t.call('POST', '/api/v1/webhooks', { token: u.admin, body: { url, events: ['promotion.completed'] } });
    expect(made.status).toBe(201);
    expect(made.body.url).toBe(url); // shown once, to the admin who set it
    const leaks = (v: unknown) => JSON.stringify(v).includes('XXXXSECRET') || JSON.stringify(v).includes('abc123');
    const list = await t.call('GET', '/api/v1/webhooks', { token: u.viewer });
    const one = await t.call('GET', `/api/v1/webhooks/${made.body.id}`, { token: u.admin });
    expect(leaks(list.body) || leaks(one.body)).toBe(false);
    expect(one.body.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/…#[0-9a-f]{8}$/);
    // Read, change, write back what was read: the stored URL stays (deliveries still reach it).
    const back = await t.call('PATCH', `/api/v1/webhooks/${made.body.id}`, {
      token: u.admin,
      body: { url: one.body.url, events: ['promotion.completed', 'promotion.failed'], version: one.body.version },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(leaks(back.body)).toBe(false);
    const { deps } = await import('../../functions/http/deps.ts');
    expect((await deps().store.getWebhook(tenant, made.body.id))?.url).toBe(url);
    // Another redacted value is no URL to call.
    const other = await t.call('PATCH', `/api/v1/webhooks/${made.body.id}`, {
      token: u.admin,
      body: { url: 'https://hooks.example.com/…#0000aaaa', version: back.body.version },
    });
    expect(other.status).toBe(400);
    expect(other.body.error.issues[0].path).toBe('url');
    // A webhook gate's URL, as viewers read the environment; the audit trail and the manifest export.
    const env = (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body;
    const gate = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: env.version, webhookGates: [{ name: 'change-board', url, secret: 'a-secret-of-16-chars+', timeoutMs: 1000 }] },
    });
    expect(gate.status, JSON.stringify(gate.body)).toBe(200);
    expect(leaks((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body)).toBe(false);
    expect(leaks((await t.call('GET', '/api/v1/audit?limit=100', { token: u.viewer })).body)).toBe(false);
    expect(leaks((await t.call('GET', '/api/v1/webhooks', { token: u.viewer })).body)).toBe(false);
    const manifest = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect(JSON.stringify(manifest.body.artifacts.promotion.webhooks)).not.toContain('XXXXSECRET');
  });

  it('refuses private, metadata and non-https URLs at save (400), keeps subscriptions to their tenant, and needs the admin role to manage them', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    for (const url of [
      'https://10.0.0.7/hook',
      'http://169.254.169.254/latest/meta-data',
      'https://[::ffff:192.168.1.1]/x',
      'https://metadata.google.internal/x',
      'ftp://example.com/x',
      'https://user:pw@example.com/x',
    ]) {
      const r = await t.call('POST', '/api/v1/webhooks', { token: u.admin, body: { url, events: ['promotion.completed'] } });
      expect(r.status, url).toBe(400);
      expect(r.body.error.issues[0].path).toBe('url');
    }
    const bad = await t.call('POST', '/api/v1/webhooks', { token: u.admin, body: { url: receiverUrl, events: ['promotion.exploded'] } });
    expect(bad.status).toBe(400);
    const noEnv = await t.call('POST', '/api/v1/webhooks', {
      token: u.admin,
      body: { url: receiverUrl, events: ['promotion.completed'], environment: 'nowhere' },
    });
    expect(noEnv.status).toBe(404);
    expect((await t.call('POST', '/api/v1/webhooks', { token: u.deployer, body: { url: receiverUrl, events: ['promotion.completed'] } })).status).toBe(403);

    const mine = await t.call('POST', '/api/v1/webhooks', { token: u.admin, body: { url: receiverUrl, events: ['promotion.completed'] } });
    expect(mine.status).toBe(201);
    const other = await t.users(t.tenant());
    expect((await t.call('GET', `/api/v1/webhooks/${mine.body.id}`, { token: other.admin })).status).toBe(404);
    expect((await t.call('GET', `/api/v1/webhooks/${mine.body.id}/deliveries`, { token: other.admin })).status).toBe(404);
    expect((await t.call('POST', `/api/v1/webhooks/${mine.body.id}/rotate`, { token: other.admin, body: {} })).status).toBe(404);
    expect((await t.call('DELETE', `/api/v1/webhooks/${mine.body.id}`, { token: other.admin })).status).toBe(404);
    expect((await t.call('GET', '/api/v1/webhooks', { token: other.admin })).body.items).toEqual([]);
    // Only the delivery log is paged: the list and one subscription list no query in the document and read none.
    const doc = (await t.call('GET', '/api/v1/openapi.json')).body;
    const queryOf = (path: string) =>
      (doc.paths[path].get.parameters ?? []).filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name);
    expect(queryOf('/api/v1/webhooks')).toEqual([]);
    expect(queryOf('/api/v1/webhooks/{id}')).toEqual([]);
    expect(queryOf('/api/v1/webhooks/{id}/deliveries').sort()).toEqual(['cursor', 'limit']);
    expect((await t.call('GET', `/api/v1/webhooks/${mine.body.id}?limit=0x10`, { token: u.viewer })).status).toBe(200);
    const forged = await t.call('GET', `/api/v1/webhooks/${mine.body.id}/deliveries?cursor=zzz`, { token: u.viewer });
    expect(forged.status).toBe(400);
    expect(forged.body.error.issues).toEqual([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
    // A stale version is a 409; a private URL on update is a 400; delete is 204 and the subscription is gone.
    expect((await t.call('PATCH', `/api/v1/webhooks/${mine.body.id}`, { token: u.admin, body: { version: 7, enabled: false } })).status).toBe(409);
    expect((await t.call('PATCH', `/api/v1/webhooks/${mine.body.id}`, { token: u.admin, body: { version: 1, url: 'https://192.168.0.1/' } })).status).toBe(400);
    expect((await t.call('DELETE', `/api/v1/webhooks/${mine.body.id}`, { token: u.admin })).status).toBe(204);
    expect((await t.call('GET', `/api/v1/webhooks/${mine.body.id}`, { token: u.admin })).status).toBe(404);
  });

  it('is managed from the CLI: create prints the secret once, list shows health, rotate prints the new one, git-target set/get', async () => {
    const tenant = t.tenant();
    process.env[localSecretVariable(tenant, 'git-token', 'GITOPS_TOKEN')!] = 'webhooks-cli-push-token';
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const cli = async (...args: string[]) => JSON.parse((await cliOf(t)(u.admin, '--json', ...args)).stdout);
    const created = await cli('webhooks', 'create', receiverUrl, '--events', 'promotion.completed,promotion.failed', '--env', 'production');
    expect(created.secret).toMatch(/^whsec_/);
    const listed = await cli('webhooks', 'list');
    expect(listed.items).toEqual([
      expect.objectContaining({
        id: created.id,
        environment: 'production',
        events: ['promotion.completed', 'promotion.failed'],
        health: expect.objectContaining({ status: 'ok' }),
      }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    const rotated = await cli('webhooks', 'rotate', created.id, '--overlap', '600');
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secrets).toHaveLength(2);
    expect((await cli('webhooks', 'deliveries', created.id)).items).toEqual([]);
    const set = await cli(
      'git-target',
      'set',
      'production',
      '--repo',
      'https://git.example.com/org/deploy.git',
      '--file',
      'envs/production/values.yaml',
      '--path',
      'image.tag',
      '--token-secret',
      'GITOPS_TOKEN',
    );
    expect(set).toMatchObject({ environment: 'production', branch: 'main', value: 'version', version: 1 });
    expect(
      (
        await cli(
          'git-target',
          'set',
          'production',
          '--repo',
          'https://git.example.com/org/deploy.git',
          '--file',
          'envs/production/values.yaml',
          '--path',
          'image.digest',
          '--value',
          'digest',
        )
      ).version,
    ).toBe(2);
    expect(await cli('git-target', 'get', 'production')).toMatchObject({ path: 'image.digest', value: 'digest' });
  });

  it('sends artifact.published (to a subscription a manifest made) when a version is published, and freeze.started / freeze.ended once per window edge (scheduled edges, and a window added and removed while open)', async () => {
    failFirst = 0;
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    // dev's subscription comes from a manifest: its signing secret is in the apply's answer, once.
    const document = JSON.stringify({ artifacts: { promotion: { webhooks: [{ url: receiverUrl, events: ['artifact.published'], environment: 'dev' }] } } });
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const dev = { body: { secret: applied.body.secrets.webhooks[0].secret as string } };
    const sub = await t.call('POST', '/api/v1/webhooks', {
      token: u.admin,
      body: { url: receiverUrl, events: ['artifact.published', 'freeze.started', 'freeze.ended'], environment: 'production' },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const mine = (type: string) => received.filter((r) => r.answered === 200 && JSON.parse(r.body).tenant === tenant && JSON.parse(r.body).type === type);

    // A published version: one signed delivery to the subscription of the first environment (dev), none to production's.
    const digest = `sha256:${'ab'.repeat(32)}`;
    const pub = await t.call('POST', '/api/v1/artifacts/platform/versions', {
      token: u.deployer,
      body: { version: 'v3.1.0', digest, sourceCommit: 'abc1234', gitBranch: 'main' },
    });
    expect(pub.status, JSON.stringify(pub.body)).toBe(201);
    const got = await until('artifact.published', () => mine('artifact.published')[0]);
    expect(verify(dev.body.secret, got)).toMatchObject({
      type: 'artifact.published',
      version: 1,
      tenant,
      data: { artifact: 'platform', version: 'v3.1.0', digest, environment: 'dev', via: 'api' },
    });
    expect(() => verify(sub.body.secret, got)).toThrow();

    // A window that opens and closes on its own schedules: one event per edge, in order.
    const at = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    const w = await t.call('POST', '/api/v1/freeze-windows', { token: u.admin, body: { reason: 'release train', start: at(1), end: at(2.5) } });
    expect(w.status, JSON.stringify(w.body)).toBe(201);
    const ended = await until('freeze.ended', () => mine('freeze.ended').find((r) => JSON.parse(r.body).data.windowId === w.body.id));
    const started = mine('freeze.started').filter((r) => JSON.parse(r.body).data.windowId === w.body.id);
    expect(started).toHaveLength(1);
    // A tenant-wide window reaches the production subscription; the edge times are the window's own.
    expect(verify(sub.body.secret, started[0]!)).toMatchObject({
      type: 'freeze.started',
      data: { windowId: w.body.id, reason: 'release train', start: w.body.start, end: w.body.end, at: w.body.start },
    });
    expect(verify(sub.body.secret, ended)).toMatchObject({ type: 'freeze.ended', data: { windowId: w.body.id, at: w.body.end } });

    // Added while open: started at once; removed while open: ended at once.
    const open = await t.call('POST', '/api/v1/environments/production/freeze-windows', {
      token: u.admin,
      body: { reason: 'incident', start: at(-60), end: at(3600) },
    });
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    await until('freeze.started of the open window', () => mine('freeze.started').find((r) => JSON.parse(r.body).data.windowId === open.body.id));
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${open.body.id}`, { token: u.admin })).status).toBe(204);
    const closed = await until('freeze.ended of the removed window', () => mine('freeze.ended').find((r) => JSON.parse(r.body).data.windowId === open.body.id));
    expect(JSON.parse(closed.body).data).toMatchObject({ environment: 'production', reason: 'incident' });

    // The scheduler delivers at least once: the same edge fired again (the real schedule-fire handler) writes the
    // same event id, which the outbox refuses, so nothing more is sent; however long we look, one delivery per edge.
    await t.stack.scheduler.scheduleOnce('replayed-edge', new Date(), { tenant, freezeEdge: { window: w.body.id, edge: 'started', at: w.body.start } });
    await until('the replayed edge to fire', () => !t.stack.scheduler.pending().includes('replayed-edge'));
    await new Promise((r) => setTimeout(r, 1500));
    const edges = [...mine('freeze.started'), ...mine('freeze.ended')].map(
      (r) => JSON.parse(r.body) as { type: string; eventId: string; data: { windowId: string } },
    );
    expect(edges.map((e) => `${e.type} ${e.data.windowId}`).sort()).toEqual(
      [`freeze.ended ${open.body.id}`, `freeze.ended ${w.body.id}`, `freeze.started ${open.body.id}`, `freeze.started ${w.body.id}`].sort(),
    );
    expect(new Set(edges.map((e) => e.eventId)).size).toBe(4);
    expect(mine('artifact.published')).toHaveLength(1);
  });
});
