/**
 * A git target names its secrets (the push token, a pull-request host's token, its webhook's secret):
 * one that does not exist for the tenant is refused when the target is saved (422 naming the field and
 * the secret, and where to create it), through the API and through a manifest, rather than accepted and
 * failing the promotion later. A secret of another tenant, or of another purpose, does not count.
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
  it('is refused at save with 422 naming the field and the secret (push token, host token, webhook secret); saved once the secrets exist', async () => {
    const tenant = t.tenant();
    const other = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    // Another tenant's push token, and this tenant's secret of another purpose: neither is this target's.
    secret(other, 'git-token', 'PUSH');
    secret(tenant, 'github-token', 'PUSH');
    const put = (body: Record<string, unknown>) => t.call('PUT', '/api/v1/environments/staging/git-target', { token: u.admin, body: { ...target, ...body } });

    const push = await put({ tokenSecret: 'PUSH' });
    expect(push.status, JSON.stringify(push.body)).toBe(422);
    expect(push.body.error.message).toContain("'PUSH'");
    expect(push.body.error.issues).toEqual([
      { path: 'body.tokenSecret', message: expect.stringMatching(/'PUSH' does not exist for this tenant \(purpose git-token\)/) },
    ]);

    secret(tenant, 'git-token', 'PUSH');
    const pr = await put({ tokenSecret: 'PUSH', pullRequest: { host: 'gitlab', tokenSecret: 'GL', webhookSecret: 'HOOK' } });
    expect(pr.status, JSON.stringify(pr.body)).toBe(422);
    expect(pr.body.error.issues).toEqual([
      { path: 'body.pullRequest.tokenSecret', message: expect.stringMatching(/'GL' does not exist for this tenant \(purpose gitlab-token\)/) },
      { path: 'body.pullRequest.webhookSecret', message: expect.stringMatching(/'HOOK' does not exist for this tenant \(purpose git-webhook\)/) },
    ]);
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).status).toBe(404);

    secret(tenant, 'gitlab-token', 'GL');
    secret(tenant, 'git-webhook', 'HOOK');
    const saved = await put({ tokenSecret: 'PUSH', pullRequest: { host: 'gitlab', tokenSecret: 'GL', webhookSecret: 'HOOK' } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    // No secret named: nothing to check (a public repository, pushed without a token).
    const production = await t.call('PUT', '/api/v1/environments/production/git-target', {
      token: u.admin,
      body: { ...target, file: 'envs/production/values.yaml' },
    });
    expect(production.status, JSON.stringify(production.body)).toBe(200);
  });

  it('is refused by a manifest apply with 422 naming the document field', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const doc = (token: string) => JSON.stringify({ artifacts: { promotion: { git_targets: { staging: { ...target, token } } } } });
    const refused = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('${NOPE}') } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.issues).toEqual([
      {
        path: 'document.artifacts.promotion.git_targets.staging.token',
        message: expect.stringMatching(/'NOPE' does not exist for this tenant \(purpose git-token\)/),
      },
    ]);
    secret(tenant, 'git-token', 'NOPE');
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('${NOPE}') } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });
});
