import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../local/issuer.ts';
import { cliWith, outcome } from '../support/cli.ts';
import { waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type Res, type TestStack } from '../support/stack.ts';

/**
 * SCIM users as identities, through the API on DynamoDB Local: `userName` is matched and kept unique
 * without regard to case (RFC 7643 caseExact=false), also under concurrent creates; a deprovisioned
 * approver's approval is void in every view that counts approvals; every SCIM change is audited as the
 * SCIM client's token with what changed; a user cannot take another user's email by a rename.
 */
let t: TestStack;

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const signIn = async (email: string): Promise<Res> => t.call('POST', '/dev/sign-in', { body: { email } });

async function tenantWithScim(id: string, domains: string[]): Promise<{ admin: string; token: string }> {
  const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
  const made = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ada@${domains[0]}`, emailDomains: domains } });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  const admin = (await signIn(`ada@${domains[0]}`)).body.token as string;
  const issued = await t.call('POST', '/api/v1/scim/token', { token: admin });
  expect(issued.status, JSON.stringify(issued.body)).toBe(201);
  return { admin, token: issued.body.token };
}

async function scim(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Res> {
  return t.call(method, `/scim/v2${path}`, {
    ...(opts.token ? { token: opts.token } : {}),
    ...(opts.body !== undefined ? { raw: JSON.stringify(opts.body) } : {}),
    headers: { 'content-type': 'application/scim+json', accept: 'application/scim+json' },
  });
}

const stamp = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

beforeAll(async () => {
  t = await startTestStack();
}, 120_000);
afterAll(() => t?.stop());

describe('SCIM users as identities', () => {
  it('matches userName without regard to case in filters (userName is caseExact=false); externalId stays exact', async () => {
    const id = `ci-${stamp()}`;
    const domain = `${id}.test`;
    const { token } = await tenantWithScim(id, [domain]);
    const made = await scim('POST', '/Users', {
      token,
      body: { schemas: [CORE], userName: `alice@${domain}`, externalId: 'Ext-Alice', emails: [{ value: `Alice@${domain}`, type: 'work', primary: true }] },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    // A user with no emails at all: a filter on emails skips them (the library alone would fail on them: a 500).
    expect((await scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `nomail@${domain}` } })).status).toBe(201);
    const q = (filter: string) => scim('GET', `/Users?filter=${encodeURIComponent(filter)}`, { token });
    const mixed = await q(`userName eq "Alice@${domain.toUpperCase()}"`);
    expect(mixed.status, JSON.stringify(mixed.body)).toBe(200);
    expect(mixed.body).toMatchObject({ totalResults: 1, Resources: [{ id: made.body.id, userName: `alice@${domain}` }] });
    expect((await q(`userName sw "ALICE@"`)).body.totalResults).toBe(1);
    expect((await q(`not (userName eq "ALICE@${domain}")`)).body.Resources.map((u: { userName: string }) => u.userName)).toEqual([`nomail@${domain}`]);
    // externalId is caseExact=true in RFC 7643: another case is another value.
    expect((await q('externalId eq "Ext-Alice"')).body.totalResults).toBe(1);
    expect((await q('externalId eq "ext-alice"')).body.totalResults).toBe(0);
    // The whole class: every caseExact=false attribute, in sub-attributes and value filters too; groups' displayName.
    const byMail = await q(`emails[value eq "ALICE@${domain}"]`);
    expect(byMail.body.totalResults, JSON.stringify(byMail.body)).toBe(1);
    expect((await q(`emails.value ew "@${domain.toUpperCase()}"`)).body.totalResults).toBe(1);
    const ops = await scim('POST', '/Groups', { token, body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Release-Managers' } });
    expect(ops.status).toBe(201);
    const g = await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "release-managers"')}`, { token });
    expect(g.body).toMatchObject({ totalResults: 1, Resources: [{ id: ops.body.id }] });
    const dupGroup = await scim('POST', '/Groups', {
      token,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'RELEASE-managers' },
    });
    expect(dupGroup.status).toBe(409);
  });

  it('keeps userName unique without regard to case, under 10 concurrent creates: one 201, the rest 409 uniqueness, one user', async () => {
    const id = `race-${stamp()}`;
    const domain = `${id}.test`;
    const { token } = await tenantWithScim(id, [domain]);
    const names = Array.from({ length: 10 }, (_, i) => (i % 2 ? `Bob@${domain}` : `bob@${domain.toUpperCase()}`));
    const answers = await Promise.all(names.map((userName) => scim('POST', '/Users', { token, body: { schemas: [CORE], userName } })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses, JSON.stringify(answers.map((a) => a.body))).toEqual([201, ...Array(9).fill(409)]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const all = await scim('GET', '/Users', { token });
    expect(all.body.totalResults).toBe(1);
    // A rename onto another user's name (another case) is refused too; back to the same name in another case is fine.
    const carl = await scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `carl@${domain}` } });
    expect(carl.status).toBe(201);
    const onto = await scim('PATCH', `/Users/${carl.body.id}`, {
      token,
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: `BOB@${domain}` }] },
    });
    expect(onto.status, JSON.stringify(onto.body)).toBe(409);
    expect(onto.body).toMatchObject({ scimType: 'uniqueness' });
    const own = await scim('PATCH', `/Users/${carl.body.id}`, {
      token,
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: `Carl@${domain}` }] },
    });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    // Deleted: the name is free again.
    const bob = answers.find((a) => a.status === 201)!.body.id as string;
    expect((await scim('DELETE', `/Users/${bob}`, { token })).status).toBe(204);
    expect((await scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `BOB@${domain}` } })).status).toBe(201);
  });

  it("a user cannot take another user's email by a change (409 uniqueness): bindings and approvals by email stay theirs", async () => {
    const id = `mail-${stamp()}`;
    const domain = `${id}.test`;
    const { token } = await tenantWithScim(id, [domain]);
    const dana = await scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `dana@${domain}` } });
    const eve = await scim('POST', '/Users', {
      token,
      body: { schemas: [CORE], userName: `eve-id`, emails: [{ value: `eve@${domain}`, primary: true }] },
    });
    expect([dana.status, eve.status]).toEqual([201, 201]);
    const grab = await scim('PATCH', `/Users/${eve.body.id}`, {
      token,
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'emails[primary eq true].value', value: `DANA@${domain}` }] },
    });
    expect(grab.status, JSON.stringify(grab.body)).toBe(409);
    expect(grab.body).toMatchObject({ scimType: 'uniqueness' });
    expect(grab.body.detail).toContain('email');
    // Nor by creating a second user whose email is hers.
    const twin = await scim('POST', '/Users', {
      token,
      body: { schemas: [CORE], userName: 'twin', emails: [{ value: `dana@${domain}`, primary: true }] },
    });
    expect(twin.status, JSON.stringify(twin.body)).toBe(409);
  });

  it('audits every SCIM change as the SCIM client token, with what changed (never a secret)', async () => {
    const id = `aud-${stamp()}`;
    const domain = `${id}.test`;
    const { admin, token } = await tenantWithScim(id, [domain]);
    const made = await scim('POST', '/Users', {
      token,
      body: { schemas: [CORE], userName: `fay@${domain}`, displayName: 'Fay', password: 'Sup3rS3cret!' },
    });
    expect(made.status).toBe(201);
    const renamed = await scim('PATCH', `/Users/${made.body.id}`, {
      token,
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Fay Lee' }] },
    });
    expect(renamed.status).toBe(200);
    const group = await scim('POST', '/Groups', {
      token,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'ops', members: [{ value: made.body.id }] },
    });
    expect(group.status).toBe(201);
    const info = await t.call('GET', '/api/v1/scim/token', { token: admin });
    expect(info.body.id).toMatch(/^[0-9a-f]{12}$/);
    const audit = await t.call('GET', '/api/v1/audit?limit=100', { token: admin });
    const scimEntries = audit.body.items.filter((e: { action: string }) => e.action.startsWith('scim.'));
    expect(scimEntries.length).toBeGreaterThanOrEqual(3);
    for (const e of scimEntries) expect(e.actor).toBe(`scim:${info.body.id}`);
    const update = scimEntries.find((e: { action: string }) => e.action === 'scim.user.update');
    expect(JSON.parse(update.before)).toMatchObject({ displayName: 'Fay' });
    expect(JSON.parse(update.after)).toMatchObject({ displayName: 'Fay Lee', userName: `fay@${domain}` });
    const grp = scimEntries.find((e: { action: string }) => e.action === 'scim.group.create');
    expect(JSON.parse(grp.after)).toMatchObject({ displayName: 'ops', members: [made.body.id] });
    expect(JSON.stringify(audit.body)).not.toContain('Sup3rS3cret');
    expect(JSON.stringify(audit.body)).not.toContain(token.split('.')[2]);
  });

  it("a deprovisioned approver's approval is void in the decision record and the promotion's view; the record names each approver's binding", async () => {
    const id = `void-${stamp()}`;
    const domain = `${id}.test`;
    const { admin, token } = await tenantWithScim(id, [domain]);
    for (const [name, roles] of [
      ['ap1', ['approver']],
      ['ap2', ['viewer']],
      ['dev', ['deployer']],
    ] as const)
      expect((await t.call('POST', '/api/v1/users', { token: admin, body: { email: `${name}@${domain}`, roles } })).status).toBe(201);
    const ap1 = await scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `ap1@${domain}` } });
    expect(ap1.status).toBe(201);
    await makeLine(t, admin, ['dev', 'production']);
    // ap2 approves in production under a binding, not a tenant-wide role.
    const bound = await t.call('PUT', '/api/v1/access/bindings', {
      token: admin,
      body: { bindings: [{ user: `ap2@${domain}`, role: 'approver', environments: ['production'] }] },
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: admin,
      body: {
        name: 'three',
        sourceEnvironment: 'dev',
        targetEnvironment: 'production',
        requiresApproval: true,
        requiredApprovers: 3,
        approverGroups: ['approver'],
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const dev = (await signIn(`dev@${domain}`)).body.token as string;
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: dev, body: { key: 'k', value: 1 } })).status).toBe(201);
    const p = await t.call('POST', '/api/v1/promotions', { token: dev, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const approve = async (who: string) => {
      const tok = (await signIn(who)).body.token as string;
      let r = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: tok, body: {} });
      for (let i = 0; i < 50 && r.status === 409; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: tok, body: {} });
      }
      return r;
    };
    const first = await approve(`ap1@${domain}`);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const second = await approve(`ap2@${domain}`);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    const before = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: admin });
    expect(before.status).toBe(200);
    const byName = (r: Res) => Object.fromEntries(r.body.approvals.map((a: { by: string }) => [a.by, a]));
    // ap1 approved under their token's tenant-wide role: the record names no binding for them.
    expect(byName(before)[`ap1@${domain}`]).toMatchObject({ counted: true });
    expect(byName(before)[`ap1@${domain}`].grantedBy).toBeUndefined();
    expect(byName(before)[`ap2@${domain}`]).toMatchObject({
      counted: true,
      grantedBy: { role: 'approver', environments: ['production'], source: 'binding', user: `ap2@${domain}` },
    });
    const off = await scim('PATCH', `/Users/${ap1.body.id}`, {
      token,
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect(off.status).toBe(200);
    const after = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: admin });
    expect(byName(after)[`ap1@${domain}`]).toMatchObject({ counted: false });
    expect(byName(after)[`ap2@${domain}`]).toMatchObject({ counted: true });
    expect(after.body.outcome).toBe('AWAITING_APPROVAL');
    const view = await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: admin });
    expect(view.body.approvals.remaining).toBe(2);
    const given = view.body.approvals.given.find((a: { by: string }) => a.by === `ap1@${domain}`);
    expect(given).toMatchObject({ counts: false });
    expect(given.why).toContain('access');
  });

  it('a deprovisioned approver is refused on the first request after the SCIM answer, everywhere: API, CLI, review link, Slack', async () => {
    const id = `gone-${stamp()}`;
    const domain = `${id}.test`;
    const { admin, token } = await tenantWithScim(id, [domain]);
    for (const [name, roles] of [
      ['ap', ['approver']],
      ['dev', ['deployer']],
    ] as const)
      expect((await t.call('POST', '/api/v1/users', { token: admin, body: { email: `${name}@${domain}`, roles } })).status).toBe(201);
    const ap = await scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `ap@${domain}` } });
    expect(ap.status).toBe(201);
    await makeLine(t, admin, ['dev', 'production']);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: admin,
      body: {
        name: 'one',
        sourceEnvironment: 'dev',
        targetEnvironment: 'production',
        requiresApproval: true,
        requiredApprovers: 1,
        approverGroups: ['approver'],
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const team = `T${id
      .replace(/[^a-z0-9]/g, '')
      .toUpperCase()
      .slice(0, 10)}`;
    const notify = await t.call('PUT', '/api/v1/notifications', {
      token: admin,
      body: { slack: { webhook: `${t.url}/dev/slack/ops`, channels: ['#ops'], teamId: team }, email: { recipients: [], approvers: true } },
    });
    expect(notify.status, JSON.stringify(notify.body)).toBe(200);
    // The approver links their Slack identity while active.
    const apToken = (await signIn(`ap@${domain}`)).body.token as string;
    const secret = t.stack.slackSigningSecret;
    const slack = (path: 'actions' | 'commands', body: string) => {
      const ts = Math.floor(Date.now() / 1000);
      const sig = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
      return t.call('POST', `/api/v1/slack/${path}`, {
        raw: body,
        headers: { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig, 'content-type': 'application/x-www-form-urlencoded' },
      });
    };
    const code = await t.call('POST', '/api/v1/slack/link-codes', { token: apToken });
    expect(code.status, JSON.stringify(code.body)).toBe(201);
    const linked = await slack(
      'commands',
      new URLSearchParams({ team_id: team, user_id: 'U0AP', command: '/stageline', text: `link ${code.body.code}`, channel_id: 'C1' }).toString(),
    );
    expect(linked.status).toBe(200);
    expect(linked.body.text).toContain('Linked');
    const dev = (await signIn(`dev@${domain}`)).body.token as string;
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: dev, body: { key: 'k', value: 1 } })).status).toBe(201);
    const p = await t.call('POST', '/api/v1/promotions', { token: dev, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    await waitForToken(t, admin, p.body.id);
    await t.stack.stream.idle();
    let mail;
    for (let i = 0; i < 200 && !mail; i++) {
      mail = t.stack.outbox.mails.find((x) => x.to === `ap@${domain}` && x.subject.includes('needs your approval'));
      if (!mail) await new Promise((r) => setTimeout(r, 25));
    }
    const link = /(http:\/\/127\.0\.0\.1:\d+\/review\/[^\s]+)/.exec(mail!.text)![1]!;
    const nonce = /name="nonce" value="([^"]+)"/.exec(await (await fetch(link)).text())?.[1];
    expect(nonce).toBeTruthy();

    // HR removes them: the identity provider deactivates the user.
    const off = await scim('PATCH', `/Users/${ap.body.id}`, {
      token,
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect(off.status).toBe(200);
    // The API, with the token they hold.
    const api = await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: apToken, body: {} });
    expect(api.status).toBe(401);
    // The CLI, as the holder of that token.
    const cli = await outcome(cliWith({ ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: apToken }, 'approve', p.body.id, '--yes'));
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/session ended|sign in again|401/i);
    // The review link emailed to them: the page no longer offers the form, and the form they had is refused.
    const page = await (await fetch(link)).text();
    expect(page).toContain('no longer an eligible approver');
    const posted = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ action: 'approve', nonce: nonce! }).toString(),
    });
    expect(posted.status).toBe(403);
    // Slack: their linked identity's press is refused.
    const press = `payload=${encodeURIComponent(
      JSON.stringify({
        type: 'block_actions',
        team: { id: team },
        user: { id: 'U0AP', team_id: team },
        actions: [{ action_id: 'approve', value: `${id}:${p.body.id}:${p.body.releaseDigest}` }],
      }),
    )}`;
    const pressed = await slack('actions', press);
    expect(pressed.body.text).toContain('no longer exists; nothing was done');
    // Nothing was recorded on any path.
    const still = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: admin })).body;
    expect(still.status).toBe('AWAITING_APPROVAL');
    expect(still.approvals.given).toEqual([]);
  });
});
