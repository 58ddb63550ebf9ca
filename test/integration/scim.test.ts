import SCIMMY from 'scimmy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../local/issuer.ts';
import { handler as scimHandler } from '../../functions/handlers/scim.ts';
import { MAX_BODY_BYTES } from '../../functions/http/request.ts';
import { makeLine, startTestStack, type Res, type TestStack } from '../support/stack.ts';
import {
  ENTERPRISE,
  ENTRA_DEFAULT_GROUPS,
  ENTRA_DEFAULT_USERS,
  ENTRA_FLAG_MEMBER_IDS,
  ENTRA_GROUPS,
  ENTRA_MANAGER_ID,
  ENTRA_MEMBER_ID,
  ENTRA_USERS,
  ID,
  OKTA_USERS,
  type ScimStep,
} from '../support/scim-sequences.ts';

/**
 * SCIM 2.0 provisioning through the API on DynamoDB Local: a tenant admin makes the tenant's SCIM
 * token; the identity provider's documented request sequences (Microsoft Entra ID's and Okta's, bodies
 * verbatim: test/support/scim-sequences.ts) are replayed against /scim/v2 and answered as documented;
 * every answer passes the SCIM library's schema; a deactivated or deleted user loses their access as a
 * removed member does; one tenant's token reaches nothing of another's, and a SCIM token calls SCIM only.
 */
let t: TestStack;
let acme: string;
let globex: string;
let acmeAdmin: string;
let acmeScim: string;
let globexScim: string;

const signIn = async (email: string): Promise<Res> => t.call('POST', '/dev/sign-in', { body: { email } });

async function tenantWithScim(id: string, domains: string[]): Promise<{ admin: string; token: string }> {
  const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
  const made = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ada@${domains[0]}`, emailDomains: domains } });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  const admin = (await signIn(`ada@${domains[0]}`)).body.token as string;
  const issued = await t.call('POST', '/api/v1/scim/token', { token: admin });
  expect(issued.status, JSON.stringify(issued.body)).toBe(201);
  expect(issued.body.token).toMatch(new RegExp(`^scim\\.${id}\\.[A-Za-z0-9_-]{43}$`));
  return { admin, token: issued.body.token };
}

/** A SCIM request as the identity provider sends it (application/scim+json, the tenant's token). */
async function scim(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Res> {
  return t.call(method, `/scim/v2${path}`, {
    ...(opts.token ? { token: opts.token } : {}),
    ...(opts.body !== undefined ? { raw: JSON.stringify(opts.body) } : {}),
    headers: { 'content-type': 'application/scim+json', accept: 'application/scim+json' },
  });
}

/** Every answer checked by the SCIM library's own schemas: a resource, a list of them, or an Error. */
function schemaValid(r: Res, kind: 'User' | 'Group'): void {
  if (r.status === 204) return expect(r.body).toBeUndefined();
  expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  const schemas: string[] = r.body.schemas;
  if (schemas.includes('urn:ietf:params:scim:api:messages:2.0:Error')) {
    expect(Object.keys(r.body).sort()).toEqual(expect.arrayContaining(['detail', 'schemas', 'status']));
    expect(Number(r.body.status)).toBe(r.status);
    return;
  }
  const Schema = kind === 'User' ? SCIMMY.Schemas.User : SCIMMY.Schemas.Group;
  const one = (res: Record<string, unknown>) => {
    // Inbound validation refuses what breaks the schema (types, required attributes, unknown schema URNs).
    expect(() => new Schema(res, 'in')).not.toThrow();
    expect(res.schemas).toContain(Schema.definition.id);
    expect(res.id).toEqual(expect.any(String));
    expect((res.meta as { resourceType?: string }).resourceType).toBe(kind);
  };
  if (schemas.includes('urn:ietf:params:scim:api:messages:2.0:ListResponse')) {
    const list = new SCIMMY.Messages.ListResponse(r.body);
    expect(Number.isInteger(r.body.totalResults) && Number.isInteger(r.body.startIndex) && Number.isInteger(r.body.itemsPerPage)).toBe(true);
    for (const res of list.Resources as Record<string, unknown>[]) one(res);
  } else one(r.body);
}

/** Replays documented steps in order; `{id}` (and the documented ids in bodies) become the ids this server gave. */
async function replay(
  steps: ScimStep[],
  token: string,
  kind: 'User' | 'Group',
  ids: Record<string, string> = {},
  after?: (step: ScimStep, r: Res, id: string) => Promise<void>,
): Promise<Record<string, Res>> {
  let id: string | undefined;
  const answers: Record<string, Res> = {};
  for (const step of steps) {
    let body = step.body === undefined ? undefined : JSON.stringify(step.body);
    for (const [documented, ours] of Object.entries(ids)) body = body?.replaceAll(documented, ours);
    const r = await scim(step.method, step.path.replace(ID, id ?? 'none'), { token, ...(body ? { body: JSON.parse(body) } : {}) });
    expect(r.status, `${step.name}: ${JSON.stringify(r.body)}`).toBe(step.status);
    schemaValid(r, kind);
    if (step.method === 'POST') id = r.body.id;
    answers[step.name] = r;
    await after?.(step, r, id!);
  }
  return answers;
}

beforeAll(async () => {
  t = await startTestStack();
  const stamp = Date.now().toString(36);
  acme = `acme-${stamp}`;
  globex = `globex-${stamp}`;
  const a = await tenantWithScim(acme, ['testuser.com', 'okta.local', 'test.microsoft.com']);
  acmeAdmin = a.admin;
  acmeScim = a.token;
  globexScim = (await tenantWithScim(globex, [`${globex}.test`])).token;
}, 120_000);
afterAll(() => t?.stop());

describe('SCIM 2.0 provisioning', () => {
  it("replays Entra ID's documented user sequence: create, get, query, update, disable (access revoked), delete", async () => {
    const answers = await replay(ENTRA_USERS, acmeScim, 'User');
    const created = answers['Create User']!.body;
    expect(created).toMatchObject({
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      active: true,
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      emails: [{ value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com', type: 'work', primary: true }],
      meta: { resourceType: 'User', location: `/scim/v2/Users/${created.id}` },
    });
    expect(answers['Get User by query']!.body).toMatchObject({ totalResults: 1, startIndex: 1, Resources: [{ id: created.id }] });
    expect(answers['Get User by query - Zero results']!.body).toMatchObject({ totalResults: 0, Resources: [] });
    expect(answers['Get User (not found)']!.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
    expect(answers['Update User [Multi-valued properties]']!.body).toMatchObject({
      name: { familyName: 'updatedFamilyName' },
      emails: [{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }],
    });
    expect(answers['Update User [Single-valued properties]']!.body.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
    expect(answers['Disable User']!.body.active).toBe(false);
    // Gone: the record too.
    expect((await scim('GET', `/Users/${created.id}`, { token: acmeScim })).status).toBe(404);
  });

  it('replays Entra ID on its default settings: string booleans deprovision and restore, capitalised ops, path-less replace, enterprise attributes by their full path', async () => {
    const manager = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'boss@testuser.com' },
    });
    expect(manager.status).toBe(201);
    const answers = await replay(ENTRA_DEFAULT_USERS, acmeScim, 'User', { [ENTRA_MANAGER_ID]: manager.body.id }, async (step, r) => {
      const address = 'testmhvaes@test.microsoft.com';
      // Every deactivation takes the access away, every activation gives it back (string booleans included).
      if (/^Disable/.test(step.name)) {
        expect(r.body.active, step.name).toBe(false);
        for (const was of [address, 'test_user_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com'])
          expect((await signIn(was)).status, `${step.name}: ${was}`).toBe(404);
      }
      if (/^Enable/.test(step.name)) {
        expect(r.body.active, step.name).toBe(true);
        expect((await signIn(address)).status, step.name).toBe(200);
      }
    });
    const id = answers['Create User']!.body.id;
    expect(answers['Get User by query']!.body).toMatchObject({ totalResults: 1, Resources: [{ id }] });
    expect(answers['Get User by query on the work email']!.body).toMatchObject({ totalResults: 1, Resources: [{ id }] });
    expect(answers['Add a single-value string attribute (without feature flag)']!.body).toMatchObject({ id, nickName: 'Babs' });
    expect(answers['Replace multiple attributes (without feature flag)']!.body).toMatchObject({
      displayName: 'Pvlo',
      name: { givenName: 'Gtfd', familyName: 'Pkqf' },
      externalId: 'Eqpj',
      emails: [{ type: 'work', value: 'TestBcwqnm@test.microsoft.com' }],
      [ENTERPRISE]: { employeeNumber: 'Eqpj' },
    });
    expect(answers['Replace multiple attributes (with feature flag)']!.body).toMatchObject({
      displayName: 'Bjfe',
      name: { givenName: 'Kkom', familyName: 'Unua' },
      emails: [{ type: 'work', value: 'TestMhvaes@test.microsoft.com' }],
      [ENTERPRISE]: { employeeNumber: 'Aklq' },
    });
    expect(answers['Replace multiple attributes (with feature flag)']!.body.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE]);
    expect(answers['Add the department by its full path']!.body[ENTERPRISE]).toMatchObject({ employeeNumber: 'Aklq', department: 'Tech Infrastructure' });
    expect(answers['Replace the department by its full path']!.body[ENTERPRISE]).toMatchObject({ department: 'Platform' });
    // The manager as Entra sends it (the manager's id) is kept as RFC 7643 has it: { value: id }.
    expect(answers['Add the manager by its full path']!.body[ENTERPRISE]).toMatchObject({ manager: { value: manager.body.id } });
    expect(answers['Replace a boolean sub-attribute with a string boolean']!.body.emails).toEqual([
      { type: 'work', value: 'TestMhvaes@test.microsoft.com', primary: true },
    ]);
    expect(answers['Disable User (without feature flag)']!.body).toMatchObject({ id, active: false, [ENTERPRISE]: { department: 'Platform' } });
    expect(answers['Enable User (path-less, with an object value)']!.body).toMatchObject({ id, active: true, displayName: 'x' });
    expect((await scim('GET', `/Users/${id}`, { token: acmeScim })).status).toBe(404);
    // Audited as what happened: deactivations and activations, never an update that changed nothing of the access.
    const audit = await t.call('GET', '/api/v1/audit?entityType=user&limit=100', { token: acmeAdmin });
    const actions = audit.body.items
      .filter((e: { entityId: string }) => e.entityId === 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee')
      .map((e: { action: string }) => e.action);
    expect(actions.filter((a: string) => a === 'scim.user.deactivate')).toHaveLength(2);
    expect(actions.filter((a: string) => a === 'scim.user.activate')).toHaveLength(2);
  });

  it("replays Entra ID's group membership on its default settings: add, remove by a members[value eq] path, add again, remove by a value list", async () => {
    const member = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'flag@testuser.com' },
    });
    expect(member.status).toBe(201);
    const ids = Object.fromEntries([ENTRA_MEMBER_ID, ...ENTRA_FLAG_MEMBER_IDS].map((documented) => [documented, member.body.id]));
    let groupId = '';
    const members = async () => ((await scim('GET', `/Groups/${groupId}`, { token: acmeScim })).body.members ?? []).map((m: { value: string }) => m.value);
    const seen: Record<string, string[]> = {};
    await replay(ENTRA_DEFAULT_GROUPS, acmeScim, 'Group', ids, async (step, _r, id) => {
      groupId = id;
      if (step.method === 'PATCH') seen[step.name] = await members();
    });
    expect(seen).toEqual({
      'Update Group [Add Members]': [member.body.id],
      'Remove a group member (with feature flag)': [],
      'Add the member again': [member.body.id],
      'Remove a group member (without feature flag)': [],
    });
    expect((await scim('GET', `/Groups/${groupId}`, { token: acmeScim })).status).toBe(404);
  });

  it('provisions a person who signs in, and deactivating them revokes their access as removing a member does', async () => {
    const made = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'lee@testuser.com', externalId: 'x-lee', displayName: 'Lee', active: true },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const session = await signIn('lee@testuser.com');
    expect(session.status).toBe(200);
    const people = await t.call('GET', '/api/v1/users', { token: acmeAdmin });
    expect(people.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ email: 'lee@testuser.com', roles: ['viewer'] })]));
    // A change with their token counts while they are active…
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: session.body.token, raw: '{}' })).status).not.toBe(401);
    const off = await scim('PATCH', `/Users/${made.body.id}`, {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body.active).toBe(false);
    // …and not from the moment they are deactivated: signed out, their token changes nothing, they cannot sign in.
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: session.body.token, raw: '{}' })).status).toBe(401);
    expect((await signIn('lee@testuser.com')).status).toBe(404);
    expect((await t.call('GET', '/api/v1/users', { token: acmeAdmin })).body.items.map((u: { email: string }) => u.email)).not.toContain('lee@testuser.com');
    // The SCIM record stays (inactive); active again gives them access again.
    expect((await scim('GET', `/Users/${made.body.id}`, { token: acmeScim })).body.active).toBe(false);
    const on = await scim('PATCH', `/Users/${made.body.id}`, {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: true }] },
    });
    expect(on.status).toBe(200);
    expect((await signIn('lee@testuser.com')).status).toBe(200);
    // Audited as the SCIM client, never with the token.
    const audit = await t.call('GET', '/api/v1/audit?entityType=user', { token: acmeAdmin });
    const actions = audit.body.items.filter((e: { entityId: string }) => e.entityId === 'lee@testuser.com').map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['scim.user.create', 'scim.user.deactivate', 'scim.user.activate']));
    expect(JSON.stringify(audit.body)).not.toContain(acmeScim.split('.')[2]);
  });

  it("replays Entra ID's documented group sequence: create, get, query, rename, add and remove a member, delete", async () => {
    const member = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'gia@testuser.com', active: true },
    });
    expect(member.status).toBe(201);
    let groupId = '';
    const members = async () => ((await scim('GET', `/Groups/${groupId}`, { token: acmeScim })).body.members ?? []).map((m: { value: string }) => m.value);
    await replay(ENTRA_GROUPS, acmeScim, 'Group', { [ENTRA_MEMBER_ID]: member.body.id }, async (step, r, id) => {
      groupId = id;
      if (step.name === 'Create Group') expect(r.body).toMatchObject({ displayName: 'displayName', externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159' });
      if (step.name === 'Get Group') expect(r.body.members).toBeUndefined();
      if (step.name === 'Get Group by displayName') expect(r.body).toMatchObject({ totalResults: 1, Resources: [{ id, displayName: 'displayName' }] });
      if (step.name === 'Update Group [Non-member attributes]')
        expect((await scim('GET', `/Groups/${id}`, { token: acmeScim })).body.displayName).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
      if (step.name === 'Update Group [Add Members]') expect(await members()).toEqual([member.body.id]);
      if (step.name === 'Update Group [Remove Members]') expect(await members()).toEqual([]);
    });
    expect((await scim('GET', `/Groups/${groupId}`, { token: acmeScim })).status).toBe(404);
  });

  it("replays Okta's documented sequence: check by userName, create, retrieve, PUT, deactivate by PATCH", async () => {
    const answers = await replay(OKTA_USERS, acmeScim, 'User');
    expect(answers['Check if the user exists']!.body).toMatchObject({ totalResults: 0, Resources: [] });
    const id = answers['Create the user']!.body.id;
    expect(answers['Create the user']!.body).toMatchObject({ userName: 'test.user@okta.local', displayName: 'Test User', externalId: '00ujl29u0le5T6Aj10h7' });
    // The password is never kept or shown.
    expect(JSON.stringify(answers['Retrieve the user']!.body)).not.toContain('1mz050nq');
    expect(answers['Update the user (PUT)']!.body).toMatchObject({ id, name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' } });
    expect(answers['Deactivate the user (PATCH)']!.body).toMatchObject({ id, active: false });
    expect((await signIn('test.user@okta.local')).status).toBe(404);
    // The same check by userName now finds them (inactive).
    const again = await scim('GET', '/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100', { token: acmeScim });
    expect(again.body).toMatchObject({ totalResults: 1, Resources: [{ id, active: false }] });
  });

  it('filters on userName, externalId and displayName, pages with startIndex and count, and refuses in SCIM error format', async () => {
    for (const n of ['p1', 'p2', 'p3'])
      expect(
        (
          await scim('POST', '/Users', {
            token: acmeScim,
            body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${n}@testuser.com`, externalId: `ext-${n}`, displayName: `Page ${n}` },
          })
        ).status,
      ).toBe(201);
    const q = async (filter: string, extra = '') => scim('GET', `/Users?filter=${encodeURIComponent(filter)}${extra}`, { token: acmeScim });
    expect((await q('externalId eq "ext-p2"')).body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['p2@testuser.com']);
    expect((await q('displayName eq "Page p3"')).body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['p3@testuser.com']);
    const page = await q('userName sw "p"', '&startIndex=2&count=1');
    expect(page.body).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1, Resources: [{ userName: 'p2@testuser.com' }] });
    schemaValid(page, 'User');

    const bad = await q('userName zz "p1"');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter' });
    const badIndex = await scim('GET', '/Users?startIndex=abc', { token: acmeScim });
    expect(badIndex.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect(badIndex.body.detail).toContain('startIndex');
    const dup = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'P1@testuser.com' },
    });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const typed = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'x@testuser.com', active: 'yes' },
    });
    expect(typed.status).toBe(400);
    expect(typed.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const foreign = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'eve@elsewhere.example' },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.detail).toContain('emails');
    const notJson = await t.call('POST', '/scim/v2/Users', { token: acmeScim, raw: '{', headers: { 'content-type': 'application/scim+json' } });
    expect(notJson.body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
    const strangers = await scim('POST', '/Groups', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'strangers', members: [{ value: 'nobody' }] },
    });
    expect(strangers.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  it('answers every refusal as a SCIM error with a status RFC 7644 allows (never 5xx, never 422): status, schemas, scimType and detail', async () => {
    const id = `refuse-${Date.now().toString(36)}`;
    const domain = `${id}.test`;
    const { admin, token } = await tenantWithScim(id, [domain]);
    const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
    const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
    const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });
    // The tenant's only admin, taken over by the identity provider.
    const ada = await scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `ada@${domain}` } });
    expect(ada.status, JSON.stringify(ada.body)).toBe(201);
    const lee = await scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `lee@${domain}` } });
    expect(lee.status).toBe(201);
    const group = await scim('POST', '/Groups', { token, body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'ops' } });
    expect(group.status).toBe(201);
    const latin1 = async (method: string, path: string, text: string): Promise<Res> => {
      const r = await fetch(`${t.url}/scim/v2${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: Buffer.from(text, 'latin1'),
      });
      return { status: r.status, headers: r.headers, body: await r.json() } as Res;
    };
    const raw = (method: string, path: string, body: string, type = 'application/scim+json') =>
      t.call(method, `/scim/v2${path}`, { token, raw: body, headers: { 'content-type': type } });
    const cases: [string, () => Promise<Res>, number, string | undefined, string][] = [
      [
        "the tenant's last admin deactivated (Entra's string boolean)",
        () => scim('PATCH', `/Users/${ada.body.id}`, { token, body: patch({ op: 'Replace', path: 'active', value: 'False' }) }),
        400,
        'mutability',
        'last admin',
      ],
      [
        "the tenant's last admin deactivated by PUT",
        () => scim('PUT', `/Users/${ada.body.id}`, { token, body: { schemas: [CORE], userName: `ada@${domain}`, active: false } }),
        400,
        'mutability',
        'last admin',
      ],
      ["the tenant's last admin deleted", () => scim('DELETE', `/Users/${ada.body.id}`, { token }), 400, 'mutability', 'last admin'],
      ['an unknown user read', () => scim('GET', '/Users/nobody', { token }), 404, undefined, 'nobody'],
      [
        'an unknown user patched',
        () => scim('PATCH', '/Users/nobody', { token, body: patch({ op: 'replace', path: 'active', value: false }) }),
        404,
        undefined,
        'nobody',
      ],
      ['an unknown user replaced', () => scim('PUT', '/Users/nobody', { token, body: { schemas: [CORE], userName: `x@${domain}` } }), 404, undefined, 'nobody'],
      ['an unknown user deleted', () => scim('DELETE', '/Users/nobody', { token }), 404, undefined, 'nobody'],
      ['an unknown group', () => scim('DELETE', '/Groups/nothing', { token }), 404, undefined, 'nothing'],
      [
        'a userName in use (another case)',
        () => scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `LEE@${domain}` } }),
        409,
        'uniqueness',
        'userName',
      ],
      [
        'a group name in use',
        () => scim('POST', '/Groups', { token, body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'OPS' } }),
        409,
        'uniqueness',
        'OPS',
      ],
      ['a filter that does not parse', () => scim('GET', `/Users?filter=${encodeURIComponent('userName zz "x"')}`, { token }), 400, 'invalidFilter', 'zz'],
      ['a paging parameter that is not a number', () => scim('GET', '/Users?count=many', { token }), 400, 'invalidValue', 'count'],
      [
        'a path no schema has',
        () => scim('PATCH', `/Users/${lee.body.id}`, { token, body: patch({ op: 'Replace', path: 'shoeSize', value: '42' }) }),
        400,
        'invalidPath',
        'shoeSize',
      ],
      [
        'an enterprise attribute the extension does not have',
        () => scim('PATCH', `/Users/${lee.body.id}`, { token, body: patch({ op: 'Add', path: `${ENTERPRISE}:shoeSize`, value: '42' }) }),
        400,
        'invalidPath',
        'employeeNumber, costCenter, organization, division, department, manager',
      ],
      [
        'a value of the wrong type',
        () => scim('PATCH', `/Users/${lee.body.id}`, { token, body: patch({ op: 'Replace', path: 'active', value: 'maybe' }) }),
        400,
        'invalidValue',
        'active',
      ],
      [
        'a value of the wrong type on create',
        () => scim('POST', '/Users', { token, body: { schemas: [CORE], userName: `y@${domain}`, active: 'yes' } }),
        400,
        'invalidValue',
        'active',
      ],
      [
        'an operation that is not one',
        () => scim('PATCH', `/Users/${lee.body.id}`, { token, body: patch({ op: 'Merge', path: 'nickName', value: 'x' }) }),
        400,
        'invalidSyntax',
        'Merge',
      ],
      ['a remove with no path', () => scim('PATCH', `/Users/${lee.body.id}`, { token, body: patch({ op: 'Remove' }) }), 400, 'noTarget', 'path'],
      [
        'a PatchOp without its schema',
        () => scim('PATCH', `/Users/${lee.body.id}`, { token, body: { Operations: [{ op: 'add', path: 'nickName', value: 'x' }] } }),
        400,
        'invalidSyntax',
        'PatchOp',
      ],
      [
        'a member that is not a user of the tenant',
        () => scim('PATCH', `/Groups/${group.body.id}`, { token, body: patch({ op: 'Add', path: 'members', value: [{ value: 'stranger' }] }) }),
        400,
        'invalidValue',
        'stranger',
      ],
      [
        "an address outside the tenant's domains",
        () => scim('POST', '/Users', { token, body: { schemas: [CORE], userName: 'eve@elsewhere.example' } }),
        400,
        'invalidValue',
        'emails',
      ],
      ['a body that is not JSON', () => raw('POST', '/Users', '{"userName":'), 400, 'invalidSyntax', 'JSON'],
      ['a body of another media type', () => raw('POST', '/Users', '{}', 'text/plain'), 400, 'invalidSyntax', 'text/plain'],
      ['a body nested too deep', () => raw('POST', '/Users', `${'['.repeat(40)}${']'.repeat(40)}`), 400, 'invalidValue', 'nested'],
      [
        'a key JavaScript reserves',
        () => raw('POST', '/Users', `{"schemas":["${CORE}"],"userName":"z@${domain}","__proto__":{"x":1}}`),
        400,
        'invalidValue',
        '__proto__',
      ],
      [
        'text that is not Unicode (a lone surrogate)',
        () => raw('POST', '/Users', `{"schemas":["${CORE}"],"userName":"z\\ud800@${domain}"}`),
        400,
        'invalidValue',
        'userName',
      ],
      // Refused before the handler runs (the body's bytes are read as UTF-8 first): a SCIM error all the same.
      ['a body that is not UTF-8', () => latin1('POST', '/Users', `{"userName":"caf\u00e9@${domain}"}`), 400, 'invalidSyntax', 'UTF-8'],
      ['no SCIM token', () => scim('GET', '/Users', {}), 401, undefined, 'SCIM token'],
    ];
    for (const [what, answer, status, scimType, detail] of cases) {
      const r = await answer();
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.headers.get('content-type'), what).toMatch(/^application\/scim\+json/);
      expect(r.body.schemas, what).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
      expect(r.body.status, what).toBe(String(status));
      expect(r.body.scimType, what).toBe(scimType);
      expect(r.body.detail, what).toContain(detail);
      // RFC 7644 §3.12: a scimType goes with 400 (and uniqueness with 409, tooMany with 413) only.
      if (scimType) expect({ 400: true, 409: scimType === 'uniqueness', 413: scimType === 'tooMany' }[status as 400 | 409 | 413], what).toBe(true);
    }
    // The guard held: the last admin is active, signs in, and is still the tenant's admin.
    expect((await scim('GET', `/Users/${ada.body.id}`, { token })).body.active).toBe(true);
    expect((await signIn(`ada@${domain}`)).status).toBe(200);
    const people = await t.call('GET', '/api/v1/users', { token: admin });
    expect(people.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ email: `ada@${domain}`, roles: ['admin'] })]));
    // A body past the size every route takes: 413 as a SCIM error (the local gateway refuses it before the function; the function is asked directly).
    const big = (await scimHandler(
      {
        version: '2.0',
        routeKey: 'PATCH /scim/v2/Users/{id}',
        rawPath: `/scim/v2/Users/${lee.body.id}`,
        rawQueryString: '',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        pathParameters: { id: lee.body.id },
        requestContext: { http: { method: 'PATCH', path: `/scim/v2/Users/${lee.body.id}` }, requestId: 'big', timeEpoch: Date.now() },
        body: JSON.stringify(patch({ op: 'Replace', path: 'nickName', value: 'x'.repeat(MAX_BODY_BYTES) })),
        isBase64Encoded: false,
      } as never,
      { awsRequestId: 'big', getRemainingTimeInMillis: () => 10_000 } as never,
    )) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(big.statusCode).toBe(413);
    expect(big.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(JSON.parse(big.body)).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '413',
      detail: expect.stringContaining('larger'),
    });
    expect(JSON.parse(big.body).scimType).toBeUndefined();
  });

  it('an approval rule that names a group sees the SCIM group: refused before they are in it, its member approves once they are', async () => {
    // An approver the admin invited; the identity provider then takes them over and puts them in its group.
    expect((await t.call('POST', '/api/v1/users', { token: acmeAdmin, body: { email: 'rm@testuser.com', roles: ['approver'] } })).status).toBe(201);
    expect((await t.call('POST', '/api/v1/users', { token: acmeAdmin, body: { email: 'dev@testuser.com', roles: ['deployer'] } })).status).toBe(201);
    const rm = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'rm@testuser.com' },
    });
    expect(rm.status, JSON.stringify(rm.body)).toBe(201);
    await makeLine(t, acmeAdmin, ['dev', 'production']);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: acmeAdmin,
      body: {
        name: 'release managers',
        sourceEnvironment: 'dev',
        targetEnvironment: 'production',
        requiresApproval: true,
        requiredApprovers: 1,
        approverGroups: ['release-managers'],
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const dev = (await signIn('dev@testuser.com')).body.token as string;
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: dev, body: { key: 'db.pool', value: 5 } })).status).toBe(201);
    const p = await t.call('POST', '/api/v1/promotions', { token: dev, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const approver = (await signIn('rm@testuser.com')).body.token as string;
    const approve = () => t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: approver, body: {} });
    // Not in the group yet: not an approver of this rule.
    expect((await approve()).status).toBe(403);
    const group = await scim('POST', '/Groups', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'release-managers', members: [{ value: rm.body.id }] },
    });
    expect(group.status, JSON.stringify(group.body)).toBe(201);
    let r = await approve();
    for (let i = 0; i < 50 && r.status === 409; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await approve();
    }
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });

  it("a deactivated approver's open approval no longer counts", async () => {
    const id = `appr-${Date.now().toString(36)}`;
    const domain = `${id}.test`;
    const { admin, token } = await tenantWithScim(id, [domain]);
    for (const [name, roles] of [
      ['ap1', ['approver']],
      ['ap2', ['approver']],
      ['dev', ['deployer']],
    ] as const)
      expect((await t.call('POST', '/api/v1/users', { token: admin, body: { email: `${name}@${domain}`, roles } })).status).toBe(201);
    const ap1 = await scim('POST', '/Users', { token, body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `ap1@${domain}` } });
    expect(ap1.status).toBe(201);
    await makeLine(t, admin, ['dev', 'production']);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: admin,
      body: {
        name: 'two',
        sourceEnvironment: 'dev',
        targetEnvironment: 'production',
        requiresApproval: true,
        requiredApprovers: 2,
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
    expect((await approve(`ap1@${domain}`)).status).toBe(200);
    const off = await scim('PATCH', `/Users/${ap1.body.id}`, {
      token,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect(off.status).toBe(200);
    // The second approval would meet the policy with the first; the first no longer counts.
    const second = await approve(`ap2@${domain}`);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.status).toBe('AWAITING_APPROVAL');
  });

  it('answers the discovery resources, each valid for the SCIM library', async () => {
    const config = await scim('GET', '/ServiceProviderConfig', { token: acmeScim });
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({ patch: { supported: true }, filter: { supported: true, maxResults: 200 }, bulk: { supported: false } });
    expect(config.body.authenticationSchemes[0].type).toBe('oauthbearertoken');
    const types = await scim('GET', '/ResourceTypes', { token: acmeScim });
    expect(types.body.Resources.map((r: { name: string }) => r.name).sort()).toEqual(['Group', 'User']);
    const schemas = await scim('GET', '/Schemas', { token: acmeScim });
    expect(schemas.body.Resources.map((r: { id: string }) => r.id)).toEqual(
      expect.arrayContaining(['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:core:2.0:Group']),
    );
  });

  it("keeps tenants apart: globex's token neither reads nor changes acme's users; a SCIM token calls SCIM only, and SCIM takes no other credential", async () => {
    const mine = await scim('POST', '/Users', {
      token: acmeScim,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'iso@testuser.com' },
    });
    expect(mine.status).toBe(201);
    const id = mine.body.id;
    expect((await scim('GET', `/Users/${id}`, { token: globexScim })).status).toBe(404);
    expect(
      (
        await scim('PUT', `/Users/${id}`, {
          token: globexScim,
          body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'iso@testuser.com', active: false },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await scim('PATCH', `/Users/${id}`, {
          token: globexScim,
          body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] },
        })
      ).status,
    ).toBe(404);
    expect((await scim('DELETE', `/Users/${id}`, { token: globexScim })).status).toBe(404);
    const theirs = await scim('GET', '/Users?filter=userName%20eq%20%22iso%40testuser.com%22', { token: globexScim });
    expect(theirs.body.totalResults).toBe(0);
    // A token whose tenant part is altered to acme's, with globex's secret: 401.
    const forged = `scim.${acme}.${globexScim.split('.')[2]}`;
    const refused = await scim('GET', '/Users', { token: forged });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    // X-Tenant-ID never selects another tenant.
    expect((await t.call('GET', '/scim/v2/Users', { token: acmeScim, headers: { 'x-tenant-id': globex } })).status).toBe(403);
    // Still acme's, unchanged.
    expect((await scim('GET', `/Users/${id}`, { token: acmeScim })).body.active).toBe(true);

    // A SCIM token calls no other route; a person's token, an app key or nothing calls no SCIM route.
    expect((await t.call('GET', '/api/v1/environments', { token: acmeScim })).status).toBe(401);
    expect((await t.call('GET', '/api/v1/users', { token: acmeScim })).status).toBe(401);
    expect((await t.call('POST', '/api/v1/scim/token', { token: acmeScim })).status).toBe(401);
    expect((await scim('GET', '/Users', { token: acmeAdmin })).status).toBe(401);
    expect((await scim('GET', '/Users', {})).status).toBe(401);
    expect((await scim('GET', '/Users', { token: `slk.${acme}.dev.ak_0123456789abcdef.${'a'.repeat(43)}` })).status).toBe(401);
  });

  it('the admin replaces the token (the old one stops at once) and revokes it; it is never shown again', async () => {
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    const id = `rot-${Date.now().toString(36)}`;
    expect((await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ada@${id}.test` } })).status).toBe(201);
    const admin = (await signIn(`ada@${id}.test`)).body.token as string;
    expect((await t.call('GET', '/api/v1/scim/token', { token: admin })).status).toBe(404);
    const first = (await t.call('POST', '/api/v1/scim/token', { token: admin })).body.token as string;
    expect((await scim('GET', '/Users', { token: first })).status).toBe(200);
    const info = await t.call('GET', '/api/v1/scim/token', { token: admin });
    expect(info.body).toMatchObject({ tenant: id, createdBy: `ada@${id}.test`, rotatedAt: null });
    expect(JSON.stringify(info.body)).not.toContain(first.split('.')[2]);
    const second = (await t.call('POST', '/api/v1/scim/token', { token: admin })).body.token as string;
    expect(second).not.toBe(first);
    expect((await scim('GET', '/Users', { token: first })).status).toBe(401);
    expect((await scim('GET', '/Users', { token: second })).status).toBe(200);
    // Only an admin makes one.
    const viewer = await t.token({ tenant: id, groups: ['viewer'] });
    expect((await t.call('POST', '/api/v1/scim/token', { token: viewer })).status).toBe(403);
    expect((await t.call('DELETE', '/api/v1/scim/token', { token: admin })).status).toBe(204);
    expect((await scim('GET', '/Users', { token: second })).status).toBe(401);
    const audit = await t.call('GET', '/api/v1/audit?entityType=scim-token', { token: admin });
    expect(audit.body.items.map((e: { action: string }) => e.action).sort()).toEqual(['scim-token.create', 'scim-token.revoke', 'scim-token.rotate']);
    expect(JSON.stringify(audit.body)).not.toContain(first.split('.')[2]);
    expect(JSON.stringify(audit.body)).not.toContain(second.split('.')[2]);
  });
});
