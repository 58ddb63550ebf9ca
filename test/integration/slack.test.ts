import { createHash, createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBlockKit } from '../../domain/notify/slack.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { localClient } from '../../local/dynamodb.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * From the attacker's side: a tenant admin could set the Slack signing secret and the
 * Slack-user → account map, then sign button presses as any approver. Now the secret is the
 * deployment's (never a tenant setting) and a Slack identity is linked only by the person.
 */
let t: TestStack;
let secret: string;

beforeAll(async () => {
  t = await startTestStack();
  secret = t.stack.slackSigningSecret;
});
afterAll(() => t.stop());

const sign = (body: string, key: string, ts = Math.floor(Date.now() / 1000)) => ({
  'x-slack-request-timestamp': String(ts),
  'x-slack-signature': `v0=${createHmac('sha256', key).update(`v0:${ts}:${body}`).digest('hex')}`,
  'content-type': 'application/x-www-form-urlencoded',
});
/** The release each promotion was requested with: a button's value names it. */
const releases = new Map<string, string>();
/** An Approve/Reject press as Slack posts it (block_actions), on the release the message showed. */
const press = (tenant: string, id: string, team: string, user: string, action = 'approve', release = releases.get(id)) =>
  `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', team: { id: team }, user: { id: user, team_id: team }, actions: [{ action_id: action, value: `${tenant}:${id}:${release}` }] }))}`;
/** The buttons of the first Slack message for a promotion (with `release`: for that release) in the stand-in webhook's outbox. */
async function buttonsFor(tenant: string, id: string, release?: string) {
  for (let i = 0; i < 200; i++) {
    const m = t.stack.outbox.slack.find((x) => JSON.stringify(x.message).includes(release ? `${tenant}:${id}:${release}` : `${tenant}:${id}`));
    if (m) return (m.message.blocks as any[]).find((b) => b.type === 'actions').elements as { action_id: string; value?: string }[];
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no Slack message with buttons for ${id} at ${release}`);
}
/** A press of a button as it is in a message. */
const pressButton = (button: { action_id: string; value?: string }, team: string, user: string) =>
  `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', team: { id: team }, user: { id: user, team_id: team }, actions: [{ action_id: button.action_id, value: button.value }] }))}`;
/** A slash command as Slack posts it. */
const command = (team: string, user: string, text: string) =>
  new URLSearchParams({
    token: 'legacy',
    team_id: team,
    team_domain: 'x',
    channel_id: 'C1',
    user_id: user,
    user_name: 'someone',
    command: '/stageline',
    text,
    response_url: 'https://hooks.slack.com/commands/x',
    trigger_id: '1.2.3',
    api_app_id: 'A1',
  }).toString();
const slack = (path: 'actions' | 'commands', body: string, key = secret) => t.call('POST', `/api/v1/slack/${path}`, { raw: body, headers: sign(body, key) });
const codeHash = (code: string) => createHash('sha256').update(code.split('.')[1]!.replace(/-/g, '').toUpperCase()).digest('hex');

/**
 * A tenant with Slack notifications from workspace `team`, a rule needing two approvers with
 * separation of duties, and a promotion into production the ADMIN requested, waiting for approval.
 */
async function setup(team: string) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const rule = await t.call('POST', '/api/v1/promotions/rules', {
    token: u.admin,
    body: {
      name: 'two',
      sourceEnvironment: 'staging',
      targetEnvironment: 'production',
      requiresApproval: true,
      requiredApprovers: 2,
      approverGroups: ['approver'],
      separationOfDuties: true,
    },
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  const put = await t.call('PUT', '/api/v1/notifications', {
    token: u.admin,
    body: { slack: { webhook: `${t.url}/dev/slack/ops`, channels: ['#ops'], teamId: team } },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'a', value: 1 } });
  const p = await t.call('POST', '/api/v1/promotions', { token: u.admin, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  releases.set(p.body.id, p.body.releaseDigest);
  await waitForToken(t, u.viewer, p.body.id);
  return { tenant, u, id: p.body.id as string };
}

/** The person gets a code with their token and sends it from Slack. */
async function link(token: string, team: string, user: string) {
  const code = await t.call('POST', '/api/v1/slack/link-codes', { token });
  expect(code.status, JSON.stringify(code.body)).toBe(201);
  const r = await slack('commands', command(team, user, `link ${code.body.code}`));
  expect(r.status).toBe(200);
  return { code: code.body.code as string, reply: r.body.text as string };
}

describe('a tenant admin cannot take over the Slack signing secret', () => {
  it('an admin can neither set a Slack signing secret nor map Slack users, and presses signed with her key are 401', async () => {
    const { tenant, u, id } = await setup('T0ACME');
    const adminKey = 'alice-chose-this-signing-secret';
    // The repro's PUT: her secret and a map naming carol and dave.
    const repro = await t.call('PUT', '/api/v1/environments/production/notifications', {
      token: u.admin,
      body: {
        slack: {
          webhook: `${t.url}/dev/slack/ops`,
          channels: ['#ops'],
          signingSecret: adminKey,
          users: { U0CAROL: `approver@${tenant}.test`, U0DAVE: `approver2@${tenant}.test` },
        },
      },
    });
    expect(repro.status).toBe(400);
    const issues = repro.body.error.issues.map((i: any) => `${i.path}: ${i.message}`).join('\n');
    expect(issues).toContain('slack.signingSecret: the Slack signing secret is deployment configuration now');
    expect(issues).toContain('slack.users: slack.users is gone');
    for (const path of ['/api/v1/notifications', '/api/v1/environments/production/notifications']) {
      const alone = await t.call('PUT', path, { token: u.admin, body: { slack: { webhook: `${t.url}/dev/slack/ops`, signingSecret: adminKey } } });
      expect(alone.status, path).toBe(400);
    }
    // Nothing about a secret or a map is shown, to anyone.
    const got = await t.call('GET', '/api/v1/notifications', { token: u.admin });
    expect(got.body.slack).toEqual({ webhook: expect.any(String), channels: ['#ops'], teamId: 'T0ACME' });

    // Her presses as carol and dave, signed with her key: refused before anything is read.
    for (const user of ['U0CAROL', 'U0DAVE']) {
      const body = press(tenant, id, 'T0ACME', user);
      const r = await slack('actions', body, adminKey);
      expect(r.status).toBe(401);
      expect(r.body.text).toContain('X-Slack-Signature does not match');
      // The per-tenant URL is gone: one Slack app per deployment has one request URL.
      expect((await t.call('POST', `/api/v1/slack/actions/${tenant}`, { raw: body, headers: sign(body, adminKey) })).status).toBe(404);
    }
    // Even a request Slack really signed (the deployment's key) from an unlinked Slack user does nothing.
    const unlinked = await slack('actions', press(tenant, id, 'T0ACME', 'U0CAROL'));
    expect(unlinked.status).toBe(200);
    expect(unlinked.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('not linked') });
    const stale = press(tenant, id, 'T0ACME', 'U0CAROL');
    expect((await t.call('POST', '/api/v1/slack/actions', { raw: stale, headers: sign(stale, secret, Math.floor(Date.now() / 1000) - 600) })).status).toBe(401);
    const detail = await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer });
    expect(detail.body).toMatchObject({ status: 'AWAITING_APPROVAL', approvals: { given: [] } });
  });
});

describe('linking a Slack account, by the person', () => {
  it('code (JWT) → /stageline link CODE (signed by the app) → the button approves as that person, recorded with the Slack identity and the link', async () => {
    const { tenant, u, id } = await setup('T0TEAM');
    // The message Slack got: Block Kit within Slack's limits, the view-only Review link, and (the workspace bound) the buttons.
    const message = await (async () => {
      for (let i = 0; i < 200; i++) {
        const m = t.stack.outbox.slack.find((x) => JSON.stringify(x.message).includes(`${tenant}:${id}:${releases.get(id)}`));
        if (m) return m.message;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no Slack message with buttons');
    })();
    expect(checkBlockKit(message)).toEqual([]);
    const buttons = (message.blocks as any[]).find((b) => b.type === 'actions').elements;
    expect(buttons.map((b: any) => b.action_id)).toEqual(['review', 'approve', 'reject']);
    expect((await fetch(buttons[0].url)).status).toBe(200);
    const carol = await link(u.approver, 'T0TEAM', 'U0CAROL');
    expect(carol.code).toMatch(new RegExp(`^${tenant}\\.[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`));
    expect(carol.reply).toContain(`acts as approver@${tenant}.test`);
    await link(u.approver2, 'T0TEAM', 'U0DAVE');
    // Each code works once.
    expect((await slack('commands', command('T0TEAM', 'U0CAROL', `link ${carol.code}`))).body.text).toContain('used already');

    // Who sees the links: an admin all, a person their own.
    const mine = await t.call('GET', '/api/v1/slack/links', { token: u.approver });
    expect(mine.body.items).toEqual([expect.objectContaining({ teamId: 'T0TEAM', userId: 'U0CAROL', email: `approver@${tenant}.test` })]);
    expect((await t.call('GET', '/api/v1/slack/links', { token: u.admin })).body.items.map((l: any) => l.userId).sort()).toEqual(['U0CAROL', 'U0DAVE']);
    expect((await t.call('GET', '/api/v1/slack/links', { token: u.viewer })).body.items).toEqual([]);
    const linkId = mine.body.items[0].id as string;

    // The linking is audited, as the person, with the Slack identity.
    await t.stack.stream.idle();
    const linked = await t.call('GET', `/api/v1/audit?entityType=slack-link&entityId=${encodeURIComponent('T0TEAM/U0CAROL')}`, { token: u.viewer });
    expect(linked.body.items).toEqual([
      expect.objectContaining({
        action: 'slack.link',
        actorName: `approver@${tenant}.test`,
        after: linkId,
        via: { channel: 'slack', teamId: 'T0TEAM', userId: 'U0CAROL', linkId },
      }),
    ]);

    // The buttons now act as carol and dave: two distinct accounts, the policy counts them as it counts the API's.
    const first = await slack('actions', press(tenant, id, 'T0TEAM', 'U0CAROL'));
    expect(first.body.text).toContain(`Approval recorded (approver@${tenant}.test)`);
    // Pressing again is the same person: counted once.
    await slack('actions', press(tenant, id, 'T0TEAM', 'U0CAROL'));
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).toBe('AWAITING_APPROVAL');
    await slack('actions', press(tenant, id, 'T0TEAM', 'U0DAVE'));
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    const decision = await t.call('GET', `/api/v1/promotions/${id}/decision`, { token: u.viewer });
    const daveLink = (await t.call('GET', '/api/v1/slack/links', { token: u.approver2 })).body.items[0].id;
    expect(decision.body.approvals).toHaveLength(2);
    expect(decision.body.approvals).toEqual(
      expect.arrayContaining([
        {
          by: `approver2@${tenant}.test`,
          digest: expect.any(String),
          counted: true,
          via: { channel: 'slack', teamId: 'T0TEAM', userId: 'U0DAVE', linkId: daveLink },
        },
        { by: `approver@${tenant}.test`, digest: expect.any(String), counted: true, via: { channel: 'slack', teamId: 'T0TEAM', userId: 'U0CAROL', linkId } },
      ]),
    );
    await t.stack.stream.idle();
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.viewer });
    const approvals = audit.body.items.filter((e: any) => e.action === 'promotion.approve' || e.action === 'promotion.approved');
    expect(approvals.map((e: any) => [e.actorName, e.via?.userId, e.via?.linkId]).sort()).toEqual(
      [
        [`approver2@${tenant}.test`, 'U0DAVE', daveLink],
        [`approver@${tenant}.test`, 'U0CAROL', linkId],
      ].sort(),
    );
  });

  it("refuses another tenant's code, a used or expired code, an unbound workspace, and presses from another workspace", async () => {
    const a = await setup('T0ALPHA');
    const b = await setup('T0BETA');
    // B's code sent from A's workspace: B never bound it; nothing is linked, the code is not spent.
    const bCode = (await t.call('POST', '/api/v1/slack/link-codes', { token: b.u.approver })).body.code as string;
    expect((await slack('commands', command('T0ALPHA', 'U0MALLORY', `link ${bCode}`))).body.text).toContain(`not bound to Stageline tenant '${b.tenant}'`);
    // A's secret part under B's name: not a code of B.
    const aCode = (await t.call('POST', '/api/v1/slack/link-codes', { token: a.u.approver })).body.code as string;
    expect((await slack('commands', command('T0BETA', 'U0MALLORY', `link ${b.tenant}.${aCode.split('.')[1]}`))).body.text).toContain('not valid');
    // A's code from a workspace nobody bound: refused, not spent.
    expect((await slack('commands', command('T0EVIL', 'U0MALLORY', `link ${aCode}`))).body.text).toContain('not bound');
    for (const tenant of [a.tenant, b.tenant]) {
      expect((await t.call('GET', '/api/v1/slack/links', { token: tenant === a.tenant ? a.u.admin : b.u.admin })).body.items).toEqual([]);
    }
    // Still good from its own workspace, once.
    expect((await slack('commands', command('T0ALPHA', 'U0CAROL', `link ${aCode}`))).body.text).toContain('Linked');
    expect((await slack('commands', command('T0ALPHA', 'U0OTHER', `link ${aCode}`))).body.text).toContain('used already');
    // B's code works in B's workspace.
    expect((await slack('commands', command('T0BETA', 'U0DAVE', `link ${bCode}`))).body.text).toContain('Linked');

    // Expired: past its 10 minutes.
    const late = (await t.call('POST', '/api/v1/slack/link-codes', { token: a.u.approver2 })).body.code as string;
    const db = localClient(t.stack.dynamo.endpoint);
    const k = keys.slackLinkCode(a.tenant, codeHash(late));
    await db.send(
      new UpdateItemCommand({
        TableName: t.stack.tableName,
        Key: { pk: { S: k.pk }, sk: { S: k.sk } },
        UpdateExpression: 'SET validUntil = :e',
        ExpressionAttributeValues: { ':e': { S: '2020-01-01T00:00:00.000Z' } },
      }),
    );
    db.destroy();
    expect((await slack('commands', command('T0ALPHA', 'U0DAVE', `link ${late}`))).body.text).toContain('has expired');
    // Not a code, or not the link verb: usage, nothing done.
    expect((await slack('commands', command('T0ALPHA', 'U0DAVE', 'link 1234'))).body.text).toContain('not a Stageline link code');
    expect((await slack('commands', command('T0ALPHA', 'U0DAVE', 'approve everything'))).body.text).toContain('Usage');
    // A slash command signed with any other key is 401.
    const forged = command('T0ALPHA', 'U0DAVE', `link ${late}`);
    expect((await slack('commands', forged, 'not-the-deployment-secret')).status).toBe(401);

    // A press from another workspace by the same user id carol linked in A: refused (and from B, whose link is B's).
    const other = await slack('actions', press(a.tenant, a.id, 'T0BETA', 'U0CAROL'));
    expect(other.body.text).toContain('not bound');
    expect((await slack('actions', press(a.tenant, a.id, 'T0ALPHA', 'U0DAVE'))).body.text).toContain('not linked');
    // B's linked dave pressing on A's promotion from B's workspace: A never bound B's workspace.
    expect((await slack('actions', press(a.tenant, a.id, 'T0BETA', 'U0DAVE'))).body.text).toContain('not bound');
    expect((await t.call('GET', `/api/v1/promotions/${a.id}`, { token: a.u.viewer })).body.approvals.given).toEqual([]);

    // The reply goes to a press's response_url only on Slack's own host: a signed payload cannot aim it elsewhere.
    const posted: string[] = [];
    const trap = createServer((req, res) => {
      posted.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    const aimed = JSON.parse(decodeURIComponent(press(a.tenant, a.id, 'T0ALPHA', 'U0DAVE').slice('payload='.length)));
    aimed.response_url = `http://127.0.0.1:${(trap.address() as { port: number }).port}/steal`;
    const r = await slack('actions', `payload=${encodeURIComponent(JSON.stringify(aimed))}`);
    expect(r.body.text).toContain('not linked');
    await new Promise((res) => trap.close(res));
    expect(posted).toEqual([]);
    // The Review button (a link) is only acknowledged.
    const review = JSON.parse(decodeURIComponent(press(a.tenant, a.id, 'T0ALPHA', 'U0DAVE', 'review').slice('payload='.length)));
    expect((await slack('actions', `payload=${encodeURIComponent(JSON.stringify(review))}`)).status).toBe(200);
  });

  it('an admin can unlink anyone but link no one else: her code links her own account, which separation of duties refuses on her promotion', async () => {
    const { tenant, u, id } = await setup('T0GAMMA');
    await link(u.approver, 'T0GAMMA', 'U0CAROL');
    // No way to ask for someone else's code.
    const forOther = await t.call('POST', '/api/v1/slack/link-codes', { token: u.admin, body: { email: `approver2@${tenant}.test`, account: 'approver2' } });
    expect(forOther.status).toBe(400);
    expect(JSON.stringify(forOther.body.error.issues)).toContain("always for the caller's own account");
    expect((await t.call('POST', '/api/v1/slack/link-codes', { token: u.viewer })).status).toBe(403);
    // Her own code, sent from a Slack user she puts forward as dave's: it links HER account.
    const hers = await link(u.admin, 'T0GAMMA', 'U0DAVE');
    expect(hers.reply).toContain(`acts as admin@${tenant}.test`);
    const self = await slack('actions', press(tenant, id, 'T0GAMMA', 'U0DAVE'));
    expect(self.body.text).toMatch(/Not allowed: You requested this promotion/);
    // A Slack user linked to carol cannot be taken over with another person's code.
    expect((await link(u.approver2, 'T0GAMMA', 'U0CAROL')).reply).toContain('linked to another Stageline account');

    // Unlinking: not someone else's (404 for a non-admin), not for a viewer (403); an admin may unlink anyone.
    expect((await t.call('DELETE', '/api/v1/slack/links/T0GAMMA/U0DAVE', { token: u.approver })).status).toBe(404);
    expect((await t.call('DELETE', '/api/v1/slack/links/T0GAMMA/U0CAROL', { token: u.viewer })).status).toBe(403);
    expect((await t.call('DELETE', '/api/v1/slack/links/T0GAMMA/U0CAROL', { token: u.admin })).status).toBe(204);
    expect((await t.call('DELETE', '/api/v1/slack/links/T0GAMMA/U0CAROL', { token: u.admin })).status).toBe(404);
    expect((await t.call('DELETE', '/api/v1/slack/links/T0GAMMA/not-a-user', { token: u.admin })).status).toBe(400);
    expect((await slack('actions', press(tenant, id, 'T0GAMMA', 'U0CAROL'))).body.text).toContain('not linked');
    expect((await t.call('GET', '/api/v1/slack/links', { token: u.approver })).body.items).toEqual([]);
    await t.stack.stream.idle();
    const audit = await t.call('GET', `/api/v1/audit?entityType=slack-link&entityId=${encodeURIComponent('T0GAMMA/U0CAROL')}`, { token: u.viewer });
    expect(audit.body.items.map((e: any) => [e.action, e.actorName])).toEqual([
      ['slack.unlink', `admin@${tenant}.test`],
      ['slack.link', `approver@${tenant}.test`],
    ]);
    // Another tenant's admin sees none of these links and cannot remove them.
    const eve = await t.users(t.tenant());
    expect((await t.call('GET', '/api/v1/slack/links', { token: eve.admin })).body.items).toEqual([]);
    expect((await t.call('DELETE', '/api/v1/slack/links/T0GAMMA/U0DAVE', { token: eve.admin })).status).toBe(404);
    // Her own link she can remove too (the owner).
    expect((await t.call('DELETE', '/api/v1/slack/links/T0GAMMA/U0DAVE', { token: u.admin })).status).toBe(204);
  });

  it("the button needs the approver role, as the API's route does: an account in the policy's group without it is refused, nothing recorded", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'release managers',
        sourceEnvironment: 'staging',
        targetEnvironment: 'production',
        requiresApproval: true,
        requiredApprovers: 1,
        approverGroups: ['release-managers'],
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect(
      (
        await t.call('PUT', '/api/v1/notifications', {
          token: u.admin,
          body: { slack: { webhook: `${t.url}/dev/slack/ops`, channels: ['#ops'], teamId: 'T0ROLE' } },
        })
      ).status,
    ).toBe(200);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'a', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    releases.set(p.body.id, p.body.releaseDigest);
    await waitForToken(t, u.viewer, p.body.id);
    // Linked while an approver; since then a deployer, still in the policy's group: the API answers 403 on the
    // route, and the button (which acts as the account as the directory knows it now) the same refusal.
    await link(await t.token({ sub: `mgr-${tenant}`, email: `mgr@${tenant}.test`, tenant, groups: ['approver', 'release-managers'] }), 'T0ROLE', 'U0MGR');
    const manager = await t.token({ sub: `mgr-${tenant}`, email: `mgr@${tenant}.test`, tenant, groups: ['deployer', 'release-managers'] });
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: manager, body: {} })).status).toBe(403);
    const refused = await slack('actions', press(tenant, p.body.id, 'T0ROLE', 'U0MGR'));
    expect(refused.body.text).toMatch(/Not allowed: .*'approver' role/);
    expect((await slack('actions', press(tenant, p.body.id, 'T0ROLE', 'U0MGR', 'reject'))).body.text).toMatch(/Not allowed: .*'approver' role/);
    const still = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
    expect(still.status).toBe('AWAITING_APPROVAL');
    expect(still.approvals.given).toEqual([]);
    // An approver in that group approves from Slack as before.
    const lead = await t.token({ sub: `lead-${tenant}`, email: `lead@${tenant}.test`, tenant, groups: ['approver', 'release-managers'] });
    await link(lead, 'T0ROLE', 'U0LEAD');
    expect((await slack('actions', press(tenant, p.body.id, 'T0ROLE', 'U0LEAD'))).body.text).toContain(`Approval recorded (lead@${tenant}.test)`);
  });

  it("a message's buttons decide on the release it showed: after a rebase onto other content they are refused, the new message's act", async () => {
    const { tenant, u, id } = await setup('T0REBASE');
    await link(u.approver, 'T0REBASE', 'U0CAROL');
    await link(u.approver2, 'T0REBASE', 'U0DAVE');
    const first = releases.get(id)!;
    const old = await buttonsFor(tenant, id);
    // The deployer puts more content in staging and rebases the waiting promotion onto it.
    expect(
      (
        await t.call('POST', '/api/v1/environments/staging/configs', {
          token: u.deployer,
          body: { key: 'payments.endpoint', value: 'https://deployer.example' },
        })
      ).status,
    ).toBe(201);
    const rebased = await t.call('POST', `/api/v1/promotions/${id}/rebase`, { token: u.deployer, body: {} });
    expect(rebased.status, JSON.stringify(rebased.body)).toBe(200);
    expect(rebased.body.status).toBe('AWAITING_APPROVAL');
    expect(rebased.body.releaseDigest).not.toBe(first);

    // Carol and dave press the buttons of the message they read (the earlier release): nothing is recorded, nothing rejected.
    for (const [button, user] of [
      [old.find((b) => b.action_id === 'approve')!, 'U0CAROL'],
      [old.find((b) => b.action_id === 'approve')!, 'U0DAVE'],
      [old.find((b) => b.action_id === 'reject')!, 'U0DAVE'],
    ] as const) {
      const r = await slack('actions', pressButton(button, 'T0REBASE', user));
      expect(r.body.text).toContain('earlier release');
    }
    const still = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    expect(still.status).toBe('AWAITING_APPROVAL');
    expect(still.approvals.given).toEqual([]);

    // The message sent for the rebased release carries its digest, and its buttons act.
    const fresh = await buttonsFor(tenant, id, rebased.body.releaseDigest);
    expect(
      (
        await slack(
          'actions',
          pressButton(
            fresh.find((b) => b.action_id === 'approve')!,
            'T0REBASE',
            'U0CAROL',
          ),
        )
      ).body.text,
    ).toContain(`Approval recorded (approver@${tenant}.test)`);
    const given = (await t.call('GET', `/api/v1/promotions/${id}/decision`, { token: u.viewer })).body.approvals;
    expect(given).toEqual([expect.objectContaining({ by: `approver@${tenant}.test`, digest: rebased.body.releaseDigest, counted: true })]);
  });
});

describe('role bindings scoped to environments reach the Slack buttons', () => {
  it('an approver bound in staging only is refused on a production promotion from Slack, naming the environment; nothing recorded', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
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
      body: { bindings: [{ group: 'payments', role: 'approver', environments: ['staging'] }] },
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    expect(
      (
        await t.call('PUT', '/api/v1/notifications', {
          token: u.admin,
          body: { slack: { webhook: `${t.url}/dev/slack/ops`, channels: ['#ops'], teamId: 'T0BIND' } },
        })
      ).status,
    ).toBe(200);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'a', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    releases.set(p.body.id, p.body.releaseDigest);
    await waitForToken(t, u.viewer, p.body.id);
    // A person whose only approver right is a binding in staging: links Slack (an approver somewhere), refused in production.
    const pay = await t.token({ sub: `pay-${tenant}`, email: `pay@${tenant}.test`, tenant, groups: ['payments'] });
    await link(pay, 'T0BIND', 'U0PAY');
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: pay, body: {} })).status).toBe(403);
    const refused = await slack('actions', press(tenant, p.body.id, 'T0BIND', 'U0PAY'));
    expect(refused.body.text).toMatch(/Not allowed: .*'approver' role in environment 'production'/);
    const still = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
    expect(still.status).toBe('AWAITING_APPROVAL');
    expect(still.approvals.given).toEqual([]);
    // Bound in production too: the same press is recorded.
    const more = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: { bindings: [{ group: 'payments', role: 'approver', environments: ['staging', 'production'] }] },
    });
    expect(more.status).toBe(200);
    expect((await slack('actions', press(tenant, p.body.id, 'T0BIND', 'U0PAY'))).body.text).toContain(`Approval recorded (pay@${tenant}.test)`);
  });
});
