import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { freePort, pushImage, startRegistry, type LocalRegistry } from '../support/registry.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
const registries: LocalRegistry[] = [];
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  for (const r of registries) await r.stop();
  await t.stop();
});

/** Tags a pushed manifest (the registry then notifies a push of that tag). */
async function tag(url: string, repository: string, digest: string, name: string) {
  const m = await fetch(`${url}/v2/${repository}/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const body = Buffer.from(await m.arrayBuffer());
  const r = await fetch(`${url}/v2/${repository}/manifests/${name}`, { method: 'PUT', headers: { 'content-type': m.headers.get('content-type')! }, body });
  expect(r.status).toBe(201);
}

async function versions(token: string) {
  return (await t.call('GET', '/api/v1/artifacts/platform/versions', { token })).body.versions ?? [];
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('discovery: a linked registry repository publishes pushed versions', () => {
  it('takes a registry host[:port] by the hostname grammar (labels of 1-63 letters, digits and inner dashes; port 1-65535) or an IP literal', async () => {
    const u = await t.users(t.tenant());
    const link = (registry: string) => t.call('POST', '/api/v1/artifacts/platform/links', { token: u.admin, body: { registry, repository: 'platform' } });
    for (const registry of [
      '...',
      '-:0',
      'a..b:99999',
      'registry.example.com:0',
      'registry.example.com:65536',
      '-registry.example.com',
      'registry-.example.com',
      `${'a'.repeat(64)}.example.com`,
      '.example.com',
      'example.com.',
      '999.1.1.1',
      '[::1',
      'registry.example.com:',
    ]) {
      const r = await link(registry);
      expect(r.status, `${registry}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.error.issues[0].path, registry).toBe('registry');
    }
    for (const registry of [
      'registry.example.com',
      'registry.example.com:5000',
      'localhost:65535',
      '10.0.0.7:5000',
      '[::1]:5000',
      `${'a'.repeat(63)}.example.com`,
    ]) {
      const r = await link(registry);
      expect(r.status, `${registry}: ${JSON.stringify(r.body)}`).toBe(201);
    }
  });

  it('links are validated, listed without their token, and removed', async () => {
    const u = await t.users(t.tenant());
    const bad = await t.call('POST', '/api/v1/artifacts/platform/links', {
      token: u.admin,
      body: { registry: '127.0.0.1:5000', repository: 'platform', tags: { pattern: 'v(1)\\1' } },
    });
    // Patterns run on the RE2 engine (linear time): a backreference, which it cannot run, is refused at save.
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('RE2 syntax');
    expect(
      (
        await t.call('POST', '/api/v1/artifacts/platform/links', {
          token: u.admin,
          body: { registry: '127.0.0.1:5000', repository: 'platform', tags: { pattern: '[' } },
        })
      ).status,
    ).toBe(400);
    expect(
      (await t.call('POST', '/api/v1/artifacts/platform/links', { token: u.admin, body: { registry: '127.0.0.1:5000', repository: 'Bad Repo' } })).status,
    ).toBe(400);
    expect(
      (await t.call('POST', '/api/v1/artifacts/platform/links', { token: u.deployer, body: { registry: '127.0.0.1:5000', repository: 'platform' } })).status,
    ).toBe(403);
    const made = await t.call('POST', '/api/v1/artifacts/platform/links', { token: u.admin, body: { registry: '127.0.0.1:5000', repository: 'platform' } });
    expect(made.status).toBe(201);
    expect(made.body.notifyToken).toMatch(/^slr_/);
    const list = await t.call('GET', '/api/v1/artifacts/platform/links', { token: u.viewer });
    expect(list.body.items).toEqual([
      {
        artifact: 'platform',
        id: made.body.id,
        registry: '127.0.0.1:5000',
        repository: 'platform',
        tags: { semver: true },
        createdAt: made.body.createdAt,
        createdBy: made.body.createdBy,
      },
    ]);
    // Another tenant sees nothing and cannot remove it.
    const other = await t.users(t.tenant());
    expect((await t.call('GET', '/api/v1/artifacts/platform/links', { token: other.viewer })).body.items).toEqual([]);
    expect((await t.call('DELETE', `/api/v1/artifacts/platform/links/${made.body.id}`, { token: other.admin })).status).toBe(404);
    expect((await t.call('DELETE', `/api/v1/artifacts/platform/links/${made.body.id}`, { token: u.admin })).status).toBe(204);
    expect((await t.call('GET', '/api/v1/artifacts/platform/links', { token: u.viewer })).body.items).toEqual([]);
  });

  it('an artifact links at most 20 repositories, as many as its manifest section holds (the export stays valid)', async () => {
    const u = await t.users(t.tenant());
    for (let i = 0; i < 20; i++)
      expect(
        (await t.call('POST', '/api/v1/artifacts/many/links', { token: u.admin, body: { registry: '127.0.0.1:5000', repository: `many-${i}` } })).status,
      ).toBe(201);
    const over = await t.call('POST', '/api/v1/artifacts/many/links', { token: u.admin, body: { registry: '127.0.0.1:5000', repository: 'many-20' } });
    expect(over.status, JSON.stringify(over.body)).toBe(422);
    expect(over.body.error.message).toContain('at most 20');
    expect((await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body.artifacts.promotion.registry_links.many).toHaveLength(20);
  });

  it("the registry's push notifications publish tags passing the filter, once per digest; bad token 401, malformed 400", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const port = await freePort();
    const link = await t.call('POST', '/api/v1/artifacts/platform/links', {
      token: u.admin,
      body: { registry: `127.0.0.1:${port}`, repository: 'platform', tags: { pattern: 'v\\d+\\.\\d+\\.\\d+' } },
    });
    expect(link.status).toBe(201);
    const hook = `${t.url}/api/v1/registry/notifications/${tenant}/platform/${link.body.id}`;
    const reg = await startRegistry({ port, notify: { url: hook, authorization: `Bearer ${link.body.notifyToken}` } });
    registries.push(reg);
    const registry = { name: 'local', url: reg.url };

    const d1 = await pushImage(registry, 'platform', { configBytes: Buffer.from('{"v":1}'), layers: [Buffer.from('layer-1')] });
    await tag(reg.url, 'platform', d1, 'v1.0.0');
    const after1 = await until(
      () => versions(u.viewer),
      (v) => v.length === 1,
    );
    expect(after1.map((v: any) => [v.version, v.digest])).toEqual([['v1.0.0', d1]]);
    // The first environment runs it now (the publish path).
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/latest-dev', { token: u.viewer })).body.digest).toBe(d1);

    // latest, a build tag, a prerelease the filter refuses, and the same digest under another version: no new version.
    for (const name of ['latest', 'build-123', 'v1.0.0-rc.1', 'v1.0.1']) await tag(reg.url, 'platform', d1, name);
    // A new digest under a passing tag: a second version (its notification comes after the ones above).
    const d2 = await pushImage(registry, 'platform', { configBytes: Buffer.from('{"v":2}'), layers: [Buffer.from('layer-2')] });
    await tag(reg.url, 'platform', d2, 'v1.1.0');
    const after2 = await until(
      () => versions(u.viewer),
      (v) => v.length >= 2,
    );
    expect(after2.map((v: any) => v.version).sort()).toEqual(['v1.0.0', 'v1.1.0']);
    // Each discovered version is announced once (webhook artifact.published), as discovered.
    const announced = () => t.stack.bus.published.filter((e) => e['detail-type'] === 'Artifact Published' && e.detail.tenant === tenant);
    await until(
      async () => announced(),
      (a) => a.length >= 2,
    );
    expect(
      announced()
        .map((e) => [e.detail.version, e.detail.digest, e.detail.via, e.detail.environment])
        .sort(),
    ).toEqual([
      ['v1.0.0', d1, 'discovery', 'dev'],
      ['v1.1.0', d2, 'discovery', 'dev'],
    ]);

    const notify = (authorization: string, raw: string) =>
      fetch(hook, { method: 'POST', headers: { authorization, 'content-type': 'application/vnd.docker.distribution.events.v1+json' }, body: raw });
    expect((await notify('Bearer slr_wrong', '{"events":[]}')).status).toBe(401);
    expect((await notify(`Bearer ${link.body.notifyToken}`, '{"events":[{"action":"push"}]}')).status).toBe(400);
    expect((await notify(`Bearer ${link.body.notifyToken}`, 'not json')).status).toBe(400);
    // Text that is not Unicode (a lone surrogate, as JSON may escape one) is refused naming where it is; nothing is published.
    const lone = await notify(
      `Bearer ${link.body.notifyToken}`,
      `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"platform","digest":"sha256:${'e'.repeat(64)}","tag":"v9.9.9-\\ud800"}}]}`,
    );
    expect(lone.status).toBe(400);
    expect(await lone.text()).toContain('events.0.target.tag');
    // A tenant's JWT is not the credential of this route.
    expect((await notify(`Bearer ${u.admin}`, '{"events":[]}')).status).toBe(401);
  });

  it('ECR "ECR Image Action" events on the bus publish a linked repository\'s passing tags; failed pushes, other repositories and other tenants change nothing', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const registry = '000000000000.dkr.ecr.us-east-1.amazonaws.com';
    const own = `${tenant.toLowerCase()}/platform`;
    expect((await t.call('POST', '/api/v1/artifacts/platform/links', { token: u.admin, body: { registry, repository: own } })).status).toBe(201);
    // ECR's events reach every link of a repository: a tenant links only repositories under its own namespace.
    const otherTenant = t.tenant();
    const other = await t.users(otherTenant);
    const spy = await t.call('POST', '/api/v1/artifacts/spy/links', { token: other.admin, body: { registry, repository: own } });
    expect(spy.status).toBe(400);
    expect(spy.body.error.issues[0].message).toContain(`name it ${otherTenant.toLowerCase()}/<name>`);
    expect((await t.call('POST', '/api/v1/artifacts/spy/links', { token: other.admin, body: { registry, repository: 'team/platform' } })).status).toBe(400);
    // The manifest holds to the same rule, when planned as when applied.
    const document = JSON.stringify({ artifacts: { promotion: { registry_links: { spy: [{ registry, repository: own }] } } } });
    for (const step of ['plan', 'apply']) {
      const r = await t.call('POST', `/api/v1/manifest/${step}`, { token: other.admin, body: { document } });
      expect(r.status, step).toBe(400);
      expect(r.body.error.issues[0].path, step).toBe('document.artifacts.promotion.registry_links.spy.0.repository');
    }
    expect(
      (await t.call('POST', '/api/v1/artifacts/spy/links', { token: other.admin, body: { registry, repository: `${otherTenant.toLowerCase()}/platform` } }))
        .status,
    ).toBe(201);
    // A tenant id with capitals has no ECR namespace of its own (ECR names are lowercase: Acme/ would be acme/).
    const capital = `Ten-${otherTenant.slice(4)}`;
    const capitals = await t.users(capital);
    const folded = await t.call('POST', '/api/v1/artifacts/spy/links', { token: capitals.admin, body: { registry, repository: `${otherTenant}/platform` } });
    expect(folded.status).toBe(400);
    expect(folded.body.error.issues[0].message).toContain(`the tenant id ${capital} (with capitals) has no ECR namespace of its own`);
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    const push = (repository: string, tag: string, d: string, result = 'SUCCESS') =>
      t.call('POST', '/dev/events', {
        body: {
          source: 'aws.ecr',
          'detail-type': 'ECR Image Action',
          account: '000000000000',
          region: 'us-east-1',
          time: new Date().toISOString(),
          resources: [],
          detail: { 'action-type': 'PUSH', result, 'repository-name': repository, 'image-digest': d, 'image-tag': tag },
        },
      });
    for (const [repo, tagName, d, result] of [
      [own, 'v3.0.0', digest('b'), 'FAILURE'],
      [`${tenant.toLowerCase()}/other`, 'v3.0.0', digest('c'), 'SUCCESS'],
      [own, 'latest', digest('d'), 'SUCCESS'],
    ] as const) {
      expect((await push(repo, tagName, d, result)).status).toBe(202);
    }
    expect(await versions(u.viewer)).toEqual([]);
    expect((await push(own, 'v3.0.0', digest('e'))).status).toBe(202);
    expect((await versions(u.viewer)).map((v: any) => [v.version, v.digest])).toEqual([['v3.0.0', digest('e')]]);
    expect(await versions(other.viewer)).toEqual([]);
    expect((await t.call('GET', '/api/v1/artifacts/spy/versions', { token: other.viewer })).body.versions ?? []).toEqual([]);
  });

  it('an artifact links a repository once: a second link answers 409 (also when two race), so export → plan stays clean', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const body = { registry: 'registry.example.com', repository: 'team/once' };
    const link = () => t.call('POST', '/api/v1/artifacts/platform/links', { token: u.admin, body });
    const first = await link();
    expect(first.status).toBe(201);
    const again = await link();
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain(`already links ${body.registry}/${body.repository} (${first.body.id})`);
    // Another artifact may link the same repository.
    expect((await t.call('POST', '/api/v1/artifacts/other/links', { token: u.admin, body })).status).toBe(201);
    // Two at once for a new repository: exactly one link.
    const raced = await Promise.all(
      [1, 2, 3].map(() => t.call('POST', '/api/v1/artifacts/platform/links', { token: u.admin, body: { ...body, repository: 'team/raced' } })),
    );
    expect(raced.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect((await t.call('GET', '/api/v1/artifacts/platform/links', { token: u.viewer })).body.items).toHaveLength(2);
    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: exported.body } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes).toEqual([]);
    // Unlinked, it can be linked again (a new token).
    expect((await t.call('DELETE', `/api/v1/artifacts/platform/links/${first.body.id}`, { token: u.admin })).status).toBe(204);
    expect((await link()).status).toBe(201);
  });

  it('the CLI adds, lists and removes links', async () => {
    const u = await t.users(t.tenant());
    const cli = (...args: string[]) => cliOf(t)(u.admin, ...args);
    const added = (
      await cli('link', 'add', '--artifact', 'platform', '--registry', '127.0.0.1:5000', '--repository', 'team/platform', '--pattern', 'v\\d+\\.\\d+\\.\\d+')
    ).stdout;
    const id = /^(lnk_[0-9a-f]{12}):/.exec(added)?.[1];
    expect(added).toContain('Authorization: Bearer slr_');
    expect((await cli('link', 'list', '--artifact', 'platform')).stdout).toMatch(new RegExp(`${id}\\s+127.0.0.1:5000\\s+team/platform`));
    expect((await cli('link', 'remove', '--artifact', 'platform', id!)).stdout).toContain(`removed ${id}`);
    expect((await t.call('GET', '/api/v1/artifacts/platform/links', { token: u.viewer })).body.items).toEqual([]);
  });
});
