import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { cliWith } from '../support/cli.ts';
import { localClient } from '../../local/dynamodb.ts';
import { waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { startWorkflowsStandIn, workflowsEnvelopeProblems, type WorkflowsPost, type WorkflowsStandIn } from '../support/workflows-standin.ts';

let t: TestStack;
let wf: WorkflowsStandIn;

beforeAll(async () => {
  t = await startTestStack({ timeScale: 0.001 });
  wf = await startWorkflowsStandIn();
});
afterAll(async () => {
  await t.stop();
  await wf.stop();
});

const WORKFLOWS_URL =
  'https://prod-12.westus.logic.azure.com:443/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zm9vYmFyU2VjcmV0U2ln';
const POWER_PLATFORM_URL =
  'https://default0a1b2c3d4e5f.12.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/0a1b2c3d/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=UG93ZXJTZWNyZXQ';

async function tenantWithLine() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  return { tenant, u };
}

/** A staging → production config promotion waiting for an approver, its notes as given. */
async function waitingPromotion(u: Awaited<ReturnType<typeof tenantWithLine>>['u'], notes = 'raise the timeout') {
  await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'db.password', value: 's3cr3t' } });
  await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'query.timeout', value: '180s' } });
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production', notes } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await waitForToken(t, u.viewer, p.body.id);
  await t.stack.stream.idle();
  return p.body as { id: string; releaseDigest: string };
}

async function postsFor(id: string, n = 1): Promise<WorkflowsPost[]> {
  for (let i = 0; i < 400; i++) {
    const got = wf.posts.filter((x) => JSON.stringify(x.body).includes(id));
    if (got.length >= n) return got;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} Workflows posts for ${id}`);
}

async function deliveriesOf(u: { viewer: string }, id: string, want: (ns: any[]) => boolean): Promise<any[]> {
  for (let i = 0; i < 400; i++) {
    const ns = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.notifications.filter((n: any) => n.channel === 'teams');
    if (want(ns)) return ns;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the delivery log never showed what was expected');
}

/** Every text a card shows, with the element that holds it. */
function texts(node: any, out: { type: string; text: string }[] = []): { type: string; text: string }[] {
  if (Array.isArray(node)) node.forEach((n) => texts(n, out));
  else if (node && typeof node === 'object') {
    if (typeof node.text === 'string') out.push({ type: node.type, text: node.text });
    if (node.type === 'Fact') out.push({ type: 'Fact', text: `${node.title} ${node.value}` });
    for (const [k, v] of Object.entries(node)) if (k !== 'text' && typeof v === 'object') texts(v, out);
  }
  return out;
}

describe('Teams notification settings', () => {
  it('take a Workflows webhook on the hosts Microsoft documents, keep it secret (masked on read, kept by a partial or masked PUT), and refuse any other host naming the field', async () => {
    const { tenant, u } = await tenantWithLine();
    const put = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: WORKFLOWS_URL } } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.teams).toEqual({ webhook: 'https://prod-12.westus.logic.azure.com/…' });
    const got = await t.call('GET', '/api/v1/notifications', { token: u.viewer });
    expect(got.body.teams).toEqual({ webhook: 'https://prod-12.westus.logic.azure.com/…' });
    expect(JSON.stringify(got.body)).not.toContain('Zm9vYmFy');
    // A partial PUT and a read-modify-write keep the stored webhook.
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: ['ops@acme.com'] } } })).status).toBe(200);
    const back = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: got.body.teams } });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    const { deps } = await import('../../functions/http/deps.ts');
    // Kept sealed in the store (only the Teams sender opens it): it is still the webhook sent first.
    const { openSealed } = await import('../../functions/adapters/secret-box.ts');
    expect(await openSealed((await deps().store.getNotificationSettings(tenant, 'tenant'))!.teams!.webhook)).toBe(WORKFLOWS_URL);
    // The stored item holds it sealed, like the Slack webhook; nor does the audit entry carry it.
    const raw = await localClient(t.stack.dynamo.endpoint).send(
      new GetItemCommand({ TableName: t.stack.tableName, Key: marshall(keys.notifySettings(tenant, 'tenant')) }),
    );
    expect(JSON.stringify(raw.Item)).not.toContain('Zm9vYmFy');
    expect(JSON.stringify(raw.Item)).toContain('teams');
    const audit = await t.call('GET', '/api/v1/audit?action=notifications.update', { token: u.admin });
    expect(JSON.stringify(audit.body)).not.toContain('Zm9vYmFy');
    // A masked value that is not this scope's webhook is not a webhook.
    const foreign = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: 'https://prod-99.eastus.logic.azure.com/…' } } });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.issues[0].path).toBe('teams.webhook');
    // The newer Power Platform host is one Microsoft documents too.
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: POWER_PLATFORM_URL } } })).status).toBe(200);

    for (const webhook of [
      'https://hooks.example.com/workflows/x?sig=y',
      'https://logic.azure.com.evil.example/workflows/x',
      'https://evil-logic.azure.com.example/x',
      'https://outlook.office.com/webhook/x',
      'https://xlogic.azure.com/workflows/x',
      'http://prod-12.westus.logic.azure.com/workflows/x',
      'https://10.0.0.5/hook',
      'https://user:pw@prod-1.westus.logic.azure.com/workflows/x',
      'not a url',
    ]) {
      const bad = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook } } });
      expect(bad.status, webhook).toBe(400);
      expect(bad.body.error.issues[0].path, webhook).toBe('teams.webhook');
    }
    const other = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: 'https://hooks.example.com/workflows/x' } } });
    expect(other.body.error.issues[0].message).toMatch(/\*\.logic\.azure\.com.*\*\.environment\.api\.powerplatform\.com/);
    // Unknown fields are named, not dropped.
    const extra = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: WORKFLOWS_URL, channel: 'x' } } });
    expect(extra.status).toBe(400);
    // null turns Teams off; the others stay.
    const off = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: null } });
    expect(off.body).toMatchObject({ teams: null, email: { recipients: ['ops@acme.com'] } });
  });
});

describe('Teams cards', () => {
  it('an approval posts one valid Adaptive Card in the Workflows envelope: the release, its digest, the diff summary and a button to the signed review link; a 202 is recorded as accepted', async () => {
    const { tenant, u } = await tenantWithLine();
    const hook = wf.hook(`ok${tenant.slice(-6)}`);
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: hook } } })).status).toBe(200);
    const p = await waitingPromotion(u);
    const [post] = await postsFor(p.id);
    expect(post!.path).toContain('sig=SECRETsig');
    expect(post!.headers['content-type']).toMatch(/^application\/json/);
    expect(workflowsEnvelopeProblems(post!.body)).toEqual([]);
    const card = post!.body.attachments[0].content;
    const all = JSON.stringify(card);
    expect(all).toContain('needs your approval');
    expect(all).toContain(p.releaseDigest);
    expect(all).toContain('config +2 ~0 −0');
    expect(all).toContain('db.password');
    expect(all).toContain('raise the timeout');
    // No secret in a card: neither the config value nor the webhook's signature.
    expect(all).not.toContain('s3cr3t');
    expect(all).not.toContain('SECRETsig');
    const open = card.actions.find((a: any) => a.type === 'Action.OpenUrl');
    expect(open.title).toMatch(/Review/);
    expect(open.url).toMatch(/\/review\//);
    const page = await fetch(open.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('production');
    const ns = await deliveriesOf(u, p.id, (x) => x.length > 0);
    expect(ns.map((n) => `${n.target}:${n.kind}:${n.status}`)).toEqual(['workflows:approval-required:accepted']);
  });

  it('text a tenant controls cannot inject markdown links or run over: it goes only into plain text runs, bounded', async () => {
    const { u } = await tenantWithLine();
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: wf.hook('inject') } } })).status).toBe(200);
    const notes = `[Approve here](https://evil.example/steal) **urgent** <at>everyone</at> ${'x'.repeat(1850)}`;
    const p = await waitingPromotion(u, notes);
    const [post] = await postsFor(p.id);
    expect(workflowsEnvelopeProblems(post!.body)).toEqual([]);
    const shown = texts(post!.body.attachments[0].content.body);
    const carrying = shown.filter((x) => x.text.includes('evil.example'));
    expect(carrying.length).toBeGreaterThan(0);
    // Markdown is read in a TextBlock and a Fact; a TextRun shows its text as it is.
    for (const x of carrying) expect(x.type).toBe('TextRun');
    for (const x of shown) expect(x.text.length, x.text.slice(0, 80)).toBeLessThanOrEqual(2000);
    expect(post!.body.attachments[0].content.actions.every((a: any) => !String(a.url).includes('evil.example'))).toBe(true);
  });
});

describe('the local Workflows stand-in (npm start)', () => {
  it('answers 202, keeps the card for /dev/outbox, and the notifier records it accepted', async () => {
    const { u } = await tenantWithLine();
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: `${t.url}/dev/teams/release-ops` } } })).status).toBe(200);
    const p = await waitingPromotion(u);
    let got;
    for (let i = 0; i < 400 && !got; i++) {
      got = t.stack.outbox.teams.find((x) => JSON.stringify(x.message).includes(p.id));
      if (!got) await new Promise((r) => setTimeout(r, 25));
    }
    expect(got!.hook).toBe('release-ops');
    expect(workflowsEnvelopeProblems(got!.message)).toEqual([]);
    const listed = (await (await fetch(`${t.url}/dev/outbox.json`)).json()) as { teams: unknown[] };
    expect(listed.teams.some((x: any) => JSON.stringify(x).includes(p.id))).toBe(true);
    expect((await fetch(`${t.url}/dev/outbox`)).status).toBe(200);
    expect((await deliveriesOf(u, p.id, (x) => x.length > 0)).map((n) => n.status)).toEqual(['accepted']);
    // Not a Workflows message: the stand-in refuses it as the trigger would.
    expect((await fetch(`${t.url}/dev/teams/release-ops`, { method: 'POST', body: '{"text":"hi"}' })).status).toBe(400);
  });
});

describe('Teams delivery', () => {
  it('failures reach the delivery log: a 5xx is retried as the other channels are (the event again), a 4xx is not', async () => {
    const { u } = await tenantWithLine();
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { teams: { webhook: wf.hook('flaky') } } })).status).toBe(200);
    wf.script.push(503);
    const p = await waitingPromotion(u);
    await postsFor(p.id, 2);
    const ns = await deliveriesOf(u, p.id, (x) => x.some((n) => n.status === 'accepted'));
    expect(ns.map((n) => n.status).sort()).toEqual(['accepted', 'failed']);
    expect(ns.find((n) => n.status === 'failed').error).toMatch(/HTTP 503/);
    expect(JSON.stringify(ns)).not.toContain('SECRETsig');

    // A 4xx (the flow was deleted, the signature is wrong): recorded failed, not sent again.
    const second = await tenantWithLine();
    expect((await t.call('PUT', '/api/v1/notifications', { token: second.u.admin, body: { teams: { webhook: wf.hook('gone') } } })).status).toBe(200);
    wf.script.push(404);
    const q = await waitingPromotion(second.u);
    const failed = await deliveriesOf(second.u, q.id, (x) => x.some((n) => n.status === 'failed'));
    expect(failed[0]).toMatchObject({ target: 'workflows', status: 'failed' });
    expect(failed[0].error).toMatch(/HTTP 404/);
    await t.stack.bus.idle();
    expect((await postsFor(q.id)).length).toBe(1);
  }, 30_000);
});

describe('Teams from the CLI', () => {
  it('notify set --teams-webhook sets it, notify get shows it masked, --no-teams turns it off; another host exits non-zero naming the field', async () => {
    const { u } = await tenantWithLine();
    const env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin };
    const cli = (...args: string[]) => cliWith(env, ...args);
    await cli('notify', 'set', '--teams-webhook', WORKFLOWS_URL, '--email', 'ops@acme.example');
    const got = (await cli('notify', 'get')).stdout;
    expect(got).toMatch(/teams:\s+https:\/\/prod-12\.westus\.logic\.azure\.com\/…/);
    expect(got).not.toContain('Zm9vYmFy');
    await expect(cli('notify', 'set', '--teams-webhook', 'https://hooks.example.com/workflows/x')).rejects.toMatchObject({
      stderr: expect.stringContaining('teams.webhook'),
    });
    await cli('notify', 'set', '--no-teams');
    expect((await cli('notify', 'get')).stdout).toMatch(/teams:\s+—/);
  }, 60_000);
});
