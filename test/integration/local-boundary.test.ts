import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/** The local stack stays on this machine: attacks from another host, another web page, a rebinding name. */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t.stop();
});

/** The addresses listening on a TCP port, from the kernel's own tables (IPv4 and IPv6). */
function listeners(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [addr, p] = local!.split(':');
      if (state === '0A' && parseInt(p!, 16) === port) out.push(addr!);
    }
  }
  return out;
}
/** 127.0.0.0/8 as /proc writes it (little-endian hex), ::1, or ::ffff:127.x.x.x. */
const loopback = (hex: string) =>
  hex.length === 8 ? hex.endsWith('7F') : hex === '00000000000000000000000001000000' || /^0000000000000000FFFF0000[0-9A-F]{6}7F$/.test(hex);

/** A raw request with a chosen Host header (fetch sets its own). */
function raw(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the local stack stays local', () => {
  it('DynamoDB Local and the gateway listen on loopback only', () => {
    const dynamoPort = t.stack.dynamo.port;
    for (const port of [dynamoPort, t.stack.gateway.port]) {
      const addrs = listeners(port);
      expect(addrs.length, `nothing listens on ${port}`).toBeGreaterThan(0);
      expect(
        addrs.filter((a) => !loopback(a)),
        `port ${port} listens beyond loopback`,
      ).toEqual([]);
    }
  });

  it('answers no other origin on /dev and /review, and only its own Host names', async () => {
    const evil = { origin: 'https://evil.example' };
    const outbox = await fetch(`${t.url}/dev/outbox.json`, { headers: evil });
    expect(outbox.status).toBe(200);
    expect(outbox.headers.get('access-control-allow-origin')).toBeNull();
    const review = await fetch(`${t.url}/review/acme/not-a-token`, { headers: evil });
    expect(review.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${t.url}/review/acme/not-a-token`, { method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    // the API itself still answers browsers (allowed origins: any, by default)
    expect((await fetch(`${t.url}/health`, { headers: evil })).headers.get('access-control-allow-origin')).toBe('*');

    // A DNS-rebinding page: its own name, now resolving to 127.0.0.1.
    const port = t.stack.gateway.port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`]) {
      const r = await raw('GET', '/dev/outbox.json', { host });
      expect(r.status, host).toBe(421);
      expect(JSON.parse(r.body).message).toMatch(/answers Host .*127\.0\.0\.1/);
      expect(r.body).not.toContain('mails');
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) expect((await raw('GET', '/health', { host })).status, host).toBe(200);
  });

  it('a page of another origin cannot make the stand-ins act: no forged alarm, registry push, Slack message or token', async () => {
    const cross = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' };
    const alarm = {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      account: '000000000000',
      region: 'us-east-1',
      time: new Date().toISOString(),
      resources: ['arn:aws:cloudwatch:us-east-1:000000000000:alarm:acme/x'],
      detail: { alarmName: 'acme/x', state: { value: 'ALARM', reason: 'forged' } },
    };
    const before = t.stack.outbox.slack.length;
    for (const [path, body] of [
      ['/dev/events', alarm],
      ['/dev/slack/demo', { text: 'click https://evil.example' }],
      ['/dev/sign-in', { email: 'alice@acme.example' }],
    ] as const) {
      const r = await fetch(`${t.url}${path}`, { method: 'POST', headers: cross, body: JSON.stringify(body) });
      expect(r.status, path).toBe(403);
      // The same page's origin, but a browser that says so only with Sec-Fetch-Site.
      expect((await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' }, body: JSON.stringify(body) })).status, path).toBe(
        403,
      );
    }
    expect(t.stack.outbox.slack.length).toBe(before);
    // Tools (no Origin) and the stack's own origin still reach them.
    expect((await fetch(`${t.url}/dev/sign-in`, { method: 'POST', body: JSON.stringify({ email: 'alice@acme.example' }) })).status).toBe(200);
    expect(
      (
        await fetch(`${t.url}/dev/sign-in`, {
          method: 'POST',
          headers: { origin: t.url, 'sec-fetch-site': 'same-origin' },
          body: JSON.stringify({ email: 'alice@acme.example' }),
        })
      ).status,
    ).toBe(200);
  });

  it('a review decision from another origin is refused and approves nothing', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [`ops@${tenant}.test`], approvers: true } } });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'query.timeout', value: '180s' } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(p.status).toBe(201);
    await waitForToken(t, u.viewer, p.body.id);
    await t.stack.stream.idle();
    let mail: { text: string } | undefined;
    for (let i = 0; i < 200 && !mail; i++) {
      mail = t.stack.outbox.mails.find((m) => m.to === `approver@${tenant}.test` && m.subject.includes('needs your approval'));
      if (!mail) await new Promise((r) => setTimeout(r, 25));
    }
    const link = /(http:\/\/127\.0\.0\.1:\d+\/review\/\S+)/.exec(mail!.text)![1]!;
    // The attacker read the link and the page's nonce (as /dev/outbox.json and the page allowed before).
    const nonce = /name="nonce" value="([^"]+)"/.exec(await (await fetch(link)).text())![1]!;
    const post = (headers: Record<string, string>) =>
      fetch(link, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ action: 'approve', nonce }).toString(),
      });
    const attempts: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { 'sec-fetch-site': 'same-site' },
      {},
    ];
    for (const headers of attempts) {
      const r = await post(headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(await r.text()).toContain('Not sent from Stageline');
    }
    const after = await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer });
    expect(after.body.status).toBe('AWAITING_APPROVAL');
    expect(after.body.approvals.given).toEqual([]);
    // The service's own page still works: its origin (or the browser's same-origin mark).
    expect((await post({ origin: new URL(link).origin })).status).toBe(200);
  });
});
