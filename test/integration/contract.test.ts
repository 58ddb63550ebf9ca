import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { contractViolations, operations, requestProblems, statedFields } from '../support/contract.ts';
import { signedFetch } from '../support/sigv4.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { startSplunkHecStandin, type SplunkHecStandin } from '../support/splunk-hec-standin.ts';
import { startJiraStandin, type JiraStandin } from '../support/jira-standin.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';

/**
 * Through the HTTP surface: bodies the contract allows never answer 5xx or
 * lose data; every answer is also checked against the OpenAPI document (TestStack.call).
 */
let t: TestStack;
let u: Awaited<ReturnType<TestStack['users']>>;
beforeAll(async () => {
  t = await startTestStack();
  u = await t.users(t.tenant());
  await makeLine(t, u.admin);
});
afterAll(() => t.stop());

describe('the contract: no 5xx, no data loss', () => {
  it('POST /api/v1/config/promotions refuses artifact- and agent-shaped bodies with 400 naming the field', async () => {
    const artifact = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'web', version: '1.0.0' },
    });
    expect(artifact.status).toBe(400);
    expect(artifact.body.error.issues[0].path).toBe('artifact');
    const agent = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { agent_id: 'bot', source_deployment_id: 'd1', target_gateway_id: 'g1', target_environment: 'staging' },
    });
    expect(agent.status).toBe(400);
    expect(agent.body.error.issues[0].path).toBe('agentId');
  });

  it('stores artifact metadata as sent: empty keys (nested too) and tiny numbers read back unchanged', async () => {
    const metadata = { '': 'x', nested: { '': { '': 1 } }, tiny: 1e-200, neg: -5e-324, big: 9007199254740991, list: [{ '': null }] };
    const r = await t.call('POST', '/api/v1/artifacts/web/versions', {
      token: u.deployer,
      body: { version: 'v1.0.0', digest: `sha256:${'a'.repeat(64)}`, metadata },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const back = await t.call('GET', '/api/v1/artifacts/web/versions', { token: u.viewer });
    const v = back.body.versions.find((x: { version: string }) => x.version === 'v1.0.0');
    expect(v.metadata).toEqual({ ...metadata, gitBranch: '' });
    const big = await t.call('POST', '/api/v1/artifacts/web/versions', {
      token: u.deployer,
      body: { version: 'v1.0.1', digest: `sha256:${'b'.repeat(64)}`, metadata: { blob: 'x'.repeat(70 * 1024) } },
    });
    expect(big.status).toBe(400);
    expect(big.body.error.issues[0].path).toBe('metadata');
  });

  it('refuses from after to with 400 on metrics and audit, as on the export', async () => {
    for (const path of ['/api/v1/platform/metrics', '/api/v1/audit', '/api/v1/audit/export']) {
      const r = await t.call('GET', `${path}?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z`, { token: u.admin });
      expect(r.status, path).toBe(400);
      expect(JSON.stringify(r.body.error.issues)).toContain('from');
    }
    // A from in the future with no to (to defaults to now) is the same mistake.
    expect((await t.call('GET', '/api/v1/platform/metrics?from=2090-01-01T00:00:00Z', { token: u.admin })).status).toBe(400);
  });

  it('a missing or null body is a 400 and overwrites nothing (notifications, tenant and per environment)', async () => {
    const set = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: ['ops@example.com'] }, version: 0 } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    for (const path of ['/api/v1/notifications', '/api/v1/environments/dev/notifications']) {
      for (const raw of ['null', undefined]) {
        const r = await t.call('PUT', path, { token: u.admin, raw, headers: { 'content-type': 'application/json' } });
        expect(r.status, `${path} ${raw}`).toBe(400);
        expect(r.body.error.issues[0].path).toBe('body');
      }
    }
    const after = await t.call('GET', '/api/v1/notifications', { token: u.admin });
    expect(after.body.version).toBe(set.body.version);
    expect(JSON.stringify(after.body.email)).toContain('ops@example.com');
    // An action whose fields are all optional still takes no body.
    const create = await t.call('POST', '/api/v1/environments', { token: u.admin, raw: 'null', headers: { 'content-type': 'application/json' } });
    expect(create.status).toBe(400);
  });

  it('refuses a body that is not UTF-8 with 400 and stores nothing: no replacement characters in place of what was sent', async () => {
    const latin1 = Buffer.from('{"key":"greeting","value":"caf\u00e9"}', 'latin1'); // é is one byte 0xE9: not UTF-8
    const res = await fetch(`${t.url}/api/v1/environments/dev/configs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.deployer}`, 'content-type': 'application/json' },
      body: latin1,
    });
    const answer = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(answer)).toBe(400);
    expect(answer.error.code).toBe('MALFORMED_JSON');
    expect(answer.error.message).toMatch(/UTF-8/);
    const list = await t.call('GET', '/api/v1/environments/dev/configs', { token: u.viewer });
    expect(list.body.items.map((i: { key: string }) => i.key)).not.toContain('greeting');
    // The same text as UTF-8 is stored as sent.
    const ok = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'greeting', value: 'café' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.value).toBe('café');
  });

  it('documents the OFREP evaluation body (the context a rollout splits on) and answers an oversized one with a documented 413', async () => {
    const key = (await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { environment: 'dev', name: 'ofrep' } })).body.key as string;
    expect(
      (
        await t.call('POST', '/api/v1/environments/dev/flags', {
          token: u.deployer,
          body: { key: 'split', value: { $rollout: { variants: { on: true, off: false }, weights: { on: 50, off: 50 } } } },
        })
      ).status,
    ).toBe(201);
    for (const path of ['/ofrep/v1/evaluate/flags/{key}', '/ofrep/v1/evaluate/flags']) {
      const o = operations().find((x) => x.method === 'POST' && x.path === path)!;
      expect(o.op.requestBody?.content?.['application/json']?.schema?.properties, path).toHaveProperty('context');
      expect(o.op.requestBody.required, path).toBe(false); // no body: an empty context
    }
    const body = { context: { targetingKey: 'user-1' } };
    expect(
      requestProblems(
        operations().find((x) => x.method === 'POST' && x.path === '/ofrep/v1/evaluate/flags/{key}')!,
        { params: { key: 'split' }, query: {}, body, bodyGiven: true },
      ),
    ).toEqual([]);
    const split = await t.call('POST', '/ofrep/v1/evaluate/flags/split', { token: key, body });
    expect(split.status, JSON.stringify(split.body)).toBe(200);
    expect(split.body.reason).toBe('SPLIT');
    expect((await t.call('POST', '/ofrep/v1/evaluate/flags/split', { token: key })).body.errorCode).toBe('TARGETING_KEY_MISSING');
    const big = await t.call('POST', '/ofrep/v1/evaluate/flags', { token: key, body: { context: { targetingKey: 'u', pad: 'x'.repeat(3 * 1024 * 1024) } } });
    expect(big.status).toBe(413);
  });

  it('states in the document the rule it refuses a deployment record for: completedAt before deployedAt (IAM)', async () => {
    const body = { imageTag: 'v1.0.0', environment: 'dev', status: 'DEPLOYED', deployedAt: '2026-02-12T10:05:00Z', completedAt: '2026-02-12T10:00:00Z' };
    const r = await signedFetch(t.url, 'POST', '/api/v1/platform/deployments', body, t.stack.iam[0]!);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['completedAt']);
    const o = operations().find((x) => x.method === 'POST' && x.path === '/api/v1/platform/deployments')!;
    // The schema alone accepts the body; the rule is stated in words on the field, as the fuzz requires of a 400 (statedFields).
    expect(requestProblems(o, { params: {}, query: {}, body, bodyGiven: true })).toEqual([]);
    expect(statedFields(o).has('completedAt')).toBe(true);
  });

  it("states in the document why an environment's freeze window refuses another environment in its body", async () => {
    const body = { reason: 'release week', environment: 'staging', start: '2099-01-01T00:00:00Z', end: '2099-01-02T00:00:00Z' };
    const r = await t.call('POST', '/api/v1/environments/dev/freeze-windows', { token: u.admin, body });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['environment']);
    const o = operations().find((x) => x.method === 'POST' && x.path === '/api/v1/environments/{env}/freeze-windows')!;
    expect(requestProblems(o, { params: { env: 'dev' }, query: {}, body, bodyGiven: true })).toEqual([]);
    expect(statedFields(o).has('environment')).toBe(true);
    // The same environment as the path, or none, is what the route is for.
    expect((await t.call('POST', '/api/v1/environments/dev/freeze-windows', { token: u.admin, body: { ...body, environment: 'dev' } })).status).toBe(201);
  });

  it('names a config\'s or flag\'s missing value as required, not as a bare "Invalid input"', async () => {
    const created = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'present', value: null } });
    expect(created.status, JSON.stringify(created.body)).toBe(201); // null is a value
    for (const [method, path, body, at] of [
      ['POST', '/api/v1/environments/dev/configs', { key: 'missing' }, 'value'],
      ['POST', '/api/v1/environments/dev/flags', { key: 'missing' }, 'value'],
      ['PUT', `/api/v1/environments/dev/configs/${created.body.id}`, { version: 1 }, 'value'],
      ['POST', '/api/v1/environments/dev/items/batch', { set: [{ key: 'missing' }] }, 'set.0.value'],
    ] as const) {
      const r = await t.call(method, path, { token: u.deployer, body });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.body.error.issues, `${method} ${path}`).toContainEqual({ path: at, message: 'is required' });
    }
  });

  it('reads an integer query parameter only in decimal digits, as the document says integer (no 0x10, 1e1, " 5 " or empty)', async () => {
    for (const limit of ['0x10', '0b11', '1e1', '%205%20', '', '2.5']) {
      const r = await t.call('GET', `/api/v1/environments/dev/configs?limit=${limit}`, { token: u.viewer });
      expect(r.status, limit).toBe(400);
      expect(r.body.error.issues, limit).toContainEqual({ path: 'query.limit', message: 'must be a whole number in decimal digits (e.g. 25)' });
    }
    expect((await t.call('GET', '/api/v1/environments/dev/configs?limit=16', { token: u.viewer })).status).toBe(200);
    // Up to the largest safe integer (16 digits); past it the number would not be exact.
    const del = (version: string) =>
      t.call('DELETE', `/api/v1/environments/dev/configs/00000000-0000-5000-8000-000000000000?version=${version}`, { token: u.deployer });
    expect((await del('9007199254740991')).status).toBe(404);
    expect((await del('9007199254740992')).body.error.issues[0].path).toBe('query.version');
    expect((await t.call('GET', '/api/v1/environments/dev/configs', { token: u.viewer })).status).toBe(200);
    const r = await t.call('GET', '/api/v1/environments/dev/configs?limit=0', { token: u.viewer });
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0].path).toBe('query.limit');
  });

  it('refuses a subject filter other than config on /config/promotions (it lists config only) instead of ignoring it', async () => {
    const r = await t.call('GET', '/api/v1/config/promotions?subject=platform', { token: u.viewer });
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0]).toMatchObject({ path: 'query.subject', message: expect.stringContaining('/api/v1/promotions?subject=') });
    expect((await t.call('GET', '/api/v1/config/promotions?subject=config', { token: u.viewer })).status).toBe(200);
    expect((await t.call('GET', '/api/v1/promotions?subject=platform', { token: u.viewer })).status).toBe(200);
  });

  it('a YAML alias bomb, or any document the parser refuses, is a 400 naming the problem', async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    for (const document of [lines.join('\n'), '['.repeat(4000) + ']'.repeat(4000), 'a: *nowhere']) {
      for (const [path, token] of [
        ['/api/v1/manifest/plan', u.viewer],
        ['/api/v1/manifest/apply', u.admin],
      ] as const) {
        const r = await t.call('POST', path, { token, body: { document } });
        expect(r.status, `${path} ${document.slice(0, 20)}`).toBe(400);
        expect(r.body.error.issues[0].message).toBeTruthy();
      }
    }
    const bomb = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: lines.join('\n') } });
    expect(bomb.body.error.issues[0].message).toMatch(/alias/i);
  });

  it('If-None-Match: only * alone matches everything; x*, "a", * and other malformed fields are ignored (200 with the body, never a stale 304), app reads included', async () => {
    const key = (await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { environment: 'dev', name: 'inm' } })).body.key as string;
    const reads: [string, Record<string, string>][] = [
      ['/api/v1/environments', { authorization: `Bearer ${u.viewer}` }],
      ['/api/v1/environments/dev/effective', { authorization: `Bearer ${key}` }],
    ];
    for (const [path, auth] of reads) {
      const first = await t.call('GET', path, { headers: auth });
      expect(first.status, path).toBe(200);
      for (const malformed of ['x*', '*x', '"a", *', 'W/*', `${first.headers.get('etag')} junk`]) {
        const r = await t.call('GET', path, { headers: { ...auth, 'if-none-match': malformed } });
        expect(r.status, `${path} If-None-Match: ${malformed}`).toBe(200);
        expect(r.body, `${path} If-None-Match: ${malformed}`).toEqual(first.body);
      }
      expect((await t.call('GET', path, { headers: { ...auth, 'if-none-match': ' * ' } })).status, path).toBe(304);
      expect((await t.call('GET', path, { headers: { ...auth, 'if-none-match': `"x", ${first.headers.get('etag')}` } })).status, path).toBe(304);
    }
  });

  it('documents the gateway\'s 400 ({"message":"Bad Request"}, a malformed request refused before any function runs) for 400 on every operation', async () => {
    // The local gateway answers a malformed header line as API Gateway does.
    const raw = await new Promise<string>((resolve, reject) => {
      const { port, hostname } = new URL(t.url);
      const socket = connect(Number(port), hostname, () =>
        socket.end(`GET /api/v1/environments HTTP/1.1\r\nHost: ${hostname}:${port}\r\nBad Header: x\r\n\r\n`),
      );
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body)).toEqual({ message: 'Bad Request' });
    const problems = operations().flatMap((o) =>
      contractViolations({
        method: o.method,
        path: o.path.replace(/\{[^}]+\}/g, 'x'),
        status: 400,
        headers: { 'content-type': 'application/json' },
        text: body,
      }),
    );
    expect(problems).toEqual([]);
  });

  it("documents Idempotency-Key only where it is honoured: POSTs of a signed-in or IAM caller; not OFREP's evaluations (reads with no side effect) nor the unauthenticated routes", () => {
    const documented = operations().filter((o) => ((o.op.parameters ?? []) as { name: string }[]).some((p) => p.name === 'Idempotency-Key'));
    const secured = (o: (typeof documented)[number]) => ((o.op.security ?? []) as Record<string, unknown>[]).some((s) => 'sigv4' in s || 'cognito' in s);
    expect(documented.filter((o) => o.path.startsWith('/ofrep/')).map((o) => `${o.method} ${o.path}`)).toEqual([]);
    expect(documented.every((o) => o.method === 'POST')).toBe(true);
    expect(documented.length).toBeGreaterThan(20);
    expect(documented.filter((o) => !secured(o)).map((o) => `${o.method} ${o.path}`)).toEqual([]);
  });

  it('OFREP: the document refuses what the service refuses, numbers beyond ±(2^53−1) anywhere in the body included, and allows what it answers', async () => {
    const key = (await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { environment: 'dev', name: 'ofrep-numbers' } })).body.key as string;
    const o = operations().find((x) => x.method === 'POST' && x.path === '/ofrep/v1/evaluate/flags')!;
    for (const body of [{ context: { n: 2 ** 60 } }, { context: { deep: { list: [1, -(2 ** 54)] } } }, { context: {}, extra: 1e300 }]) {
      const r = await t.call('POST', '/ofrep/v1/evaluate/flags', { token: key, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.errorCode).toBe('INVALID_CONTEXT');
      expect(requestProblems(o, { params: {}, query: {}, body, bodyGiven: true }), JSON.stringify(body)).not.toEqual([]);
    }
    const fine = { context: { targetingKey: 'u', n: Number.MAX_SAFE_INTEGER, nested: { xs: [1.5, -3, null, 'a', true] } } };
    expect(requestProblems(o, { params: {}, query: {}, body: fine, bodyGiven: true })).toEqual([]);
    expect((await t.call('POST', '/ofrep/v1/evaluate/flags', { token: key, body: fine })).status).toBe(200);
  });

  it('roles: the document says each role once (uniqueItems), as the service refuses duplicates', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/users'],
      ['PATCH', '/api/v1/users/{id}'],
    ] as const) {
      const o = operations().find((x) => x.method === method && x.path === path)!;
      const schema = o.op.requestBody.content['application/json'].schema;
      const roles = (schema.properties ?? {}).roles;
      expect(roles?.uniqueItems, `${method} ${path}`).toBe(true);
    }
    const o = operations().find((x) => x.method === 'POST' && x.path === '/api/v1/users')!;
    const body = { email: 'twice@example.com', roles: ['viewer', 'viewer'] };
    expect(requestProblems(o, { params: {}, query: {}, body, bodyGiven: true })).not.toEqual([]);
    expect((await t.call('POST', '/api/v1/users', { token: u.admin, body })).status).toBe(400);
  });
});

/**
 * Request classes over the whole route table, so a route added later is held to the same rules:
 * what a GET answers is written back unchanged by the PUT beside it; a body in a type the document
 * does not list is 415; a path parameter that is an encoded dot segment is 400, never resolved.
 */
describe('request classes over the route table', () => {
  /** The audit stream's destination fixture ships to a Splunk HEC stand-in (its endpoint is checked at save). */
  let hec: SplunkHecStandin;
  /** The change-control fixture is a Jira rule (its service desk, request type and window fields round-trip too). */
  let jira: JiraStandin;
  beforeAll(async () => {
    hec = await startSplunkHecStandin({ ack: true });
    jira = await startJiraStandin({ email: 'release-bot@example.com', apiToken: 'contract-atl-token' });
  });
  afterAll(async () => {
    await hec.stop();
    await jira.stop();
  });
  /** A resource behind every PUT route that has a GET at the same path: the path to it, made first. */
  async function fixtures(admin: string, tenant: string): Promise<Record<string, string>> {
    // The git target's push token exists for the tenant (a target naming a missing secret is refused at save).
    process.env[localSecretVariable(tenant, 'git-token', 'GITOPS_TOKEN')!] = 'contract-push-token';
    // A deployment gate's App key and webhook secret exist too (a gate naming a missing secret is refused at save).
    process.env[localSecretVariable(tenant, 'github-app-key', 'APP_KEY')!] = 'contract-app-key';
    process.env[localSecretVariable(tenant, 'git-webhook', 'APP_HOOK')!] = 'contract-app-hook';
    const cfg = await t.call('POST', '/api/v1/environments/dev/configs', { token: admin, body: { key: 'round-trip', value: { a: 1 } } });
    const flag = await t.call('POST', '/api/v1/environments/dev/flags', { token: admin, body: { key: 'round-trip', value: true } });
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: admin,
      body: { name: 'rt', sourceEnvironment: 'dev', targetEnvironment: 'staging' },
    });
    const template = await t.call('PUT', '/api/v1/analysis-templates/round-trip', {
      token: admin,
      body: {
        provider: { type: 'prometheus', address: 'https://prometheus.example.com', query: 'sum(rate(http_requests_total{code=~"5.."}[1m]))' },
        count: 3,
        successCondition: 'result < 0.01',
      },
    });
    const recurring = await t.call('PUT', '/api/v1/recurring-promotions/round-trip', {
      token: admin,
      body: { source: 'dev', target: 'staging', cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin', paused: true },
    });
    const tenantNotes = await t.call('PUT', '/api/v1/notifications', {
      token: admin,
      body: { email: { recipients: ['ops@example.com'] }, slack: { webhook: 'https://hooks.slack.com/services/T000/B000/XXXX', channels: ['#ops'] } },
    });
    const hook = await t.call('POST', '/api/v1/webhooks', { token: admin, body: { url: 'https://hooks.example.com/deploy', events: ['promotion.completed'] } });
    const envNotes = await t.call('PUT', '/api/v1/environments/staging/notifications', { token: admin, body: { email: { recipients: ['ops@example.com'] } } });
    const git = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: admin,
      body: {
        repository: 'https://git.example.com/org/deploy.git',
        branch: 'main',
        file: 'envs/staging/values.yaml',
        path: 'image.tag',
        value: 'version@digest',
        tokenSecret: 'GITOPS_TOKEN',
      },
    });
    const gate = await t.call('PUT', '/api/v1/environments/staging/deployment-gate', {
      token: admin,
      body: { repository: 'acme/shop', hostEnvironment: 'staging', app: { id: '4242', privateKeySecret: 'APP_KEY', webhookSecret: 'APP_HOOK' } },
    });
    const metricAccounts = await t.call('PUT', '/api/v1/metric-accounts', {
      token: admin,
      body: { accounts: [{ account: '123456789012', roleArn: 'arn:aws:iam::123456789012:role/stageline-metrics' }] },
    });
    const bindings = await t.call('PUT', '/api/v1/access/bindings', {
      token: admin,
      body: { bindings: [{ group: 'payments', role: 'deployer', environments: ['staging'] }] },
    });
    const groupMapping = await t.call('PUT', '/api/v1/access/group-mapping', {
      token: admin,
      body: { entries: [{ idpGroup: 'Payments Engineers', group: 'payments', roles: ['viewer'] }], version: 0 },
    });
    // A SAML connection by its metadata document (nothing to fetch): the IdP's signing certificate of the SAML tests.
    const cert = readFileSync(new URL('../fixtures/saml/idp-cert.pem', import.meta.url), 'utf8').replace(/-----[A-Z ]+-----|\s/g, '');
    const metadataXml = `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.${tenant}.example/saml"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.${tenant}.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
    const idp = await t.call('PUT', '/api/v1/access/identity-provider', {
      token: admin,
      body: { kind: 'saml', saml: { metadataXml }, emailDomains: [`${tenant}.example`], groupsClaim: 'memberOf' },
    });
    const siem = await t.call('PUT', '/api/v1/audit/destinations/round-trip', {
      token: admin,
      body: { kind: 'splunk', url: hec.url, token: hec.token, index: 'stageline', ack: true },
    });
    const changeControl = await t.call('PUT', '/api/v1/environments/production/change-control', {
      token: admin,
      body: {
        provider: 'jira',
        instanceUrl: jira.origin,
        jira: {
          serviceDeskId: jira.serviceDeskId,
          requestTypeId: jira.requestTypeId,
          plannedStartField: 'customfield_10041',
          plannedEndField: 'customfield_10042',
        },
        credentials: { basic: { user: 'release-bot@example.com', password: 'contract-atl-token' } },
      },
    });
    for (const [what, r] of Object.entries({
      changeControl,
      siem,
      cfg,
      flag,
      rule,
      template,
      recurring,
      tenantNotes,
      envNotes,
      git,
      gate,
      hook,
      metricAccounts,
      bindings,
      groupMapping,
      idp,
    }))
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    return {
      '/api/v1/analysis-templates/{name}': '/api/v1/analysis-templates/round-trip',
      '/api/v1/environments/{env}/configs/{id}': `/api/v1/environments/dev/configs/${cfg.body.id}`,
      '/api/v1/environments/{env}/flags/{id}': `/api/v1/environments/dev/flags/${flag.body.id}`,
      '/api/v1/promotions/rules/{id}': `/api/v1/promotions/rules/${rule.body.id}`,
      '/api/v1/approval-policies/{id}': `/api/v1/approval-policies/${rule.body.id}`,
      '/api/v1/recurring-promotions/{name}': '/api/v1/recurring-promotions/round-trip',
      '/api/v1/notifications': '/api/v1/notifications',
      '/api/v1/environments/{env}/notifications': '/api/v1/environments/staging/notifications',
      '/api/v1/environments/{env}/git-target': '/api/v1/environments/staging/git-target',
      '/api/v1/environments/{env}/deployment-gate': '/api/v1/environments/staging/deployment-gate',
      '/api/v1/environments/{env}': '/api/v1/environments/staging',
      '/api/v1/webhooks/{id}': `/api/v1/webhooks/${hook.body.id}`,
      '/api/v1/metric-accounts': '/api/v1/metric-accounts',
      '/api/v1/access/bindings': '/api/v1/access/bindings',
      '/api/v1/access/group-mapping': '/api/v1/access/group-mapping',
      '/api/v1/access/identity-provider': '/api/v1/access/identity-provider',
      '/api/v1/audit/destinations/{name}': '/api/v1/audit/destinations/round-trip',
      '/api/v1/environments/{env}/change-control': '/api/v1/environments/production/change-control',
    };
  }

  /** What changes with every write, whatever was sent: the version and who wrote when. */
  const settled = (v: Record<string, unknown>) => {
    // An audit stream destination's shipping moves with every write too (the write's own audit entry is shipped).
    const { version: _v, updatedAt: _a, updatedBy: _b, next: _n, lag: _l, shippedSeq: _s, shippedAt: _t, ...rest } = v;
    return rest;
  };

  it('every PUT or PATCH route with a GET beside it takes back what the GET answered, unchanged: 2xx, and the next GET reads the same', async () => {
    const tenant = t.tenant();
    const admin = (await t.users(tenant)).admin;
    await makeLine(t, admin);
    const paths = await fixtures(admin, tenant);
    // SCIM's PUT (a SCIM token's, not a person's) takes back its GET in the Okta sequence replayed by scim.test.ts.
    const puts = operations().filter(
      (o) => (o.method === 'PUT' || o.method === 'PATCH') && !o.path.startsWith('/scim/') && operations().some((g) => g.method === 'GET' && g.path === o.path),
    );
    expect(puts.length).toBeGreaterThanOrEqual(11);
    const failures: string[] = [];
    for (const o of puts) {
      const path = paths[o.path];
      expect(path, `no fixture for PUT ${o.path}: add one`).toBeDefined();
      const first = await t.call('GET', path!, { token: admin });
      expect(first.status, `GET ${path}`).toBe(200);
      const put = await t.call(o.method, path!, { token: admin, body: first.body });
      if (put.status >= 300) failures.push(`${o.method} ${path} with what GET answered: ${put.status} ${JSON.stringify(put.body)}`);
      const second = await t.call('GET', path!, { token: admin });
      if (JSON.stringify(settled(second.body)) !== JSON.stringify(settled(first.body)))
        failures.push(`GET ${path} after writing back what it answered: ${JSON.stringify(settled(first.body))} -> ${JSON.stringify(settled(second.body))}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('a PUT that leaves a field out keeps what is stored (git target, consumer pin, Slack workspace, recurring promotion)', async () => {
    const tenant = t.tenant();
    const admin = (await t.users(tenant)).admin;
    await makeLine(t, admin);
    await fixtures(admin, tenant);
    const git = (await t.call('GET', '/api/v1/environments/staging/git-target', { token: admin })).body;
    const gitPut = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: admin,
      body: { repository: git.repository, branch: 'release', file: git.file, path: git.path, version: git.version },
    });
    expect(gitPut.status, JSON.stringify(gitPut.body)).toBe(200);
    expect(gitPut.body).toMatchObject({ branch: 'release', tokenSecret: 'GITOPS_TOKEN', value: 'version@digest' });
    // null is how a stored field is cleared.
    const cleared = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: admin,
      body: { repository: git.repository, branch: 'release', file: git.file, path: git.path, tokenSecret: null, version: gitPut.body.version },
    });
    expect(cleared.body.tokenSecret).toBeNull();

    await t.call('POST', '/api/v1/artifacts/web/versions', { token: admin, body: { version: 'v1.0.0', digest: `sha256:${'d'.repeat(64)}` } });
    const pin = await t.call('PUT', '/api/v1/artifacts/web/consumers/edge', { token: admin, body: { constraint: '^1.0.0', environment: 'staging' } });
    expect(pin.status, JSON.stringify(pin.body)).toBe(200);
    const narrowed = await t.call('PUT', '/api/v1/artifacts/web/consumers/edge', { token: admin, body: { constraint: '^1.2.0' } });
    expect(narrowed.status, JSON.stringify(narrowed.body)).toBe(200);
    expect(narrowed.body).toMatchObject({ constraint: '^1.2.0', environment: 'staging' });
    const everywhere = await t.call('PUT', '/api/v1/artifacts/web/consumers/edge', { token: admin, body: { constraint: '^1.2.0', environment: null } });
    expect(everywhere.status, JSON.stringify(everywhere.body)).toBe(200);
    expect(everywhere.body.environment).toBeNull();

    const bound = await t.call('PUT', '/api/v1/notifications', {
      token: admin,
      body: { slack: { webhook: 'https://hooks.slack.com/services/T000/B000/XXXX', channels: ['#ops'], teamId: 'TROUNDTRIP1' } },
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    const rechanneled = await t.call('PUT', '/api/v1/notifications', {
      token: admin,
      body: { slack: { webhook: bound.body.slack.webhook, channels: ['#releases'] } },
    });
    expect(rechanneled.body.slack).toMatchObject({ channels: ['#releases'], teamId: 'TROUNDTRIP1' });
    const unbound = await t.call('PUT', '/api/v1/notifications', {
      token: admin,
      body: { slack: { webhook: bound.body.slack.webhook, channels: ['#releases'], teamId: null } },
    });
    expect(unbound.body.slack.teamId).toBeNull();

    const rec = (await t.call('GET', '/api/v1/recurring-promotions/round-trip', { token: admin })).body;
    expect(rec.paused).toBe(true);
    const recPut = await t.call('PUT', '/api/v1/recurring-promotions/round-trip', {
      token: admin,
      body: { source: 'dev', target: 'staging', cron: '0 10 * * 1-5', timeZone: 'Europe/Berlin', version: rec.version },
    });
    expect(recPut.status, JSON.stringify(recPut.body)).toBe(200);
    expect(recPut.body).toMatchObject({ cron: '0 10 * * 1-5', paused: true });
  });

  it('a JSON body sent as another media type than the document lists is 415, on every route that takes a JSON body', async () => {
    const admin = (await t.users(t.tenant())).admin;
    const jsonBody = operations().filter((o) => o.op.requestBody?.content?.['application/json'] && !o.op.requestBody.content['text/plain']);
    expect(jsonBody.length).toBeGreaterThan(20);
    for (const o of jsonBody) {
      const path = o.path.replace(/\{([^}]+)\}/g, (_m, n: string) => (n === 'env' ? 'dev' : 'x'));
      const r = await t.call(o.method, path, { token: admin, raw: '{}', headers: { 'content-type': 'text/plain' } });
      // The gateway's own refusals (no credential for the route's kind of authentication) come before the body is read.
      if (r.status === 401 || (r.status === 403 && JSON.stringify(o.op.security).includes('sigv4'))) continue;
      expect(r.status, `${o.method} ${o.path}: ${JSON.stringify(r.body)}`).toBe(415);
      expect(r.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    // JSON with its charset, or a +json type, is JSON.
    const ok = await t.call('POST', '/api/v1/environments/dev/configs', {
      token: admin,
      raw: '{"key":"charset","value":1}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(ok.status, JSON.stringify(ok.body)).not.toBe(415);
    // What `curl -d '{…}'` sends (the README's and the guide's way): labelled a form, read as the JSON it is; a real form is a 400.
    const curl = { 'content-type': 'application/x-www-form-urlencoded' };
    const fromCurl = await t.call('POST', '/api/v1/environments/dev/configs', { token: admin, raw: '{"key":"from-curl","value":1}', headers: curl });
    // It reaches the route (no environment here: 404), as application/json does.
    expect(fromCurl.status, JSON.stringify(fromCurl.body)).toBe(ok.status);
    expect(fromCurl.body.error?.code).not.toBe('UNSUPPORTED_MEDIA_TYPE');
    const form = await t.call('POST', '/api/v1/environments/dev/configs', { token: admin, raw: 'key=form&value=1', headers: curl });
    expect(form.status, JSON.stringify(form.body)).toBe(400);
  });

  /** A request whose path goes out as written: fetch (WHATWG URL) would resolve %2e%2e itself before sending. */
  const sentAsIs = (method: string, path: string, token: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const { hostname, port } = new URL(t.url);
      const req = httpRequest(
        { hostname, port, method, path, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('an encoded dot segment in any path is 400, never resolved (%2e%2e is not the parent)', async () => {
    const admin = (await t.users(t.tenant())).admin;
    // IAM routes: the gateway checks the signature before any function runs (403 unsigned), as API Gateway does.
    const withParam = operations().filter((o) => o.path.includes('{') && !JSON.stringify(o.op.security ?? []).includes('sigv4'));
    expect(withParam.length).toBeGreaterThan(20);
    for (const o of withParam) {
      for (const dots of ['%2e%2e', '%2E', '.%2e']) {
        let first = true;
        const path = o.path.replace(/\{([^}]+)\}/g, () => (first ? ((first = false), dots) : 'x'));
        const r = await sentAsIs(o.method, path, admin, o.op.requestBody ? '{}' : undefined);
        expect(r.status, `${o.method} ${path}: ${r.text}`).toBe(400);
      }
    }
    // Also where no route matches (the $default function).
    expect((await sentAsIs('GET', '/api/v1/nothing/%2e%2e/here', admin)).status).toBe(400);
    const freeze = await sentAsIs('GET', '/api/v1/environments/%2e%2e/freeze-windows', admin);
    expect(freeze.status, freeze.text).toBe(400);
    expect(JSON.parse(freeze.text).error.issues[0].path).toBe('path');
  });
});
