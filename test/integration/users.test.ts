import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../local/issuer.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { signedFetch } from '../support/sigv4.ts';

/**
 * Tenants onboard themselves: a platform operator creates a tenant and its first admin; that admin
 * invites people with roles, changes roles and removes users through the API; each invited person
 * signs in (locally: the local issuer signs for a directory user) and acts with their role. Every
 * change is audited; an admin manages only their own tenant, never their own roles, never the last admin.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/** The local sign-in (Cognito's managed login on AWS): an ID token for a user of the local directory. */
const signIn = async (email: string): Promise<string> => {
  const r = await t.call('POST', '/dev/sign-in', { body: { email } });
  if (r.status !== 200) throw new Error(`${email} cannot sign in: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
};

describe('tenant onboarding and user management', () => {
  it('a platform operator creates a tenant; its admin invites two approvers and a deployer who then promote and approve', async () => {
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    const id = `t-${Date.now().toString(36)}`;
    // Only platform operators create tenants: a tenant admin is refused.
    const alice = await t.stack.issuer.sign(DEMO_USERS.alice!);
    expect((await t.call('POST', '/api/v1/tenants', { token: alice, body: { id, adminEmail: `ada@${id}.test` } })).status).toBe(403);
    const made = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, displayName: 'Initech', adminEmail: `Ada@${id}.test` } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({
      tenant: { id, displayName: 'Initech', createdBy: 'pat@platform.example' },
      admin: { email: `ada@${id}.test`, roles: ['admin'], status: 'INVITED' },
    });
    expect((await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `other@${id}.test` } })).status).toBe(409);
    // A taken email leaves no tenant behind.
    const taken = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id: `${id}-b`, adminEmail: 'alice@acme.example' } });
    expect(taken.status).toBe(409);
    // (Its own domain: a domain belongs to one tenant.)
    expect((await t.call('POST', '/api/v1/tenants', { token: pat, body: { id: `${id}-b`, adminEmail: `bea@${id}-b.test` } })).status).toBe(201);

    // Nobody signs in before they are invited; a page of another origin cannot get a token.
    expect((await t.call('POST', '/dev/sign-in', { body: { email: `carl@${id}.test` } })).status).toBe(404);
    expect(
      (await t.call('POST', '/dev/sign-in', { body: { email: `ada@${id}.test` }, headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } }))
        .status,
    ).toBe(403);
    const ada = await signIn(`ada@${id}.test`);
    expect((await t.call('GET', '/api/v1/users', { token: ada })).body.items).toEqual([
      expect.objectContaining({ email: `ada@${id}.test`, status: 'CONFIRMED' }),
    ]);
    for (const [name, roles] of [
      ['carl', ['approver']],
      ['dina', ['approver']],
      ['dev', ['deployer']],
    ] as const) {
      const r = await t.call('POST', '/api/v1/users', { token: ada, body: { email: `${name}@${id}.test`, roles } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toMatchObject({ email: `${name}@${id}.test`, roles });
    }
    expect((await t.call('POST', '/api/v1/users', { token: ada, body: { email: `carl@${id}.test`, roles: ['viewer'] } })).status).toBe(409);
    expect((await t.call('POST', '/api/v1/users', { token: ada, body: { email: 'x@y.test', roles: [] } })).status).toBe(400);
    expect((await t.call('POST', '/api/v1/users', { token: ada, body: { email: 'x@y.test', roles: ['owner'] } })).status).toBe(400);
    const list = await t.call('GET', '/api/v1/users', { token: ada });
    expect(list.body.items.map((u: { email: string; roles: string[] }) => `${u.email}:${u.roles.join(',')}`)).toEqual([
      `ada@${id}.test:admin`,
      `carl@${id}.test:approver`,
      `dev@${id}.test:deployer`,
      `dina@${id}.test:approver`,
    ]);

    // The new people work: a line, a promotion that needs two approvals, approved by the two approvers.
    const dev = await signIn(`dev@${id}.test`);
    for (const [position, name] of ['dev', 'production'].entries())
      expect((await t.call('POST', '/api/v1/environments', { token: ada, body: { name, position } })).status).toBe(201);
    expect(
      (
        await t.call('POST', '/api/v1/promotions/rules', {
          token: ada,
          body: { name: 'two eyes', source_environment: 'dev', target_environment: 'production', requires_approval: true, required_approvers: 2 },
        })
      ).status,
    ).toBe(201);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: dev, body: { key: 'db.pool', value: 5 } })).status).toBe(201);
    const p = await t.call('POST', '/api/v1/promotions', { token: dev, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    for (const name of ['carl', 'dina']) {
      const token = await signIn(`${name}@${id}.test`);
      let r = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token, body: {} });
      for (let i = 0; i < 50 && r.status === 409; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token, body: {} });
      }
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    const approved = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: ada });
    expect(approved.body.approvals.map((a: { by: string }) => a.by).sort()).toEqual([`carl@${id}.test`, `dina@${id}.test`]);

    // Every change is in the tenant's audit trail.
    const audit = await t.call('GET', '/api/v1/audit?limit=100', { token: ada });
    const actions = (audit.body.items ?? audit.body).map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['tenant.create', 'user.invite']));
    expect(actions.filter((a: string) => a === 'user.invite')).toHaveLength(4);
  });

  it('an admin changes roles and removes users of their own tenant only, never their own, never the last admin', async () => {
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    const id = `u-${Date.now().toString(36)}`;
    const made = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ada@${id}.test` } });
    const ada = await signIn(`ada@${id}.test`);
    const adaId = made.body.admin.id as string;
    const vic = (await t.call('POST', '/api/v1/users', { token: ada, body: { email: `vic@${id}.test`, roles: ['viewer'] } })).body;

    // Roles: a viewer cannot manage users; an admin cannot change or remove themselves.
    const vicToken = await signIn(`vic@${id}.test`);
    expect((await t.call('PATCH', `/api/v1/users/${vic.id}`, { token: vicToken, body: { roles: ['admin'] } })).status).toBe(403);
    expect((await t.call('GET', '/api/v1/users', { token: vicToken })).status).toBe(403);
    const self = await t.call('PATCH', `/api/v1/users/${adaId}`, { token: ada, body: { roles: ['viewer'] } });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toContain('another admin');
    expect((await t.call('DELETE', `/api/v1/users/${adaId}`, { token: ada })).status).toBe(403);

    // Another tenant's admin sees none of them and changes nothing.
    const eve = await t.stack.issuer.sign(DEMO_USERS.eve!);
    expect((await t.call('GET', '/api/v1/users', { token: eve })).body.items.map((u: { email: string }) => u.email)).not.toContain(`vic@${id}.test`);
    expect((await t.call('PATCH', `/api/v1/users/${vic.id}`, { token: eve, body: { roles: ['admin'] } })).status).toBe(404);
    expect((await t.call('DELETE', `/api/v1/users/${vic.id}`, { token: eve })).status).toBe(404);

    // Promote vic to admin; then vic may not demote ada to leave... two admins: ada can be demoted by vic.
    const up = await t.call('PATCH', `/api/v1/users/${vic.id}`, { token: ada, body: { roles: ['admin'] } });
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    expect(up.body.roles).toEqual(['admin']);
    const vicAdmin = await signIn(`vic@${id}.test`);
    expect((await t.call('PATCH', `/api/v1/users/${adaId}`, { token: vicAdmin, body: { roles: ['approver'] } })).status).toBe(200);
    // Now vic is the last admin: ada (an approver now) cannot act, and vic cannot remove themselves.
    const adaNow = await signIn(`ada@${id}.test`);
    expect((await t.call('DELETE', `/api/v1/users/${vic.id}`, { token: adaNow })).status).toBe(403);
    expect((await t.call('DELETE', `/api/v1/users/${adaId}`, { token: vicAdmin })).status).toBe(204);
    expect((await t.call('GET', '/api/v1/users', { token: vicAdmin })).body.items.map((u: { email: string }) => u.email)).toEqual([`vic@${id}.test`]);
    expect((await t.call('DELETE', `/api/v1/users/${adaId}`, { token: vicAdmin })).status).toBe(404);

    const audit = await t.call('GET', '/api/v1/audit?limit=100', { token: vicAdmin });
    const rows = (audit.body.items ?? audit.body)
      .filter((e: { entityType: string }) => e.entityType === 'user')
      .map((e: { action: string; entityId: string; before: string | null; after: string | null }) => `${e.action} ${e.entityId} ${e.before}->${e.after}`);
    expect(rows).toEqual(
      expect.arrayContaining([
        `user.roles vic@${id}.test viewer->admin`,
        `user.roles ada@${id}.test admin->approver`,
        `user.remove ada@${id}.test approver->null`,
      ]),
    );
  });
});

/** What the deploy runs once (docs/operations/deploy-aws.md) and npm start runs at every start: existing tenants get their record and people index. */
const migrate = async () => {
  const { migrateTenants } = await import('../../domain/access/migrate.ts');
  const { localDeps } = await import('../../functions/http/deps.ts');
  return migrateTenants(localDeps());
};

describe('who is who stays true', () => {
  it('two admins demoting (or removing) each other at once never leave the tenant without an admin: one wins, the other gets 409', async () => {
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    for (let round = 0; round < 4; round++) {
      const id = `race-${round}-${Date.now().toString(36)}`;
      const made = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ada@${id}.test` } });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const ada = await signIn(`ada@${id}.test`);
      const adaId = made.body.admin.id as string;
      const bo = (await t.call('POST', '/api/v1/users', { token: ada, body: { email: `bo@${id}.test`, roles: ['admin'] } })).body;
      const boToken = await signIn(`bo@${id}.test`);
      // Round 3 races a removal against a demotion.
      const [a, b] = await Promise.all([
        t.call('PATCH', `/api/v1/users/${bo.id}`, { token: ada, body: { roles: ['viewer'] } }),
        round === 3
          ? t.call('DELETE', `/api/v1/users/${adaId}`, { token: boToken })
          : t.call('PATCH', `/api/v1/users/${adaId}`, { token: boToken, body: { roles: ['viewer'] } }),
      ]);
      const statuses = [a.status, b.status].sort();
      expect(statuses, JSON.stringify([a.body, b.body])).toEqual(round === 3 && b.status === 204 ? [204, 409] : [200, 409]);
      const people = (await t.call('GET', '/api/v1/users', { token: a.status === 200 ? ada : boToken })).body.items as { roles: string[] }[];
      expect(people.filter((u) => u.roles.includes('admin'))).toHaveLength(1);
    }
  });

  it('a removed or demoted admin is out at once: people routes read the directory, and a token from before is refused on every write', async () => {
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    const id = `r-${Date.now().toString(36)}`;
    expect((await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ada@${id}.test` } })).status).toBe(201);
    const ada = await signIn(`ada@${id}.test`);
    const bob = (await t.call('POST', '/api/v1/users', { token: ada, body: { email: `bob@${id}.test`, roles: ['deployer'] } })).body;
    const m3 = await t.call('POST', '/api/v1/users', { token: ada, body: { email: `m3@${id}.test`, roles: ['admin'] } });
    expect(m3.status).toBe(201);
    const m3Token = await signIn(`m3@${id}.test`);
    expect((await t.call('POST', '/api/v1/environments', { token: m3Token, body: { name: 'dev', position: 0 } })).status).toBe(201);

    // Removed: m3's old token neither re-invites m3 as admin, nor makes bob admin, nor reads the people, nor writes anything else.
    expect((await t.call('DELETE', `/api/v1/users/${m3.body.id}`, { token: ada })).status).toBe(204);
    const again = await t.call('POST', '/api/v1/users', { token: m3Token, body: { email: `m3@${id}.test`, roles: ['admin'] } });
    expect(again.status, JSON.stringify(again.body)).toBe(401);
    expect(again.body.error.message).toMatch(/sign in again/);
    expect((await t.call('PATCH', `/api/v1/users/${bob.id}`, { token: m3Token, body: { roles: ['admin'] } })).status).toBe(401);
    expect((await t.call('GET', '/api/v1/users', { token: m3Token })).status).toBe(403);
    expect((await t.call('POST', '/api/v1/environments', { token: m3Token, body: { name: 'staging', position: 1 } })).status).toBe(401);
    // The local directory signed m3 out, as Cognito's AdminUserGlobalSignOut does.
    expect(t.stack.directory.signedOutAt(id, m3.body.id)).toBeTruthy();

    // Demoted: dan's admin token no longer manages people (the directory says viewer) and no longer writes.
    const dan = (await t.call('POST', '/api/v1/users', { token: ada, body: { email: `dan@${id}.test`, roles: ['admin'] } })).body;
    const danToken = await signIn(`dan@${id}.test`);
    expect((await t.call('GET', '/api/v1/users', { token: danToken })).status).toBe(200);
    expect((await t.call('PATCH', `/api/v1/users/${dan.id}`, { token: ada, body: { roles: ['viewer'] } })).status).toBe(200);
    expect((await t.call('PATCH', `/api/v1/users/${bob.id}`, { token: danToken, body: { roles: ['admin'] } })).status).toBe(401);
    const list = await t.call('GET', '/api/v1/users', { token: danToken });
    expect(list.status).toBe(403);
    expect(list.body.error.message).toMatch(/sign in again/);
    expect(t.stack.directory.signedOutAt(id, dan.id)).toBeTruthy();
    // Promoting is no sign-out: bob's token keeps working.
    const bobToken = await signIn(`bob@${id}.test`);
    expect((await t.call('PATCH', `/api/v1/users/${bob.id}`, { token: ada, body: { roles: ['deployer', 'approver'] } })).status).toBe(200);
    const write = await t.call('POST', '/api/v1/artifacts/app/versions', { token: bobToken, body: { version: 'v1.0.0', digest: `sha256:${'a'.repeat(64)}` } });
    expect(write.status, JSON.stringify(write.body)).toBe(201);
    // Nothing m3 or dan tried is in the people list: bob is still a deployer and approver, m3 is gone.
    const people = (await t.call('GET', '/api/v1/users', { token: ada })).body.items.map(
      (u: { email: string; roles: string[] }) => `${u.email}:${u.roles.join(',')}`,
    );
    expect(people).toEqual([`ada@${id}.test:admin`, `bob@${id}.test:deployer,approver`, `dan@${id}.test:viewer`]);
  });

  it("a tenant cannot be given another tenant's email domain, nor a public mail domain unless the operator says so", async () => {
    await migrate();
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    const id = `dom-${Date.now().toString(36)}`;
    // The repro: acme's domain and gmail.com.
    const squat = await t.call('POST', '/api/v1/tenants', {
      token: pat,
      body: { id, adminEmail: `ops@${id}.test`, emailDomains: ['acme.example', 'gmail.com'] },
    });
    expect(squat.status, JSON.stringify(squat.body)).toBe(422);
    expect(squat.body.error.message).toMatch(/gmail\.com is a public mail domain.*allowPublicDomains/);
    const taken = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ops@${id}.test`, emailDomains: ['acme.example'] } });
    expect(taken.status, JSON.stringify(taken.body)).toBe(409);
    expect(taken.body.error.message).toContain("'acme.example' belongs to another tenant");
    // Refused, it left nothing behind: the id and its own domain are free.
    const mine = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ops@${id}.test` } });
    expect(mine.status, JSON.stringify(mine.body)).toBe(201);
    // A second tenant cannot take the first one's domain either.
    const other = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id: `${id}-b`, adminEmail: `ops@${id}.test` } });
    expect(other.status).toBe(409);
    // A public domain, deliberately: allowed with the flag (the operator's choice), and then it is that tenant's.
    const open = await t.call('POST', '/api/v1/tenants', {
      token: pat,
      body: { id: `${id}-c`, adminEmail: `someone@proton.me`, emailDomains: ['proton.me'], allowPublicDomains: true },
    });
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    const again = await t.call('POST', '/api/v1/tenants', {
      token: pat,
      body: { id: `${id}-d`, adminEmail: `other@proton.me`, emailDomains: ['proton.me'], allowPublicDomains: true },
    });
    expect(again.status).toBe(409);
  });

  it('a platform operator cannot create a tenant that exists: one with a record, with users or with data answers 409', async () => {
    await migrate();
    // The migration runs at every start: once done, a second run changes nothing.
    expect(await migrate()).toEqual({ created: [], domains: {}, indexed: 0 });
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    // acme and globex were never created through POST /tenants: the migration gave them their record.
    for (const id of ['acme', 'globex']) {
      const r = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `mallory@${id}.example` } });
      expect(r.status, `${id}: ${JSON.stringify(r.body)}`).toBe(409);
    }
    // A tenant with data and no record nor indexed people (its users came from elsewhere) is taken too.
    const data = t.tenant();
    const a = await t.users(data);
    await makeLine(t, a.admin);
    expect((await t.call('POST', '/api/v1/tenants', { token: pat, body: { id: data, adminEmail: `mallory@${data}.test` } })).status).toBe(409);
    expect(t.stack.directory.signInAs(`mallory@${data}.test`)).toBeNull();
    expect(t.stack.directory.signInAs('mallory@acme.example')).toBeNull();
    // The acme people are in its index: alice lists them.
    const alice = await t.stack.issuer.sign(DEMO_USERS.alice!);
    const emails = (await t.call('GET', '/api/v1/users', { token: alice })).body.items.map((u: { email: string }) => u.email);
    expect(emails).toEqual(expect.arrayContaining(['alice@acme.example', 'bob@acme.example', 'carol@acme.example']));
  });

  it("another tenant's admin cannot probe or squat addresses: every address outside the tenant's domains gets one answer", async () => {
    await migrate();
    const eve = await t.stack.issuer.sign(DEMO_USERS.eve!);
    const taken = await t.call('POST', '/api/v1/users', { token: eve, body: { email: 'alice@acme.example', roles: ['viewer'] } });
    const free = await t.call('POST', '/api/v1/users', { token: eve, body: { email: 'nobody@acme.example', roles: ['viewer'] } });
    expect(free.status, JSON.stringify(free.body)).toBe(taken.status);
    expect(free.status).toBe(403);
    expect(free.body.error).toEqual(taken.body.error);
    expect(JSON.stringify(free.body)).not.toMatch(/already|account|nobody|alice/);
    // The address stays free for its own tenant's admin.
    expect(t.stack.directory.signInAs('nobody@acme.example')).toBeNull();
    const alice = await t.stack.issuer.sign(DEMO_USERS.alice!);
    expect((await t.call('POST', '/api/v1/users', { token: alice, body: { email: 'nobody@acme.example', roles: ['viewer'] } })).status).toBe(201);
    // Within its own domains a tenant invites as before.
    expect((await t.call('POST', '/api/v1/users', { token: eve, body: { email: 'gus@globex.example', roles: ['viewer'] } })).status).toBe(201);

    // A platform operator gives a new tenant its domains (the first admin's by default).
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    const id = `d-${Date.now().toString(36)}`;
    const bad = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ada@${id}.test`, emailDomains: ['not a domain'] } });
    expect(bad.status).toBe(400);
    const made = await t.call('POST', '/api/v1/tenants', {
      token: pat,
      body: { id, adminEmail: `ada@${id}.test`, emailDomains: [`${id}.test`, 'Initrode.Example'] },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.tenant.emailDomains).toEqual([`${id}.test`, 'initrode.example']);
    const ada = await signIn(`ada@${id}.test`);
    expect((await t.call('POST', '/api/v1/users', { token: ada, body: { email: 'cy@initrode.example', roles: ['viewer'] } })).status).toBe(201);
    const outside = await t.call('POST', '/api/v1/users', { token: ada, body: { email: 'cy@globex.example', roles: ['viewer'] } });
    expect(outside.status).toBe(403);
    expect(outside.body.error.message).toContain(`(${id}.test, initrode.example)`);
  });

  it("the 'not before' is read once per change a person sends: never on reads, app-key reads (effective config, OFREP) or pipelines", async () => {
    const { localDeps } = await import('../../functions/http/deps.ts');
    const store = localDeps().store;
    const original = store.notBefore;
    let reads = 0;
    store.notBefore = (tenant, id) => (reads++, original.call(store, tenant, id));
    try {
      const tenant = t.tenant();
      const u = await t.users(tenant);
      await makeLine(t, u.admin);
      const key = (await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'svc', environment: 'dev' } })).body.key as string;
      reads = 0;
      expect((await t.call('GET', '/api/v1/environments', { token: u.viewer })).status).toBe(200);
      expect((await t.call('GET', '/api/v1/environments/dev/effective', { headers: { 'x-api-key': key } })).status).toBe(200);
      expect((await t.call('POST', '/ofrep/v1/evaluate/flags', { headers: { 'x-api-key': key }, body: { context: {} } })).status).toBe(200);
      // A pipeline (IAM, bound to acme) records a deployment: a change, and no person to check.
      const alice = await t.stack.issuer.sign(DEMO_USERS.alice!);
      await t.call('POST', '/api/v1/environments', { token: alice, body: { name: 'dev', position: 0 } });
      reads = 0;
      const recorded = await signedFetch(
        t.url,
        'POST',
        '/api/v1/platform/deployments',
        { imageTag: 'v1.0.0-abc1234', gitCommit: 'abc1234', gitBranch: 'main', environment: 'dev', status: 'PENDING', deployedAt: '2026-02-12T10:00:00Z' },
        t.stack.iam[0]!,
      );
      expect(recorded.status).toBe(201);
      expect(reads).toBe(0);
      expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k', value: 1 } })).status).toBe(201);
      expect(reads).toBe(1);
    } finally {
      store.notBefore = original;
    }
  });
});
