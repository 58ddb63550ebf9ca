import { createHash } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { keys } from '../../functions/adapters/keys.ts';
import { localClient } from '../../local/dynamodb.ts';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBlockKit } from '../../domain/notify/slack.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let slackHook: Server;
let slackUrl = '';
const slackPosts: { path: string; body: any }[] = [];

beforeAll(async () => {
  t = await startTestStack();
  // A real HTTP server standing in for Slack's incoming webhook.
  slackHook = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      slackPosts.push({ path: req.url ?? '', body: JSON.parse(data) });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => slackHook.listen(0, '127.0.0.1', () => r()));
  slackUrl = `http://127.0.0.1:${(slackHook.address() as { port: number }).port}/services/T000/B000/secretpath`;
});
afterAll(async () => {
  await t.stop();
  await new Promise((r) => slackHook.close(r));
});

/** A tenant whose staging → production promotion waits for an approver, with notifications to Slack and to the approvers by email. */
async function waitingPromotion(extra: Record<string, unknown> = {}) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const put = await t.call('PUT', '/api/v1/notifications', {
    token: u.admin,
    body: { slack: { webhook: slackUrl, channels: ['#platform-ops'], ...extra }, email: { recipients: [`ops@${tenant}.test`], approvers: true } },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'db.password', value: 's3cr3t' }, headers: {} });
  await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'query.timeout', value: '180s' } });
  const p = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'staging', targetEnvironment: 'production', notes: 'raise the timeout' },
  });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await waitForToken(t, u.viewer, p.body.id);
  await t.stack.stream.idle();
  const mailTo = async (to: string) => {
    for (let i = 0; i < 200; i++) {
      const m = t.stack.outbox.mails.find((x) => x.to === to && x.subject.includes('needs your approval') && x.text.includes(tenant));
      if (m) return m;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no approval email to ${to}`);
  };
  return { tenant, u, id: p.body.id as string, mailTo };
}

const linkIn = (text: string) => /(http:\/\/127\.0\.0\.1:\d+\/review\/[^\s]+)/.exec(text)![1]!;
const nonceIn = (html: string) => /name="nonce" value="([^"]+)"/.exec(html)?.[1];
// As a browser posts the review page's own form (the page sends no referrer: Sec-Fetch-Site says where it came from).
const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
  body: new URLSearchParams(fields).toString(),
});

describe('notification settings', () => {
  it('a partial or masked PUT loses nothing: {} changes nothing, a read-modify-write keeps the webhook, null turns a channel off', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const full = {
      slack: { webhook: slackUrl, channels: ['#ops'], teamId: 'T0ABC' },
      email: { recipients: ['ops@acme.com'], approvers: true },
      events: ['approval-required', 'failed'],
    };
    const set = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: full });
    expect(set.status).toBe(200);
    // {} changes nothing (no new version either).
    const empty = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: {} });
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({
      slack: { channels: ['#ops'], teamId: 'T0ABC' },
      email: { recipients: ['ops@acme.com'], approvers: true },
      events: ['approval-required', 'failed'],
      version: 1,
    });
    // Read, change one thing, write back what was read: the masked webhook keeps the real one.
    const read = (await t.call('GET', '/api/v1/notifications', { token: u.admin })).body;
    expect(read.slack.webhook).toMatch(/\/…$/);
    const back = await t.call('PUT', '/api/v1/notifications', {
      token: u.admin,
      body: { slack: { webhook: read.slack.webhook, channels: ['#ops', '#releases'], teamId: 'T0ABC' }, version: read.version },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body).toMatchObject({ slack: { channels: ['#ops', '#releases'] }, email: { recipients: ['ops@acme.com'] }, version: 2 });
    const { deps } = await import('../../functions/http/deps.ts');
    // Kept sealed in the store (only the Slack sender opens it): it is still the webhook sent first.
    const { openSealed } = await import('../../functions/adapters/secret-box.ts');
    expect(await openSealed((await deps().store.getNotificationSettings(tenant, 'tenant'))!.slack!.webhook)).toBe(slackUrl);
    // A masked value that is not this scope's webhook is refused, naming the field.
    const foreign = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { slack: { webhook: 'https://hooks.example.com/…', channels: [] } } });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.issues[0].path).toBe('slack.webhook');
    // null turns a channel off; the others stay.
    const off = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { slack: null } });
    expect(off.body).toMatchObject({ slack: null, email: { recipients: ['ops@acme.com'] }, events: ['approval-required', 'failed'], version: 3 });
    // A stale version is refused.
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: null, version: 1 } })).status).toBe(409);
  });

  it("accept seed 003's shape, never show the webhook's secret path, and refuse a webhook we must not call", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const body = { slack: { webhook: slackUrl, channels: ['#platform-ops'] }, email: { recipients: ['ops@acme.com'] } };
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.deployer, body })).status).toBe(403);
    const put = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body });
    expect(put.body).toMatchObject({
      scope: 'tenant',
      slack: { channels: ['#platform-ops'] },
      email: { recipients: ['ops@acme.com'], approvers: false },
      version: 1,
    });
    const got = await t.call('GET', '/api/v1/notifications', { token: u.viewer });
    expect(JSON.stringify(got.body)).not.toContain('secretpath');
    for (const webhook of ['http://169.254.169.254/latest/meta-data', 'https://10.0.0.5/hook', 'ftp://hooks.slack.com/x', 'not a url']) {
      const bad = await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { slack: { webhook } } });
      expect(bad.status, webhook).toBe(400);
      expect(JSON.stringify(bad.body.error)).toContain('webhook');
    }
    expect((await t.call('PUT', '/api/v1/environments/nowhere/notifications', { token: u.admin, body })).status).toBe(404);
    expect(
      (await t.call('PUT', '/api/v1/environments/production/notifications', { token: u.admin, body: { email: { recipients: ['oncall@acme.com'] } } })).body,
    ).toMatchObject({ scope: 'production' });
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { ...body, version: 7 } })).status).toBe(409);
    // Another tenant sees only its own (empty) settings.
    const other = await t.users(t.tenant());
    expect((await t.call('GET', '/api/v1/notifications', { token: other.viewer })).body).toMatchObject({ slack: null, email: null, version: 0 });
  });
});

describe('approval notifications', () => {
  it('Slack gets a Block Kit message within its limits; each eligible approver gets a personal link; the promotion lists the deliveries', async () => {
    const { tenant, u, id, mailTo } = await waitingPromotion();
    const approverMail = await mailTo(`approver@${tenant}.test`);
    expect(approverMail.text).toContain('production');
    expect(approverMail.html).toContain('Review and approve');
    // The requester (deployer) is not an approver: ops gets a link to look, not act.
    const ops = await mailTo(`ops@${tenant}.test`);
    const post = await (async () => {
      for (let i = 0; i < 200; i++) {
        const p = slackPosts.find((x) => JSON.stringify(x.body).includes(id));
        if (p) return p;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no Slack post');
    })();
    expect(post.path).toBe('/services/T000/B000/secretpath');
    expect(post.body.channel).toBe('#platform-ops');
    expect(checkBlockKit(post.body)).toEqual([]);
    expect(JSON.stringify(post.body.blocks)).toContain('raise the timeout');
    const detail = await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer });
    expect(detail.body.notifications.map((n: any) => `${n.channel}:${n.target}:${n.status}`).sort()).toEqual(
      expect.arrayContaining([`email:approver@${tenant}.test:sent`, `email:ops@${tenant}.test:sent`, 'slack:#platform-ops:sent']),
    );
    // The ops link shows the page but has no form.
    const view = await fetch(linkIn(ops.text));
    expect(view.status).toBe(200);
    expect(await view.text()).not.toContain('<form');
  });

  it('the review page never acts on GET; its form approves once through the API path; the link is then spent', async () => {
    const { tenant, u, id, mailTo } = await waitingPromotion();
    const link = linkIn((await mailTo(`approver@${tenant}.test`)).text);
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; style-src 'sha256-/);
    const html = await page.text();
    expect(html).toContain('db.password');
    expect(html).not.toContain('s3cr3t');
    expect(html).toContain('masked');
    await fetch(link);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).toBe('AWAITING_APPROVAL');
    // Without the page's nonce (a cross-site form): refused.
    expect((await fetch(link, form({ action: 'approve' }))).status).toBe(403);
    const ok = await fetch(link, form({ action: 'approve', nonce: nonceIn(html)! }));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Approved');
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const again = await fetch(link, form({ action: 'approve', nonce: nonceIn(html)! }));
    expect(again.status).toBe(409);
    expect(await again.text()).toMatch(/already used|no longer waiting/);
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.viewer });
    expect(audit.body.items.find((e: any) => e.action === 'promotion.approved')).toMatchObject({
      actorName: `approver@${tenant}.test`,
      reason: 'approved from a signed link',
    });
  });

  it('refuses with a page that says why: unknown token, rejected with a reason, a release changed since, no longer eligible, expired', async () => {
    const { tenant, u, id, mailTo } = await waitingPromotion();
    const link = linkIn((await mailTo(`approver@${tenant}.test`)).text);
    const unknown = await fetch(link.replace(/[^/]{10}$/, 'AAAAAAAAAA'));
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('not valid');
    // approver2 is eligible too: reject needs a reason, then the promotion is no longer waiting.
    const link2 = linkIn((await mailTo(`approver2@${tenant}.test`)).text);
    const html2 = await (await fetch(link2)).text();
    expect((await fetch(link2, form({ action: 'reject', nonce: nonceIn(html2)! }))).status).toBe(400);
    const rejected = await fetch(link2, form({ action: 'reject', reason: 'not during the sale', nonce: nonceIn(html2)! }));
    expect(rejected.status).toBe(200);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body).toMatchObject({
      status: 'REJECTED',
      rejection: { reason: 'not during the sale' },
    });
    const late = await fetch(link);
    expect(await late.text()).toContain('no longer waiting');

    // A release changed since the link was sent (a config promotion rebased onto a newer snapshot).
    const second = await waitingPromotion();
    const old = linkIn((await second.mailTo(`approver@${second.tenant}.test`)).text);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: second.u.admin, body: { key: 'extra', value: 1 } });
    expect((await t.call('POST', `/api/v1/promotions/${second.id}/rebase`, { token: second.u.deployer, body: {} })).status).toBe(200);
    const stale = await fetch(old);
    expect(await stale.text()).toContain('older release');

    // No longer eligible: the approver left the approver group since the email.
    const third = await waitingPromotion();
    const mine = linkIn((await third.mailTo(`approver@${third.tenant}.test`)).text);
    t.stack.directory.add({ sub: `approver-${third.tenant}`, email: `approver@${third.tenant}.test`, tenant: third.tenant, groups: ['viewer'] });
    const html = await (await fetch(mine)).text();
    expect(html).toContain('no longer an eligible approver');
    expect(html).not.toContain('<form');

    // Expired: past its expiry (never later than the approval window) the link only explains.
    const other = linkIn((await third.mailTo(`approver2@${third.tenant}.test`)).text);
    const token = other.split('/').at(-1)!;
    const db = localClient(t.stack.dynamo.endpoint);
    await db.send(
      new UpdateItemCommand({
        TableName: t.stack.tableName,
        Key: { pk: { S: keys.reviewLink(third.tenant, createHash('sha256').update(token).digest('hex')).pk }, sk: { S: 'L' } },
        UpdateExpression: 'SET validUntil = :e',
        ExpressionAttributeValues: { ':e': { S: '2020-01-01T00:00:00.000Z' } },
      }),
    );
    db.destroy();
    const expired = await (await fetch(other)).text();
    expect(expired, expired.slice(expired.indexOf('<main>'))).toContain('has expired');
  });
});

describe('review links and roles', () => {
  it("a link acts only for an approver, as the API's route does: in the policy's group without the role, the form is refused (403 naming the role) and the link not spent", async () => {
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
        approverGroups: ['approver', 'release-managers'],
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect((await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [], approvers: true } } })).status).toBe(200);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'a', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    await waitForToken(t, u.viewer, p.body.id);
    await t.stack.stream.idle();
    let mail;
    for (let i = 0; i < 200 && !mail; i++) {
      mail = t.stack.outbox.mails.find((x) => x.to === `approver@${tenant}.test` && x.subject.includes('needs your approval'));
      if (!mail) await new Promise((r) => setTimeout(r, 25));
    }
    const link = linkIn(mail!.text);
    // Since the email, the approver lost the role but is still in a group the policy names.
    t.stack.directory.add({ sub: `approver-${tenant}`, email: `approver@${tenant}.test`, tenant, groups: ['viewer', 'release-managers'] });
    const html = await (await fetch(link)).text();
    const refused = await fetch(link, form({ action: 'approve', nonce: nonceIn(html)! }));
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/needs the (&#39;|&#x27;|')approver(&#39;|&#x27;|') role/);
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.approvals.given).toEqual([]);
    // The role back: the same link still works once.
    t.stack.directory.add({ sub: `approver-${tenant}`, email: `approver@${tenant}.test`, tenant, groups: ['approver'] });
    const again = await (await fetch(link)).text();
    const ok = await fetch(link, form({ action: 'approve', nonce: nonceIn(again)! }));
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  });
});

describe('reminders', () => {
  it('reminds the approvers shortly before the approval window closes, through the same outbox and notifier', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'short window',
        sourceEnvironment: 'staging',
        targetEnvironment: 'production',
        requiresApproval: true,
        requiredApprovers: 1,
        approverGroups: ['approver'],
        approvalExpirySeconds: 4,
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    await t.call('PUT', '/api/v1/notifications', { token: u.admin, body: { email: { recipients: [], approvers: true }, events: ['approval-reminder'] } });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.admin, body: { key: 'a', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    await waitForToken(t, u.viewer, p.body.id);
    const reminder = async () => {
      for (let i = 0; i < 400; i++) {
        const m = t.stack.outbox.mails.find((x) => x.to === `approver@${tenant}.test` && x.subject.includes('still needs your approval'));
        if (m) return m;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no reminder');
    };
    expect((await reminder()).text).toContain('/review/');
    // Only the kinds asked for: no approval-required email was sent.
    expect(
      t.stack.outbox.mails.filter((x) => x.to === `approver@${tenant}.test` && x.subject.includes('needs your approval') && !x.subject.includes('still')),
    ).toEqual([]);
  }, 20_000);
});

// Slack's Approve/Reject buttons and who a Slack user is: test/integration/slack.test.ts.
