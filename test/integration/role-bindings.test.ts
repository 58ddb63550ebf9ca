import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf, outcome } from '../support/cli.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Roles scoped to environments, through the API on the local stack: a group bound as deployer in
 * staging acts in staging and is refused in production on every path that reaches it (request,
 * approve, halt, resume, cancel, rollback, freeze windows, rules, direct writes); it reads the tenant.
 * The bindings themselves: admin only, every environment must exist, optimistic locking, never no admin, audited.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t.stop();
});

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('role bindings scoped to environments', () => {
  it('a group bound as deployer in staging requests into staging (201) and is refused in production (403 naming the environment and the role) on every path', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const payments = await t.token({ groups: ['payments'], tenant, email: 'pay@' + tenant + '.test' });

    // Before any binding: a token with no role reads nothing and changes nothing (today's answer).
    expect((await t.call('GET', '/api/v1/environments', { token: payments })).status).toBe(403);

    const put = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: { version: 0, bindings: [{ group: 'payments', role: 'deployer', environments: ['staging'] }] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({ version: 1, bindings: [{ group: 'payments', role: 'deployer', environments: ['staging'] }] });
    const got = await t.call('GET', '/api/v1/access/bindings', { token: u.admin });
    expect(got.body.version, JSON.stringify(got.body)).toBe(1);
    // Only an admin reads or changes the bindings; a bound deployer is not one.
    expect((await t.call('GET', '/api/v1/access/bindings', { token: payments })).status).toBe(403);
    expect((await t.call('PUT', '/api/v1/access/bindings', { token: u.deployer, body: { bindings: [] } })).status).toBe(403);

    // Bound somewhere: reads the tenant.
    expect((await t.call('GET', '/api/v1/environments', { token: payments })).status).toBe(200);

    // Acts in staging: writes there, requests a promotion into it.
    expect((await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'a', value: 1 }] } })).status).toBe(200);
    const intoStaging = await t.call('POST', '/api/v1/promotions', { token: payments, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(intoStaging.status, JSON.stringify(intoStaging.body)).toBe(201);
    expect((await waitFor(t, u.viewer, intoStaging.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('COMPLETED');
    expect((await t.call('POST', '/api/v1/environments/staging/items/batch', { token: payments, body: { set: [{ key: 'b', value: 2 }] } })).status).toBe(200);

    // A promotion into production (requested by a tenant-wide deployer) to act on.
    const intoProd = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', trigger: 'manual' },
    });
    expect(intoProd.status, JSON.stringify(intoProd.body)).toBe(201);
    const id = intoProd.body.id;

    const refused = {
      request: await t.call('POST', '/api/v1/promotions', { token: payments, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } }),
      requestConfig: await t.call('POST', '/api/v1/config/promotions', {
        token: payments,
        body: { sourceEnvironment: 'staging', targetEnvironment: 'production' },
      }),
      approve: await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: payments, body: {} }),
      execute: await t.call('POST', `/api/v1/promotions/${id}/execute`, { token: payments, body: {} }),
      halt: await t.call('POST', `/api/v1/promotions/${id}/halt`, { token: payments, body: { reason: 'mine now' } }),
      resume: await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: payments, body: {} }),
      cancel: await t.call('DELETE', `/api/v1/promotions/${id}`, { token: payments }),
      rollback: await t.call('POST', `/api/v1/promotions/${id}/rollback`, { token: payments, body: { reason: 'bad' } }),
      envRollback: await t.call('POST', '/api/v1/environments/production/rollback', { token: payments, body: { snapshot: 0, reason: 'bad' } }),
      write: await t.call('POST', '/api/v1/environments/production/items/batch', { token: payments, body: { set: [{ key: 'c', value: 3 }] } }),
    };
    for (const [path, r] of Object.entries(refused)) {
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(403);
      expect(r.body.error.message, path).toMatch(/in environment 'production'/);
      expect(r.body.error.message, path).toMatch(path === 'approve' ? /'approver' role/ : /'deployer' role/);
    }
    // Admin acts in production (freeze windows, rules, targets) need admin there, or tenant-wide.
    const adminActs = {
      freeze: await t.call('POST', '/api/v1/environments/production/freeze-windows', {
        token: payments,
        body: { reason: 'mine', start: inSeconds(60), end: inSeconds(3600) },
      }),
      freezeTenant: await t.call('POST', '/api/v1/freeze-windows', {
        token: payments,
        body: { reason: 'mine', environment: 'production', start: inSeconds(60), end: inSeconds(3600) },
      }),
      environment: await t.call('PATCH', '/api/v1/environments/production', { token: payments, body: { protected: false } }),
      gitTarget: await t.call('DELETE', '/api/v1/environments/production/git-target', { token: payments }),
    };
    for (const [path, r] of Object.entries(adminActs)) {
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(403);
      expect(r.body.error.message, path).toMatch(/'admin' role in environment 'production'/);
    }
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: payments,
      body: {
        name: 'mine',
        sourceEnvironment: 'staging',
        targetEnvironment: 'production',
        requiresApproval: false,
        requiredApprovers: 0,
        approverGroups: ['payments'],
        separationOfDuties: false,
        approvalExpirySeconds: 3600,
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(403);
    expect(rule.body.error.message).toMatch(/'admin' role in environment 'production'/);
    // Nothing moved in production.
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).not.toBe('CANCELLED');

    // An approver bound in production approves there (the approval rule's group 'approver' counts the bound role).
    const releaseManager = await t.token({ groups: ['release'], tenant, email: 'rm@' + tenant + '.test' });
    const current = (await t.call('GET', '/api/v1/access/bindings', { token: u.admin })).body;
    const more = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: { version: current.version, bindings: [...current.bindings, { group: 'release', role: 'approver', environments: ['production'] }] },
    });
    expect(more.status, JSON.stringify(more.body)).toBe(200);
    const prodState = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    if (prodState.status === 'AWAITING_APPROVAL') {
      const ok = await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: releaseManager, body: {} });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    }
    // ... and is refused where not bound.
    const stagingOne = await t.call('POST', `/api/v1/promotions/${intoStaging.body.id}/approve`, { token: releaseManager, body: {} });
    expect(stagingOne.status).toBe(403);
    expect(stagingOne.body.error.message).toMatch(/'approver' role in environment 'staging'/);
  });

  it('the bindings: 400 naming the field for an environment that does not exist, 409 on a stale version and when no admin would be left; audited with before and after', async () => {
    const tenant = t.tenant();
    const admin = await t.token({ groups: ['admin'], tenant });
    await makeLine(t, admin, ['dev', 'staging']);
    const bad = await t.call('PUT', '/api/v1/access/bindings', {
      token: admin,
      body: { bindings: [{ group: 'payments', role: 'deployer', environments: ['staging', 'production'] }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues).toContainEqual({ path: 'bindings.0.environments.1', message: expect.stringMatching(/'production' does not exist/) });
    const noSubject = await t.call('PUT', '/api/v1/access/bindings', { token: admin, body: { bindings: [{ role: 'viewer', environments: ['*'] }] } });
    expect(noSubject.status).toBe(400);
    expect(noSubject.body.error.issues[0].path).toBe('bindings.0.user');

    const owners = await t.call('PUT', '/api/v1/access/bindings', {
      token: admin,
      body: { version: 0, bindings: [{ group: 'owners', role: 'admin', environments: ['*'] }] },
    });
    expect(owners.status, JSON.stringify(owners.body)).toBe(200);
    const stale = await t.call('PUT', '/api/v1/access/bindings', { token: admin, body: { version: 0, bindings: [] } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');

    // An admin by binding only (no admin role in the token, none in the people index) cannot take the last admin binding away.
    const owner = await t.token({ groups: ['owners'], tenant });
    const orphan = await t.call('PUT', '/api/v1/access/bindings', { token: owner, body: { version: 1, bindings: [] } });
    expect(orphan.status, JSON.stringify(orphan.body)).toBe(409);
    expect(orphan.body.error.code).toBe('NO_ADMIN_LEFT');
    // The owner acts as admin tenant-wide by the binding.
    expect((await t.call('POST', '/api/v1/environments', { token: owner, body: { name: 'production', position: 2 } })).status).toBe(201);

    const audit = await t.call('GET', '/api/v1/audit?entityType=tenant&entityId=access-bindings', { token: admin });
    expect(audit.status).toBe(200);
    expect(audit.body.items).toContainEqual(expect.objectContaining({ action: 'access.bindings.put', before: null, after: 'group:owners admin in *' }));
  });

  it('stageline roles list|set: binds a group in environments, lists it, removes it; an environment that does not exist is refused naming the field', async () => {
    const tenant = t.tenant();
    const admin = await t.token({ groups: ['admin'], tenant });
    await makeLine(t, admin, ['dev', 'staging', 'production']);
    const cli = cliOf(t);
    expect((await cli(admin, 'roles', 'list')).stdout).toContain('no bindings');
    expect((await cli(admin, 'roles', 'set', '--group', 'payments', '--role', 'deployer', '--env', 'dev', 'staging')).stdout.trim()).toBe(
      'group:payments is deployer in dev, staging (bindings version 1)',
    );
    await cli(admin, 'roles', 'set', '--user', 'Lead@' + tenant + '.test', '--role', 'break-glass', '--env', 'production');
    const listed = JSON.parse((await cli(admin, 'roles', 'list', '--json')).stdout);
    expect(listed).toEqual({
      version: 2,
      bindings: [
        { group: 'payments', role: 'deployer', environments: ['dev', 'staging'] },
        { user: `lead@${tenant}.test`, role: 'break-glass', environments: ['production'] },
      ],
    });
    expect((await cli(admin, 'roles', 'list')).stdout).toMatch(/group:payments\s+deployer\s+dev, staging/);
    const bad = await outcome(cli(admin, 'roles', 'set', '--group', 'payments', '--role', 'approver', '--env', 'prod'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bindings\.\d\.environments\.0.*'prod' does not exist/);
    await cli(admin, 'roles', 'set', '--group', 'payments', '--role', 'deployer');
    expect(JSON.parse((await cli(admin, 'roles', 'list', '--json')).stdout).bindings).toEqual([
      { user: `lead@${tenant}.test`, role: 'break-glass', environments: ['production'] },
    ]);
    // A deployer (not an admin) cannot change them from the CLI either.
    const deployer = await t.token({ groups: ['deployer'], tenant });
    expect((await outcome(cli(deployer, 'roles', 'list'))).stderr).toMatch(/403/);
  });

  it('the manifest section bindings: plan names the change, apply saves and audits it, export writes it back (a plan of the export is empty), an unknown environment is a 400 naming the field', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const doc = (env: string) =>
      `artifacts:\n  promotion:\n    bindings:\n      - group: payments\n        role: deployer\n        environments: [${env}]\n      - user: Lead@${tenant}.test\n        role: break-glass\n        environments: [production]\n`;
    const bad = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc('prod') } });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(bad.body.error.issues[0], JSON.stringify(bad.body)).toMatchObject({
      path: 'document.artifacts.promotion.bindings.0.environments.0',
      message: expect.stringMatching(/'prod' does not exist/),
    });
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc('staging') } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes.map((c: any) => [c.op, c.path])).toEqual([
      ['add', 'bindings.group:payments deployer'],
      ['add', `bindings.user:lead@${tenant}.test break-glass`],
    ]);
    // Applying is an admin's, tenant-wide.
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.deployer, body: { document: doc('staging') } })).status).toBe(403);
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('staging') } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/access/bindings', { token: u.admin })).body).toEqual({
      version: 1,
      bindings: [
        { group: 'payments', role: 'deployer', environments: ['staging'] },
        { user: `lead@${tenant}.test`, role: 'break-glass', environments: ['production'] },
      ],
    });
    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    expect(exported.body).toContain('bindings:');
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: exported.body } })).body.changes).toEqual([]);
    const audit = await t.call('GET', '/api/v1/audit?entityType=tenant&entityId=access-bindings', { token: u.admin });
    expect(audit.body.items.map((e: any) => e.action)).toContain('manifest.bindings.add');
    // The binding is in force: the group deploys in staging, not in production.
    const payments = await t.token({ groups: ['payments'], tenant });
    expect((await t.call('POST', '/api/v1/environments/staging/items/batch', { token: payments, body: { set: [{ key: 'a', value: 1 }] } })).status).toBe(200);
    expect((await t.call('POST', '/api/v1/environments/production/items/batch', { token: payments, body: { set: [{ key: 'a', value: 1 }] } })).status).toBe(
      403,
    );
  });
});

describe('role bindings reach the review link', () => {
  it('a group member bound approver in staging only is refused from the emailed link on a production promotion (the link is not used up); bound there too, the same link approves', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const pay = await t.token({ sub: `pay-${tenant}`, email: `pay@${tenant}.test`, tenant, groups: ['payments'] });
    expect((await t.call('GET', '/api/v1/environments', { token: pay })).status).toBe(403);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'payments approve',
        sourceEnvironment: 'staging',
        targetEnvironment: 'production',
        requiresApproval: true,
        requiredApprovers: 1,
        approverGroups: ['payments'],
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const bind = (environments: string[], version: number) =>
      t.call('PUT', '/api/v1/access/bindings', { token: u.admin, body: { version, bindings: [{ group: 'payments', role: 'approver', environments }] } });
    expect((await bind(['staging'], 0)).status).toBe(200);
    await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [`ops@${tenant}.test`], approvers: true } } });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'a', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    await waitForToken(t, u.viewer, p.body.id);
    await t.stack.stream.idle();
    let mail: { text: string } | undefined;
    for (let i = 0; i < 200 && !mail; i++) {
      mail = t.stack.outbox.mails.find((m) => m.to === `pay@${tenant}.test` && m.subject.includes('needs your approval'));
      if (!mail) await new Promise((r) => setTimeout(r, 25));
    }
    expect(mail, 'the approval mail to the rule group').toBeDefined();
    const link = /(http:\/\/127\.0\.0\.1:\d+\/review\/\S+)/.exec(mail!.text)![1]!;
    const nonce = () => fetch(link).then(async (r) => /name="nonce" value="([^"]+)"/.exec(await r.text())![1]!);
    const approve = async () =>
      fetch(link, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(link).origin },
        body: new URLSearchParams({ action: 'approve', nonce: await nonce() }).toString(),
      });
    const refused = await approve();
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/approver(&#39;|')? role in environment (&#39;|')production/);
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.approvals.given).toEqual([]);
    expect((await bind(['staging', 'production'], 1)).status).toBe(200);
    const ok = await approve();
    expect(ok.status, await ok.clone().text()).toBe(200);
    const after = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
    expect(after.approvals.given).toEqual([expect.objectContaining({ by: `pay@${tenant}.test` })]);
  });

  it("an approver by binding in the target environment is mailed the approval link when the rule names the 'approver' role, and a binding elsewhere is not", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const rm = await t.token({ sub: `rm-${tenant}`, email: `rm@${tenant}.test`, tenant, groups: ['release'] });
    const qa = await t.token({ sub: `qa-${tenant}`, email: `qa@${tenant}.test`, tenant, groups: ['qa'] });
    expect((await t.call('GET', '/api/v1/environments', { token: rm })).status + (await t.call('GET', '/api/v1/environments', { token: qa })).status).toBe(806);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'approvers',
        sourceEnvironment: 'staging',
        targetEnvironment: 'production',
        requiresApproval: true,
        requiredApprovers: 1,
        approverGroups: ['approver'],
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const bound = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: {
        bindings: [
          { group: 'release', role: 'approver', environments: ['production'] },
          { group: 'qa', role: 'approver', environments: ['staging'] },
        ],
      },
    });
    expect(bound.status).toBe(200);
    await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [`ops@${tenant}.test`], approvers: true } } });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'a', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    await waitForToken(t, u.viewer, p.body.id);
    await t.stack.stream.idle();
    let mail: { text: string } | undefined;
    for (let i = 0; i < 200 && !mail; i++) {
      mail = t.stack.outbox.mails.find((m) => m.to === `rm@${tenant}.test` && m.subject.includes('needs your approval'));
      if (!mail) await new Promise((r) => setTimeout(r, 25));
    }
    expect(mail, 'the approval mail to the approver by binding').toBeDefined();
    expect(t.stack.outbox.mails.some((m) => m.to === `qa@${tenant}.test`)).toBe(false);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/review\/\S+)/.exec(mail!.text)![1]!;
    const nonce = /name="nonce" value="([^"]+)"/.exec(await (await fetch(link)).text())![1]!;
    const ok = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(link).origin },
      body: new URLSearchParams({ action: 'approve', nonce }).toString(),
    });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.approvals.given).toEqual([
      expect.objectContaining({ by: `rm@${tenant}.test` }),
    ]);
  });
});
