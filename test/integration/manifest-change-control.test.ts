/**
 * The manifest's `change_control` section: an environment's change-control rule as a document holds it (the
 * credential only as the `${NAME}` of a tenant secret of purpose change-credential, never the secret), applied
 * through the same checks as PUT …/change-control (outbound rules, the template looked up in the tool), exported
 * back so that export | apply changes nothing; `null` removes a rule, an environment left out keeps its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { startServiceNowStandin, type ServiceNowStandin } from '../support/servicenow-standin.ts';
import { startJiraStandin, type JiraStandin } from '../support/jira-standin.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let sn: ServiceNowStandin;
let jira: JiraStandin;
const jiraCred = { email: 'release-bot@example.com', apiToken: 'atl-manifest-token-4e' };
const cred = { user: 'stageline.manifest', password: 'pw-manifest-7d21' };
const set: string[] = [];
const secret = (tenant: string, name: string, value: string) => {
  const v = localSecretVariable(tenant, 'change-credential', name)!;
  process.env[v] = value;
  set.push(v);
};
beforeAll(async () => {
  t = await startTestStack();
  sn = await startServiceNowStandin(cred);
  jira = await startJiraStandin(jiraCred);
});
afterAll(async () => {
  for (const v of set) delete process.env[v];
  await sn?.stop();
  await jira?.stop();
  await t?.stop();
});

const P = 'document.artifacts.promotion.change_control.production';
const doc = (changeControl: Record<string, unknown>) => JSON.stringify({ artifacts: { promotion: { change_control: changeControl } } });
const ops = (changes: { op: string; path: string }[]) => changes.map((c) => `${c.op} ${c.path}`);

describe("the manifest's change_control section", () => {
  it('exports a rule set through the API without its credential, and the export applied back changes nothing', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const put = await t.call('PUT', '/api/v1/environments/production/change-control', {
      token: u.admin,
      body: { provider: 'servicenow', instanceUrl: sn.url, type: 'standard', template: sn.templates[0]!.name, credentials: { basic: cred } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const yaml = String((await t.call('GET', '/api/v1/manifest', { token: u.viewer })).body);
    expect(yaml).not.toContain(cred.password);
    const exported = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body.artifacts.promotion;
    expect(exported.change_control).toEqual({
      production: {
        provider: 'servicenow',
        instanceUrl: sn.url,
        type: 'standard',
        template: sn.templates[0]!.name,
        approvedStates: ['-2', '-1'],
        credentials: '${SET_THROUGH_THE_API}',
      },
    });
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: yaml } })).body.changes).toEqual([]);
    const again = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: yaml } });
    expect(again.body).toMatchObject({ applied: false, changes: [] });
    // A section left out, or an environment left out of it, keeps the rule.
    const other = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc({}) } });
    expect(other.body).toMatchObject({ applied: false, changes: [] });
    expect((await t.call('GET', '/api/v1/environments/production/change-control', { token: u.viewer })).status).toBe(200);
    // The placeholder keeps a credential set through the API only where there is one.
    const none = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: doc({ staging: { provider: 'servicenow', instanceUrl: sn.url, credentials: '${SET_THROUGH_THE_API}' } }) },
    });
    expect(none.status, JSON.stringify(none.body)).toBe(400);
    expect(none.body.error.issues).toEqual([
      { path: 'document.artifacts.promotion.change_control.staging.credentials', message: expect.stringContaining('has no rule') },
    ]);
  });

  it('sets a rule with its credential by reference (the secret read and sealed at apply, the template looked up with it), exports the reference, and null removes the rule', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const rule = { provider: 'servicenow', instanceUrl: sn.url, type: 'standard', template: sn.templates[0]!.name, credentials: '${SN_CHANGE}' };
    // No such secret for the tenant: named, nothing applied.
    const missing = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc({ production: rule }) } });
    expect(missing.status, JSON.stringify(missing.body)).toBe(422);
    expect(missing.body.error.issues).toEqual([{ path: `${P}.credentials`, message: expect.stringContaining('SN_CHANGE') }]);
    // A secret that is not a credential's JSON: named, never repeated.
    secret(tenant, 'SN_CHANGE', 'hunter2-not-json');
    const garbled = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc({ production: rule }) } });
    expect(garbled.status, JSON.stringify(garbled.body)).toBe(422);
    expect(garbled.body.error.issues).toEqual([{ path: `${P}.credentials`, message: expect.stringContaining('{"basic"') }]);
    expect(JSON.stringify(garbled.body)).not.toContain('hunter2');
    // The tool refuses the credential when the template is looked up with it: said at apply, nothing applied.
    secret(tenant, 'SN_CHANGE', JSON.stringify({ basic: { ...cred, password: 'wrong' } }));
    const refused = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc({ production: rule }) } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error.issues).toEqual([{ path: `${P}.template`, message: expect.any(String) }]);
    expect((await t.call('GET', '/api/v1/environments/production/change-control', { token: u.viewer })).status).toBe(404);

    secret(tenant, 'SN_CHANGE', JSON.stringify({ basic: cred }));
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc({ production: rule }) } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes).toEqual([
      expect.objectContaining({ op: 'add', path: 'change_control.production', needs: { role: 'admin', environments: ['production'] } }),
    ]);
    const applied = await t.call('POST', '/api/v1/manifest/apply', {
      token: u.admin,
      body: { document: doc({ production: rule }), expectedDigest: plan.body.digest },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const got = await t.call('GET', '/api/v1/environments/production/change-control', { token: u.viewer });
    expect(got.body).toMatchObject({ provider: 'servicenow', type: 'standard', template: sn.templates[0]!.name, credentialKind: 'basic' });
    const yaml = String((await t.call('GET', '/api/v1/manifest', { token: u.viewer })).body);
    expect(yaml).toContain('credentials: ${SN_CHANGE}');
    expect(yaml).not.toContain(cred.password);
    const trail = JSON.stringify((await t.call('GET', '/api/v1/audit?limit=100', { token: u.viewer })).body);
    expect(trail).toContain('manifest.change-control.add');
    expect(trail).not.toContain(cred.password);
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: yaml } })).body).toMatchObject({ applied: false });

    // Changed in the document: the plan names the field; the stored credential is kept (same reference).
    const changed = await t.call('POST', '/api/v1/manifest/apply', {
      token: u.admin,
      body: { document: doc({ production: { ...rule, type: 'normal', template: undefined, approvedStates: ['-1'] } }) },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(ops(changed.body.changes).sort()).toEqual(
      ['change change_control.production.approvedStates', 'change change_control.production.type', 'remove change_control.production.template'].sort(),
    );
    expect((await t.call('GET', '/api/v1/environments/production/change-control', { token: u.viewer })).body).toMatchObject({
      type: 'normal',
      template: null,
      approvedStates: ['-1'],
      credentialKind: 'basic',
    });
    const removed = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc({ production: null }) } });
    expect(ops(removed.body.changes)).toEqual(['remove change_control.production']);
    expect((await t.call('GET', '/api/v1/environments/production/change-control', { token: u.viewer })).status).toBe(404);
  });

  it('a Jira rule: its service desk looked up in Jira at apply (one Jira lacks named by its document path), its defaults exported, export | apply a no-op', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    secret(tenant, 'JSM', JSON.stringify({ basic: { user: jiraCred.email, password: jiraCred.apiToken } }));
    const rule = (serviceDeskId: string) => ({
      provider: 'jira',
      instanceUrl: jira.origin,
      jira: { serviceDeskId, requestTypeId: jira.requestTypeId },
      credentials: '${JSM}',
    });
    const missing = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc({ production: rule('99') }) } });
    expect(missing.status, JSON.stringify(missing.body)).toBe(400);
    expect(missing.body.error.issues).toEqual([{ path: `${P}.jira.serviceDeskId`, message: expect.stringMatching(/Jira has no service desk 99/) }]);
    expect((await t.call('GET', '/api/v1/environments/production/change-control', { token: u.viewer })).status).toBe(404);
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc({ production: rule(jira.serviceDeskId) }) } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const exported = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body.artifacts.promotion.change_control;
    expect(exported).toEqual({
      production: {
        provider: 'jira',
        instanceUrl: jira.origin,
        type: 'normal',
        approvedStates: ['Awaiting implementation', 'Implementing'],
        jira: expect.objectContaining({ serviceDeskId: jira.serviceDeskId, requestTypeId: jira.requestTypeId, closeSuccessful: 'Completed' }),
        credentials: '${JSM}',
      },
    });
    const yaml = String((await t.call('GET', '/api/v1/manifest', { token: u.viewer })).body);
    expect(yaml).not.toContain(jiraCred.apiToken);
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: yaml } })).body).toMatchObject({ applied: false, changes: [] });
  });

  it('refuses bad input naming each document path (as PUT …/change-control checks it); nothing is applied', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    secret(tenant, 'SN', JSON.stringify({ basic: cred }));
    const bad = async (cc: Record<string, unknown>, status: number, issues: { path: string; message: RegExp }[]) => {
      const r = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc(cc) } });
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.error.issues).toEqual(issues.map((i) => ({ path: i.path, message: expect.stringMatching(i.message) })));
    };
    const ok = { provider: 'servicenow', instanceUrl: sn.url, credentials: '${SN}' };
    await bad({ production: { ...ok, provider: 'remedy' } }, 400, [{ path: `${P}.provider`, message: /unknown provider 'remedy'/ }]);
    await bad({ production: { ...ok, instanceUrl: 'https://10.0.0.8' } }, 400, [{ path: `${P}.instanceUrl`, message: /private/ }]);
    await bad({ production: { ...ok, approvedStates: ['-2', 'Approved'] } }, 400, [{ path: `${P}.approvedStates.1`, message: /unknown state 'Approved'/ }]);
    await bad({ production: { ...ok, type: 'standard' } }, 400, [{ path: `${P}.template`, message: /needs its template/ }]);
    await bad({ production: { ...ok, credentials: 'user:password' } }, 400, [{ path: `${P}.credentials`, message: /reference like/ }]);
    await bad({ production: { ...ok, provider: 'jira' } }, 400, [{ path: `${P}.jira`, message: /service desk and request type/ }]);
    await bad({ qa: ok }, 400, [{ path: 'document.artifacts.promotion.change_control.qa', message: /no environment 'qa'/ }]);
    await bad({ production: { ...ok, type: 'standard', template: 'No such template' } }, 400, [
      { path: `${P}.template`, message: /no standard change template 'No such template'/ },
    ]);
    expect((await t.call('GET', '/api/v1/environments/production/change-control', { token: u.viewer })).status).toBe(404);
  });
});
