import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/** One request may not hold the service hostage: its work, what it reads and what it writes are bounded. */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t.stop();
});

describe('bounded work per request', () => {
  it('a PATTERN dry run with a backtracking glob against a 255-character key answers at once', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const key = 'a'.repeat(255);
    expect((await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key, value: 1 } })).status).toBe(201);
    const attack = '*a*a*a*a*a*a*a*ab';
    const dry = (keyPatterns: string[]) =>
      t.call('POST', '/api/v1/config/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'staging', targetEnvironment: 'production', promotionType: 'PATTERN', keyPatterns, dryRun: true },
      });
    const miss = await dry([attack]);
    expect(miss.status, JSON.stringify(miss.body)).toBe(422);
    expect(miss.body.error.message).toContain('Nothing to promote');
    const hit = await dry([attack, '*a*a*a*a*a*a*a*a']);
    expect(hit.body.changes.map((c: any) => c.key)).toEqual([key]);
    // More stars than a pattern may hold, or than a request may hold in all: refused up front.
    const nine = await dry(['*a*a*a*a*a*a*a*a*a']);
    expect(nine.status).toBe(400);
    expect(JSON.stringify(nine.body)).toContain('at most 8 stars');
    const many = await dry(Array.from({ length: 5 }, (_, i) => `${i}*a*a*a*a*a*a*a*`));
    expect(many.status).toBe(400);
    expect(JSON.stringify(many.body)).toContain('at most 32 stars in all');
    expect((await dry(['query.{a,b}'])).status).toBe(400);
  });
});

/**
 * A registry the admin points at, answering with bodies far larger than anything we may read:
 * an error message, a token, a manifest. Written in chunks until the client hangs up.
 */
type Mode = 'error' | 'token' | 'manifest';
let hostile: Server;
let hostileUrl = '';
let mode: Mode = 'error';
const MARKER = 'REMOTE-WORDS-';
const HUGE = 64 * 1024 * 1024;
let written = 0;
function huge(res: import('node:http').ServerResponse, status: number, type: string, head: string) {
  res.writeHead(status, { 'content-type': type });
  written = 0;
  const chunk = Buffer.from(MARKER.repeat((64 * 1024) / MARKER.length));
  res.write(head);
  const pump = () => {
    while (written < HUGE) {
      written += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end('"}]}');
  };
  res.on('error', () => {});
  pump();
}
beforeAll(async () => {
  hostile = createServer((req, res) => {
    req.resume();
    const auth = req.headers.authorization;
    if (mode === 'token' && req.url?.startsWith('/token')) return huge(res, 200, 'application/json', '{"token":"');
    if (mode === 'token' && !auth) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${hostileUrl}/token",service="hostile"` });
      return void res.end();
    }
    if (mode === 'manifest') return huge(res, 200, 'application/vnd.oci.image.manifest.v1+json', '{"schemaVersion":2,"x":"');
    return huge(res, 500, 'application/json', `{"errors":[{"code":"INTERNAL","message":"`);
  });
  await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', () => r()));
  hostileUrl = `http://127.0.0.1:${(hostile.address() as { port: number }).port}`;
});
afterAll(async () => {
  hostile.closeAllConnections();
  await new Promise((r) => hostile.close(r));
});

describe('outbound answers are read with a small bound', () => {
  it("a registry's huge error, token or manifest never reaches the caller and is never read whole", async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    expect(
      (await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [{ name: 'hostile', url: hostileUrl }] } })).status,
    ).toBe(200);
    const digest = `sha256:${'ab'.repeat(32)}`;
    for (const [n, m] of (['error', 'token', 'manifest'] as Mode[]).entries()) {
      mode = m;
      const r = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: `v1.0.${n}`, digest } });
      // A registry's 5xx is a failure of the moment (503 UNAVAILABLE, sent again later); a token or manifest it cannot
      // read is refused (422). Either way the answer is bounded and carries none of the registry's body.
      expect(r.status, `${m}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(m === 'error' ? 503 : 422);
      const text = JSON.stringify(r.body);
      expect(text.length, m).toBeLessThan(2048);
      expect(text, m).not.toContain(MARKER);
      expect(text, m).toMatch(m === 'error' ? /failed: HTTP 500/ : m === 'token' ? /token realm .* returned no token|larger than/ : /larger than 4096 KiB/);
      // the client hung up long before the end
      expect(written, m).toBeLessThan(HUGE);
    }
  });
});

describe('batch writes fit the time budget', () => {
  it('a batch over the item cap is refused up front, naming the limit; nothing is written', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const set = Array.from({ length: 1001 }, (_, i) => ({ key: `bulk.item-${i}`, value: i }));
    const r = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('at most 1000 items per batch');
    const split = await t.call('POST', '/api/v1/environments/dev/items/batch', {
      token: u.deployer,
      body: { set: set.slice(0, 600), delete: set.slice(600).map((s) => ({ key: s.key })) },
    });
    expect(split.status).toBe(400);
    expect((await t.call('GET', '/api/v1/environments/dev/configs?limit=5', { token: u.viewer })).body.items).toEqual([]);
  });

  it('a write with no time left to commit is refused with 503 and saves nothing', async () => {
    const { batchItems } = await import('../../domain/config/items.ts');
    const { deps } = await import('../../functions/http/deps.ts');
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const principal = { id: 'd1', name: `deployer@${tenant}.test`, tenant, roles: ['deployer'] } as never;
    await expect(
      batchItems(deps(), { principal, timeLeft: () => 1000 }, 'dev', { set: [{ kind: 'config', key: 'late.key', value: 1 }], delete: [] }),
    ).rejects.toMatchObject({ code: 'OUT_OF_TIME' });
    expect((await t.call('GET', '/api/v1/environments/dev/configs', { token: u.viewer })).body.items).toEqual([]);
    await expect(
      batchItems(deps(), { principal, timeLeft: () => 20_000 }, 'dev', { set: [{ kind: 'config', key: 'late.key', value: 1 }], delete: [] }),
    ).resolves.toMatchObject({ created: 1 });
  });
});

describe('a freeze window stops direct writes too', () => {
  it('configs, flags, batches and a publish into a frozen environment need an admin break-glass, audited as such', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const now = Date.now();
    const w = await t.call('POST', '/api/v1/freeze-windows', {
      token: u.admin,
      body: { reason: 'sale weekend', start: new Date(now - 1000).toISOString(), end: new Date(now + 3_600_000).toISOString() },
    });
    expect(w.status).toBe(201);
    const writes = (headers: Record<string, string> = {}, token = u.deployer, n = 0) => [
      t.call('POST', '/api/v1/environments/staging/configs', { token, body: { key: `cfg.k${n}`, value: 1 }, headers }),
      t.call('POST', '/api/v1/environments/staging/flags', { token, body: { key: `flag.k${n}`, value: true }, headers }),
      t.call('POST', '/api/v1/environments/staging/items/batch', { token, body: { set: [{ key: `batch.k${n}`, value: 2 }] }, headers }),
      t.call('POST', '/api/v1/artifacts/platform/versions', {
        token,
        body: { version: `v1.0.${n}`, digest: `sha256:${String(n).repeat(64).slice(0, 64)}` },
        headers,
      }),
    ];
    for (const r of await Promise.all(writes())) {
      expect(r.status, JSON.stringify(r.body)).toBe(423);
      expect(r.body.error.message).toContain('sale weekend');
      expect(r.body.error.freeze).toMatchObject({ id: w.body.id });
    }
    // A deployer cannot break glass; an admin can, with a reason.
    for (const r of await Promise.all(writes({ 'x-break-glass-reason': 'INC-7' }, u.deployer, 1))) expect(r.status).toBe(403);
    for (const r of await Promise.all(writes({ 'x-break-glass-reason': 'INC-7 hotfix' }, u.admin, 2)))
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    await t.stack.stream.idle();
    const audit = await t.call('GET', '/api/v1/audit?limit=100', { token: u.viewer });
    const glass = audit.body.items.filter((e: any) => e.action.startsWith('breakglass.'));
    expect(glass.map((e: any) => e.action).sort()).toEqual([
      'breakglass.artifact.publish',
      'breakglass.config.create',
      'breakglass.flag.create',
      'breakglass.items.batch',
    ]);
    for (const e of glass) expect(e.reason).toContain('INC-7 hotfix');
    // nothing else got through
    expect((await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer })).body.items.map((i: any) => i.key).sort()).toEqual([
      'batch.k2',
      'cfg.k2',
    ]);
  });
});

/**
 * What a tenant writes is bounded before it runs (kernel/bounded.ts): the outside testers' repros.
 * On the code before the bounds each of these held the server (a plan never answered, a condition
 * or a tag pattern ran for seconds to minutes); each now answers a clear refusal, or a safe answer.
 */
describe('what a tenant writes is bounded', () => {
  const template = (successCondition: string) => ({
    provider: { type: 'prometheus', address: 'https://prometheus.example.com', query: 'up' },
    intervalSeconds: 60,
    count: 1,
    successCondition,
  });
  const twelve = `[${Array.from({ length: 12 }, (_, i) => i + 1).join(', ')}]`;
  const nested = (n: number) => {
    let body = 'true';
    for (let i = n; i > 0; i--) body = `${twelve}.exists(x${i}, x${i} > 0 && ${body})`;
    return body;
  };

  it('a manifest plan of a document whose alias is inside the node it names answers 400 naming the document', async () => {
    const u = await t.users(t.tenant());
    for (const document of ['a: &a [*a]', 'a: &a {<<: *a}', 'artifacts: &r {promotion: {environments: [*r]}}']) {
      const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document } });
      expect(plan.status, document).toBe(400);
      expect(JSON.stringify(plan.body), document).toContain('may not refer to itself');
      expect(plan.body.error.issues[0].path, document).toBe('document');
    }
    // More aliases than a document may hold: refused with the bound, before the values are built.
    const many = ['a: &a 1', ...Array.from({ length: 101 }, (_, i) => `k${i}: *a`)].join('\n');
    const refused = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: many } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('more than 100 aliases');
  });

  it('a CEL condition of nested exists is refused at save with its cost and the limit; one within the limit is saved', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const put = (condition: string) => t.call('PUT', '/api/v1/analysis-templates/nested', { token: u.admin, body: template(condition) });
    const costly = await put(nested(6));
    expect(costly.status).toBe(400);
    expect(costly.body.error.issues[0].path).toBe('successCondition');
    expect(costly.body.error.issues[0].message).toContain('too costly');
    expect(costly.body.error.issues[0].message).toContain('at most 100,000');
    // The same through the manifest: refused at plan, naming the template's field.
    const doc = `artifacts:\n  promotion:\n    analysis_templates:\n      - name: nested\n        provider: {type: prometheus, address: "https://prometheus.example.com", query: up}\n        successCondition: "${nested(6)}"\n`;
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc } });
    expect(plan.status).toBe(400);
    expect(JSON.stringify(plan.body)).toContain('too costly');
    expect((await put(nested(2))).status).toBe(200);
  });

  it('matches() in a condition runs on the RE2 engine: a backtracking pattern is saved and judged at once; a backreference is refused', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const condition = `"${'a'.repeat(40)}!".matches("^(a+)+$") || result < 1.0`;
    const saved = await t.call('PUT', '/api/v1/analysis-templates/re', { token: u.admin, body: template(condition) });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const backref = await t.call('PUT', '/api/v1/analysis-templates/re', { token: u.admin, body: template('"aa".matches("(a)\\\\1")') });
    expect(backref.status).toBe(400);
    expect(backref.body.error.issues[0].path).toBe('successCondition');
    expect(backref.body.error.issues[0].message).toContain('RE2');
  });

  it('a tag pattern runs on the RE2 engine: the alternation under a quantifier is judged at once on a long tag; a backreference is refused', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const refused = await t.call('POST', '/api/v1/artifacts/platform/links', {
      token: u.admin,
      body: { registry: '127.0.0.1:5000', repository: 'platform', tags: { pattern: '1\\.0\\.0-(1)\\1' } },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('RE2');
    const link = await t.call('POST', '/api/v1/artifacts/platform/links', {
      token: u.admin,
      body: { registry: '127.0.0.1:5000', repository: 'platform', tags: { pattern: '1\\.0\\.0-(1|1)+' } },
    });
    expect(link.status, JSON.stringify(link.body)).toBe(201);
    const tag = `1.0.0-${'1'.repeat(40)}x`;
    const r = await fetch(`${t.url}/api/v1/registry/notifications/${tenant}/platform/${link.body.id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${link.body.notifyToken}`, 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
      body: JSON.stringify({ events: [{ action: 'push', target: { repository: 'platform', digest: `sha256:${'a'.repeat(64)}`, tag } }] }),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ results: [{ artifact: 'platform', skipped: `tag ${tag} does not pass the link's filter` }] });
  });
});
