import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitEditConflict, setValue } from '../../domain/gitops/edit.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Keys JavaScript reserves (__proto__, prototype, constructor) are data nowhere. The repro of the
 * cross-tenant outage: one tenant's admin pointed a JSON git target's path at
 * `__proto__.stagelinePolluted` and promoted once; Object.prototype gained the key in the process that
 * serves every tenant, and the next tenant's config creates, webhook creates, environment reads and
 * OFREP answers failed. Every way in is refused with a 400 naming the field, and the stack (which runs
 * in this process) keeps the built-in prototypes as they were (test/support/prototype-guard.ts checks
 * that after every file too).
 */
let t: TestStack;
let g: GitServer;
const TOKEN = 'proto-test-token-0123456789';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const prototypeKeys = () => Reflect.ownKeys(Object.prototype).map(String).sort();
const before = prototypeKeys();

beforeAll(async () => {
  t = await startTestStack();
  g = await startGitServer(TOKEN);
});
afterAll(async () => {
  await t.stop();
  await g.close();
});

const issuePaths = (body: { error?: { issues?: { path: string; message: string }[] } }) => (body.error?.issues ?? []).map((i) => i.path);

describe('reserved keys (prototype pollution)', () => {
  it("one tenant's git target path cannot reach Object.prototype, and another tenant keeps working", async () => {
    const globex = await t.users(t.tenant());
    await makeLine(t, globex.admin);
    const url = g.repo(`proto-${Date.now()}`, { 'deploy/app.json': '{\n  "image": { "tag": "v1" }\n}\n' });
    for (const path of ['__proto__.stagelinePolluted', 'constructor.prototype.stagelinePolluted', 'image.__proto__', 'prototype']) {
      const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
        token: globex.admin,
        body: { repository: url, branch: 'main', file: 'deploy/app.json', path },
      });
      expect(put.status, `${path}: ${JSON.stringify(put.body)}`).toBe(400);
      expect(issuePaths(put.body)).toEqual(['path']);
      expect(JSON.stringify(put.body)).toContain('__proto__, prototype or constructor');
    }
    // The same path through the manifest: refused when planned (a viewer may plan) and applied.
    const doc = [
      'artifacts:',
      '  promotion:',
      '    git_targets:',
      '      staging:',
      `        repository: ${url}`,
      '        branch: main',
      '        file: deploy/app.json',
      '        path: __proto__.stagelinePolluted',
      '',
    ].join('\n');
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: globex.viewer, body: { document: doc } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(400);
    expect(issuePaths(plan.body)[0]).toMatch(/^document\.artifacts\.promotion\.git_targets\.staging\.path$/);
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: globex.admin, body: { document: doc } })).status).toBe(400);

    expect(prototypeKeys()).toEqual(before);

    // Another tenant: the writes and reads that failed during the outage.
    const acme = await t.users(t.tenant());
    await makeLine(t, acme.admin);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: acme.admin, body: { key: 'db.pool', value: 5 } })).status).toBe(201);
    expect((await t.call('POST', '/api/v1/environments/dev/flags', { token: acme.admin, body: { key: 'checkout.banner', value: true } })).status).toBe(201);
    expect((await t.call('GET', '/api/v1/environments/dev', { token: acme.viewer })).status).toBe(200);
    const key = (await t.call('POST', '/api/v1/app-keys', { token: acme.admin, body: { name: 'web', environment: 'dev' } })).body.key as string;
    const ofrep = await t.call('POST', '/ofrep/v1/evaluate/flags/checkout.banner', {
      headers: { 'x-api-key': key },
      body: { context: { targetingKey: 'u1' } },
    });
    expect(ofrep.status, JSON.stringify(ofrep.body)).toBe(200);
    expect(ofrep.body.value).toBe(true);
  });

  it('refuses a reserved name in every key-like field and as any object key of a body, naming the field', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const own = (k: string, v: unknown) => JSON.parse(`{${JSON.stringify(k)}: ${JSON.stringify(v)}}`) as Record<string, unknown>;
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/v1/environments', { name: 'constructor', position: 3 }, 'name'],
      ['POST', '/api/v1/environments/dev/configs', { key: '__proto__', value: 1 }, 'key'],
      ['POST', '/api/v1/environments/dev/configs', { key: 'app.constructor.x', value: 1 }, 'key'],
      ['POST', '/api/v1/environments/dev/configs', { key: 'app', value: own('__proto__', { stagelinePolluted: true }) }, 'value.__proto__'],
      ['POST', '/api/v1/environments/dev/configs', { key: 'app', value: { nested: own('constructor', { prototype: { x: 1 } }) } }, 'value.nested.constructor'],
      [
        'POST',
        '/api/v1/environments/dev/flags',
        { key: 'f', value: { $rollout: { variants: { on: true, constructor: false }, weights: { on: 1 } } } },
        'value.$rollout.variants.constructor',
      ],
      ['POST', '/api/v1/artifacts/app/versions', { version: 'v1.0.0', digest: digest('b'), metadata: own('__proto__', { x: 1 }) }, 'metadata.__proto__'],
      ['POST', '/api/v1/artifacts/constructor/versions', { version: 'v1.0.0', digest: digest('b') }, 'path.name'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await t.call(method, path, { token: u.admin, body });
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(issuePaths(r.body), `${method} ${path}: ${JSON.stringify(r.body)}`).toContain(field);
    }
    // An OFREP evaluation context: OFREP's own error shape.
    const key = (await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'web', environment: 'dev' } })).body.key as string;
    const ofrep = await t.call('POST', '/ofrep/v1/evaluate/flags', { headers: { 'x-api-key': key }, body: { context: own('__proto__', { beta: true }) } });
    expect(ofrep.status).toBe(400);
    expect(ofrep.body).toMatchObject({ errorCode: 'INVALID_CONTEXT', errorDetails: expect.stringContaining('context.__proto__') });
    // A manifest with a reserved mapping key anywhere names its line.
    const plan = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: 'artifacts:\n  promotion:\n    gates:\n      __proto__:\n        tests: true\n' },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(400);
    expect(JSON.stringify(plan.body)).toContain('line 4');
    expect(prototypeKeys()).toEqual(before);
  });

  it('the git edit itself walks own members only (a stored or hand-made target is refused too)', () => {
    for (const path of ['__proto__.stagelinePolluted', 'constructor.prototype.stagelinePolluted', 'a.__proto__.b']) {
      expect(() => setValue('deploy/app.json', '{"a": {}}\n', path, 'v1')).toThrow(GitEditConflict);
      expect(() => setValue('deploy/values.yaml', 'a: {}\n', path, 'v1')).toThrow(GitEditConflict);
    }
    // An inherited member is not the file's value: 'toString' is written as a new key, not read from the prototype.
    expect(setValue('deploy/app.json', '{\n  "a": 1\n}\n', 'toString', 'v1')).toMatchObject({
      changed: true,
      previous: undefined,
      text: '{\n  "a": 1,\n  "toString": "v1"\n}\n',
    });
    expect(() => setValue('deploy/app.json', '[]\n', 'a.b', 'v1')).toThrow(GitEditConflict);
    expect(prototypeKeys()).toEqual(before);
  });
});
