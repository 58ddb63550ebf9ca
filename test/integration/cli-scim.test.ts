import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWith, outcome } from '../support/cli.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/** The tenant's SCIM token with the CLI: made (printed once), shown (never the token), replaced, revoked. */
let t: TestStack;
let env: NodeJS.ProcessEnv;
let viewerEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestStack();
  const u = await t.users(t.tenant());
  env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin };
  viewerEnv = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.viewer };
});
afterAll(() => t.stop());

const scimGet = (token: string) => fetch(`${t.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

describe('CLI: stageline scim', () => {
  it('creates, shows, replaces and revokes the SCIM token; only an admin may', async () => {
    const made = await cliWith(env, 'scim', 'token', 'create');
    const first = made.stdout.trim();
    expect(first).toMatch(/^scim\.[^.]+\.[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toContain('shown this once');
    expect(await scimGet(first)).toBe(200);
    const shown = await cliWith(env, 'scim', 'token', 'show');
    expect(shown.stdout).toContain('created');
    // The id its SCIM changes are audited under.
    expect(shown.stdout).toMatch(/audited as scim:[0-9a-f]{12}\b/);
    expect(shown.stdout).not.toContain(first.split('.')[2]);
    const second = (await cliWith(env, 'scim', 'token', 'create')).stdout.trim();
    expect(await scimGet(first)).toBe(401);
    expect(await scimGet(second)).toBe(200);
    await cliWith(env, 'scim', 'token', 'revoke');
    expect(await scimGet(second)).toBe(401);
    const refused = await outcome(cliWith(viewerEnv, 'scim', 'token', 'create'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('admin');
  }, 60_000);
});
