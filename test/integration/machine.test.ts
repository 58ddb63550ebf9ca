import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

async function signedFetch(path: string, body: unknown, creds: { accessKeyId: string; secretAccessKey: string }) {
  const url = new URL(t.url + path);
  const text = JSON.stringify(body);
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  const req = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host, 'content-type': 'application/json' },
      body: text,
    }),
  );
  const { host: _host, ...headers } = req.headers;
  const res = await fetch(url, { method: 'POST', headers, body: text });
  return { status: res.status, body: await res.json() };
}

describe('machine route with IAM (SigV4) auth', () => {
  it('accepts a request signed by a registered pipeline principal, bound to its tenant by configuration', async () => {
    const admin = await t.token({ tenant: 'acme', groups: ['admin'] });
    await makeLine(t, admin);
    const r = await signedFetch('/api/v1/machine/environments/dev/items/batch', { set: [{ key: 'build.sha', value: 'abc123' }] }, t.stack.iam[0]!);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ created: 1 });
    const audit = await t.call('GET', '/api/v1/audit?limit=1', { token: admin });
    expect(audit.body.items[0]).toMatchObject({ action: 'items.batch', actorName: 'pipeline' });
  });

  it('refuses unsigned, wrongly signed and JWT-bearing requests', async () => {
    const path = '/api/v1/machine/environments/dev/items/batch';
    expect((await t.call('POST', path, { body: { set: [{ key: 'k', value: 1 }] } })).status).toBe(403);
    const bad = await signedFetch(path, { set: [{ key: 'k', value: 1 }] }, { accessKeyId: t.stack.iam[0]!.accessKeyId, secretAccessKey: 'wrong' });
    expect(bad.status).toBe(403);
    const jwt = await t.token({ tenant: 'acme', groups: ['admin'] });
    expect((await t.call('POST', path, { token: jwt, body: { set: [{ key: 'k', value: 1 }] } })).status).toBe(403);
  });
});
