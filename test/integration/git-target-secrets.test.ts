/**
 * A git target names its secrets (the push token, a pull-request host's token, its webhook's secret):
 * one that does not exist for the tenant is refused when a manifest saves the target (422 naming the
 * field and the secret, and where to create it), rather than accepted and failing the promotion later.
 * A secret of another tenant, or of another purpose, does not count. Every path that saves a git target
 * checks: a manifest apply and PUT …/git-target.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
const set: string[] = [];
const secret = (tenant: string, purpose: Parameters<typeof localSecretVariable>[1], name: string) => {
  const v = localSecretVariable(tenant, purpose, name)!;
  process.env[v] = `${purpose}-value-of-${name}`;
  set.push(v);
};
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  for (const v of set) delete process.env[v];
  await t.stop();
});

const target = { repository: 'https://git.example.com/org/deploy.git', branch: 'main', file: 'envs/staging/values.yaml', path: 'image.tag' };

describe('a git target naming a secret that does not exist', () => {
  it('is refused by a manifest apply with 422 naming the document field; a secret of another tenant or purpose does not count', async () => {
    const tenant = t.tenant();
    const other = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    secret(other, 'git-token', 'NOPE');
    secret(tenant, 'github-token', 'NOPE');
    const doc = (token: string, pullRequest?: object) =>
      JSON.stringify({ artifacts: { promotion: { git_targets: { staging: { ...target, token, ...(pullRequest ? { pullRequest } : {}) } } } } });
    const refused = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('${NOPE}') } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.issues).toEqual([
      {
        path: 'document.artifacts.promotion.git_targets.staging.token',
        message: expect.stringMatching(/'NOPE' does not exist for this tenant \(purpose git-token\)/),
      },
    ]);
    secret(tenant, 'git-token', 'NOPE');
    const pr = await t.call('POST', '/api/v1/manifest/apply', {
      token: u.admin,
      body: { document: doc('${NOPE}', { host: 'gitlab', tokenSecret: 'GL', webhookSecret: 'HOOK' }) },
    });
    expect(pr.status, JSON.stringify(pr.body)).toBe(422);
    expect(pr.body.error.message).toContain("'GL', 'HOOK'");
    expect(pr.body.error.issues).toEqual([
      {
        path: 'document.artifacts.promotion.git_targets.staging.pullRequest.tokenSecret',
        message: expect.stringMatching(/'GL' does not exist for this tenant \(purpose gitlab-token\)/),
      },
      {
        path: 'document.artifacts.promotion.git_targets.staging.pullRequest.webhookSecret',
        message: expect.stringMatching(/'HOOK' does not exist for this tenant \(purpose git-webhook\)/),
      },
    ]);
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).status).toBe(404);
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('${NOPE}') } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });

  it('is refused by PUT …/git-target with 422 naming the field and the secret; nothing is saved, and a secret of another tenant or purpose does not count', async () => {
    const tenant = t.tenant();
    const other = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    secret(other, 'git-token', 'PUSH');
    secret(tenant, 'github-token', 'PUSH');
    const put = (body: object) => t.call('PUT', '/api/v1/environments/staging/git-target', { token: u.admin, body: { ...target, ...body } });
    const refused = await put({ tokenSecret: 'PUSH' });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.message).toContain("'PUSH'");
    expect(refused.body.error.issues).toEqual([
      { path: 'tokenSecret', message: expect.stringMatching(/'PUSH' does not exist for this tenant \(purpose git-token\)/) },
    ]);
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).status).toBe(404);
    secret(tenant, 'git-token', 'PUSH');
    const pr = await put({ tokenSecret: 'PUSH', pullRequest: { host: 'github', tokenSecret: 'GH', webhookSecret: 'HOOK' } });
    expect(pr.status, JSON.stringify(pr.body)).toBe(422);
    expect(pr.body.error.issues).toEqual([
      { path: 'pullRequest.tokenSecret', message: expect.stringMatching(/'GH' does not exist for this tenant \(purpose github-token\)/) },
      { path: 'pullRequest.webhookSecret', message: expect.stringMatching(/'HOOK' does not exist for this tenant \(purpose git-webhook\)/) },
    ]);
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).status).toBe(404);
    const saved = await put({ tokenSecret: 'PUSH' });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    // A change that names a missing secret is refused too, and the stored target stays as it was.
    const changed = await put({ tokenSecret: 'GONE', version: saved.body.version });
    expect(changed.status, JSON.stringify(changed.body)).toBe(422);
    expect(changed.body.error.issues).toEqual([{ path: 'tokenSecret', message: expect.stringContaining("'GONE'") }]);
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).body).toMatchObject({
      tokenSecret: 'PUSH',
      version: saved.body.version,
    });
  });
});
