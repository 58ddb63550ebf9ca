import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emailMessage } from '../../domain/notify/email.ts';
import { DEFAULT_NOTIFICATION_KINDS } from '../../domain/notify/model.ts';
import { kindOf, NOTIFY_ON, promotionTitle } from '../../domain/notify/notifier.ts';
import { slackAction } from '../../domain/notify/slack-actions.ts';
import type { Deps, With } from '../../domain/ports.ts';
import { BLOCK_KIT_LIMITS, checkBlockKit, slackMessage, verifySlackSignature } from '../../domain/notify/slack.ts';
import type { NotificationView } from '../../domain/notify/view.ts';
import { refusalPage, resultPage, reviewCsp, reviewPage, REVIEW_STYLE } from '../../functions/review/page.ts';

// Slack's documented example ("Verifying requests from Slack"). The body's token is
// xyzz0WbapA4vBCDEFasx0q6G: that is the body the documented signature is computed over.
const EXAMPLE = {
  signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};
const at = (deltaSeconds: number) => new Date((Number(EXAMPLE.timestamp) + deltaSeconds) * 1000);

const view = (over: Partial<NotificationView> = {}): NotificationView => ({
  kind: 'approval-required',
  tenant: 'acme',
  promotionId: 'prm_01',
  releaseDigest: 'sha256:ab12',
  title: 'payments-api v1.2.3 → production needs your approval',
  subject: { type: 'artifact', name: 'payments-api', version: 'v1.2.3', digest: `sha256:${'ab12'.repeat(16)}` },
  from: 'staging',
  to: 'production',
  requester: 'bob@acme.example',
  notes: 'raise the timeout',
  gates: [
    { gate: 'tests', verdict: 'PASS', reason: '412 passed' },
    { gate: 'security_scan', verdict: 'FAIL', reason: '1 critical' },
  ],
  approvals: { given: [{ by: 'alice', at: '2026-11-22T12:05:00.000Z' }], required: 2, remaining: 1, groups: ['approvers'] },
  expiresAt: '2026-11-23T12:00:00.000Z',
  at: '2026-11-22T12:00:00.000Z',
  ...over,
});
const POLICY = { requiredApprovers: 2, approverGroups: ['approvers'], separationOfDuties: true };
const page = (over: Partial<Parameters<typeof reviewPage>[0]> = {}) =>
  reviewPage({ view: view(), policy: POLICY, approver: 'carol@acme.example', formAction: '/review/acme/tok', nonce: 'enc:v1:n', canAct: true, ...over });
const XSS = '<script>alert("x")</script>';
/** The markup's own tags with attribute values blanked (escaped text never holds "<", so every tag is real). */
const tags = (html: string) => [...html.matchAll(/<[^>]*>/g)].map((m) => m[0].replace(/="[^"]*"/g, '=""'));
const unsafe = (html: string, styleAttributes = false) =>
  tags(html).filter((t) => /^<\/?(script|img|iframe|link|object|embed)\b|\s(on[a-z]+|src)=/i.test(t) || (!styleAttributes && /\sstyle=/i.test(t)));

describe('verifySlackSignature', () => {
  it("accepts Slack's documented example within 5 minutes, either side", () => {
    for (const d of [0, 60, -60, 299, -300, 300]) expect(verifySlackSignature({ ...EXAMPLE, now: at(d) })).toEqual({ ok: true });
  });

  it('refuses a changed body', () => {
    const body = EXAMPLE.body.replace('xyzz0WbapA4vBCDEFasx0q6G', 'xyzz0WbapA4vBCDEEgc2kp5');
    expect(verifySlackSignature({ ...EXAMPLE, body, now: at(1) })).toEqual({ ok: false, reason: expect.stringContaining('does not match') });
    expect(verifySlackSignature({ ...EXAMPLE, body: `${EXAMPLE.body}&x=1`, now: at(1) }).ok).toBe(false);
  });

  it('refuses an old (or future) timestamp, even with a valid signature for it', () => {
    expect(verifySlackSignature({ ...EXAMPLE, now: at(301) })).toEqual({ ok: false, reason: expect.stringContaining('5 minutes') });
    expect(verifySlackSignature({ ...EXAMPLE, now: at(-301) }).ok).toBe(false);
    expect(verifySlackSignature({ ...EXAMPLE, timestamp: 'abc', now: at(0) }).ok).toBe(false);
    expect(verifySlackSignature({ ...EXAMPLE, timestamp: '', now: new Date(0) }).ok).toBe(false);
  });

  it('refuses a signature of the wrong length, a wrong one of the right length, and another secret', () => {
    expect(verifySlackSignature({ ...EXAMPLE, signature: 'v0=abc', now: at(1) }).ok).toBe(false);
    expect(verifySlackSignature({ ...EXAMPLE, signature: `${EXAMPLE.signature}00`, now: at(1) }).ok).toBe(false);
    expect(verifySlackSignature({ ...EXAMPLE, signature: '', now: at(1) }).ok).toBe(false);
    expect(verifySlackSignature({ ...EXAMPLE, signature: EXAMPLE.signature.replace(/.$/, '4'), now: at(1) }).ok).toBe(false);
    expect(verifySlackSignature({ ...EXAMPLE, signature: EXAMPLE.signature.replace('v0=', 'v1='), now: at(1) }).ok).toBe(false);
    expect(verifySlackSignature({ ...EXAMPLE, signingSecret: 'another', now: at(1) }).ok).toBe(false);
  });
});

describe('slackMessage', () => {
  it('renders header, facts, notes, gates, approvals and the three buttons', () => {
    const m = slackMessage(view(), { channel: '#ops', reviewUrl: 'https://s.example/review/acme/t', interactive: true });
    expect(m.channel).toBe('#ops');
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'payments-api v1.2.3 → production needs your approval', emoji: true } });
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('payments-api v1.2.3 (ab12ab12ab12)');
    expect(json).toContain('staging → production');
    expect(json).toContain('bob@acme.example');
    expect(json).toContain('2026-11-23T12:00:00.000Z');
    expect(json).toContain('✓ Tests passed: 412 passed');
    expect(json).toContain('✗ Security scan failed: 1 critical');
    expect(json).toContain('1 of 2 given (alice), 1 still needed');
    const actions = m.blocks.find((b) => b.type === 'actions') as { elements: Record<string, unknown>[] };
    expect(actions.elements.map((e) => [e.action_id, e.style, e.url ?? e.value])).toEqual([
      ['review', undefined, 'https://s.example/review/acme/t'],
      ['approve', 'primary', 'acme:prm_01:sha256:ab12'],
      ['reject', 'danger', 'acme:prm_01:sha256:ab12'],
    ]);
    expect(m.text).toContain('payments-api v1.2.3 → production needs your approval');
    expect(checkBlockKit(m)).toEqual([]);
  });

  it('shows config counts and first keys; no approve/reject unless interactive and waiting for approval', () => {
    const v = view({ kind: 'completed', subject: { type: 'config', added: 2, modified: 1, removed: 0, firstKeys: ['query.timeout', 'ai.model'] } });
    const m = slackMessage(v, { reviewUrl: 'https://s.example/r', interactive: true });
    expect(JSON.stringify(m.blocks)).toContain('config +2 ~1 −0: query.timeout, ai.model');
    expect((m.blocks.find((b) => b.type === 'actions') as { elements: { action_id: string }[] }).elements.map((e) => e.action_id)).toEqual(['review']);
    expect(slackMessage(view(), {}).blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(slackMessage(view(), { interactive: false, reviewUrl: 'https://s.example/r' }).blocks)).not.toContain('"approve"');
  });

  it("escapes &, < and > in mrkdwn (Slack's rules), so no mention or link can be injected", () => {
    const m = slackMessage(view({ notes: '<!channel> & <https://evil.example|click>', requester: '<@U123>' }));
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    expect(json).toContain('&lt;@U123&gt;');
    expect(json).not.toMatch(/<!channel>|<@U123>|<https:/);
  });

  it('truncates with "…": a 5000-char title and notes, 100 gates with long reasons, failing gates listed first', () => {
    const gates = Array.from({ length: 100 }, (_, i) => ({
      gate: `gate-${i}`,
      verdict: i === 97 ? ('FAIL' as const) : ('PASS' as const),
      reason: '&'.repeat(2000),
    }));
    const m = slackMessage(view({ title: 'T'.repeat(5000), notes: '<'.repeat(5000), gates }), { reviewUrl: 'https://s.example/r', interactive: true });
    expect(checkBlockKit(m)).toEqual([]);
    const header = (m.blocks[0] as { text: { text: string } }).text.text;
    expect(header).toHaveLength(BLOCK_KIT_LIMITS.headerText);
    expect(header.endsWith('…')).toBe(true);
    const texts = m.blocks.map((b) => (b as { text?: { text?: string } }).text?.text ?? '');
    const notes = texts.find((t) => t.startsWith('*Notes*'))!;
    expect(notes.endsWith('&lt;…')).toBe(true); // never a split entity
    const gatesText = texts.find((t) => t.startsWith('*Gates*'))!;
    expect(gatesText).toContain('99 passed, 1 failed');
    expect(gatesText.split('\n')[1]).toMatch(/^✗ Gate-97 failed: /);
    expect(gatesText).toMatch(/…and \d+ more$/);
  });

  it('leaves out a button whose URL would not fit rather than cut it', () => {
    const m = slackMessage(view(), { reviewUrl: `https://s.example/${'x'.repeat(3000)}` });
    expect(m.blocks.some((b) => b.type === 'actions')).toBe(false);
  });

  it('checkBlockKit reports every violation', () => {
    const long = (n: number) => 'x'.repeat(n);
    const problems = checkBlockKit({
      text: long(40001),
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: long(151) } },
        { type: 'section', text: { type: 'mrkdwn', text: long(3001) }, fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: long(2001) })) },
        { type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'x' })) },
        {
          type: 'actions',
          elements: [{ type: 'button', text: { type: 'plain_text', text: long(76) }, url: long(3001), action_id: long(256), value: long(2001) }],
        },
        ...Array.from({ length: 47 }, () => ({ type: 'divider' })),
      ],
    });
    for (const what of [
      'text:',
      '51 blocks',
      'header',
      'section',
      '11 fields',
      'field 10',
      '11 context elements',
      'button 0 text',
      'url',
      'action_id',
      'value',
    ]) {
      expect(
        problems.some((p) => p.includes(what)),
        what,
      ).toBe(true);
    }
    expect(checkBlockKit({ text: 'x', blocks: [{ type: 'header', text: { type: 'plain_text', text: '' } }] })).toHaveLength(1);
  });
});

// Strings that stress both length and escaping: any UTF-16 (lone surrogates too), or markup characters only.
const str = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength, unit: 'binary' }),
    fc.string({ maxLength, unit: fc.constantFrom('&', '<', '>', '*', '"', "'", '\n', '😀', 'a', ' ') }),
    fc.string({ maxLength }),
  );
const BIG = 5000;
const views: fc.Arbitrary<NotificationView> = fc.record(
  {
    kind: fc.constantFrom(
      'approval-required',
      'approval-reminder',
      'approved',
      'rejected',
      'expired',
      'completed',
      'failed',
      'rolled-back',
      'gate-failed',
      'break-glass',
      'wave-started',
      'wave-completed',
    ),
    tenant: str(BIG),
    promotionId: str(BIG),
    title: str(BIG),
    subject: fc.oneof(
      fc.record({ type: fc.constant('artifact' as const), name: str(BIG), version: str(BIG), digest: str(BIG) }),
      fc.record({
        type: fc.constant('config' as const),
        added: fc.nat(),
        modified: fc.nat(),
        removed: fc.nat(),
        firstKeys: fc.array(str(BIG), { maxLength: 60 }),
      }),
      fc.constant({ type: 'none' as const }),
    ),
    from: str(BIG),
    to: str(BIG),
    requester: str(BIG),
    notes: str(BIG),
    reason: str(BIG),
    gates: fc.array(fc.record({ gate: str(BIG), verdict: fc.constantFrom('PASS', 'FAIL', 'WARN', 'SKIPPED'), reason: str(BIG) }), { maxLength: 120 }),
    approvals: fc.record({
      given: fc.array(fc.record({ by: str(BIG), at: str(BIG) }), { maxLength: 60 }),
      required: fc.nat(),
      remaining: fc.nat(),
      groups: fc.array(str(BIG), { maxLength: 60 }),
    }),
    expiresAt: str(BIG),
    at: str(BIG),
  },
  { requiredKeys: ['kind', 'tenant', 'title', 'subject', 'gates', 'at'] },
);

describe('every generated view', () => {
  it('gives a Slack message within the Block Kit limits', () => {
    fc.assert(
      fc.property(views, fc.option(str(4000), { nil: undefined }), fc.boolean(), (v, path, interactive) => {
        const m = slackMessage(v, { channel: '#ops', reviewUrl: path === undefined ? undefined : `https://s.example/${path}`, interactive });
        expect(checkBlockKit(m)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('never puts an unescaped tag into the email or the review page', () => {
    fc.assert(
      fc.property(
        views,
        fc.array(
          fc.record({
            key: str(200),
            kind: fc.constantFrom('config' as const, 'flag' as const),
            change: fc.constantFrom('added' as const, 'modified' as const, 'removed' as const),
            before: str(200),
            after: str(200),
          }),
          { maxLength: 20 },
        ),
        (v, diff) => {
          const inject = { ...v, notes: `${v.notes ?? ''}${XSS}` };
          const mail = emailMessage(inject, { to: 'x@acme.example', reviewUrl: 'https://s.example/r' });
          const html = reviewPage({ view: inject, diff, policy: POLICY, approver: XSS, formAction: '/r', nonce: XSS, canAct: true });
          expect(unsafe(mail.html, true)).toEqual([]); // email: inline style="" is how mail clients take CSS
          expect(unsafe(html)).toEqual([]);
          for (const h of [mail.html, html]) {
            expect(h).not.toContain('<script');
            expect(h).toContain('&lt;script&gt;');
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('emailMessage', () => {
  it('carries the same facts as Slack in both parts, escaped, inline styles only', () => {
    const m = emailMessage(view({ notes: XSS }), { to: 'carol@acme.example', reviewUrl: 'https://s.example/review/acme/tok?a=1&b=2' });
    expect(m.to).toBe('carol@acme.example');
    expect(m.subject).toBe('payments-api v1.2.3 → production needs your approval');
    for (const part of [m.text, m.html]) {
      for (const fact of [
        'payments-api v1.2.3 (ab12ab12ab12)',
        'staging → production',
        'bob@acme.example',
        '2026-11-23T12:00:00.000Z',
        '1 of 2 given (alice), 1 still needed',
        '✗ Security scan failed: 1 critical',
      ])
        expect(part).toContain(fact);
    }
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(m.html).not.toMatch(/<link|<img|<script|<style|src=|url\(|@import/i);
    expect(m.html).toContain('href="https://s.example/review/acme/tok?a=1&amp;b=2"');
    expect(m.html).toContain('>Review and approve</a>');
    expect(m.text).toContain('\nhttps://s.example/review/acme/tok?a=1&b=2\n');
  });

  it('keeps the subject to one line and drops a non-http link', () => {
    const m = emailMessage(view({ kind: 'completed', title: 'done\r\nBcc: x@evil.example' }), { to: 'a@b.c', reviewUrl: 'javascript:alert(1)' });
    expect(m.subject).toBe('done Bcc: x@evil.example');
    expect(m.html).not.toContain('javascript:');
    expect(m.text).not.toContain('javascript:');
    expect(emailMessage(view({ kind: 'completed' }), { to: 'a@b.c', reviewUrl: 'https://s.example/r' }).html).toContain('>Review</a>');
  });
});

describe('review page', () => {
  it('shows the release, gates, approvals, policy and expiry, and two forms when the holder can act', () => {
    const html = page();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    for (const fact of [
      'payments-api v1.2.3',
      `sha256:${'ab12'.repeat(16)}`,
      'Security scan',
      '1 critical',
      '1 of 2 given (alice), 1 still needed',
      '2 approvals from approvers; the requester cannot approve',
      '2026-11-23T12:00:00.000Z',
    ]) {
      expect(html).toContain(fact);
    }
    expect(html.match(/<form method="post" action="\/review\/acme\/tok">/g)).toHaveLength(2);
    expect(html.match(/<input type="hidden" name="nonce" value="enc:v1:n">/g)).toHaveLength(2);
    expect(html).toContain('<input type="hidden" name="action" value="approve">');
    expect(html).toContain('<input type="hidden" name="action" value="reject">');
    expect(html).toMatch(/<textarea id="reason" name="reason" required/);
  });

  it('shows the diff with its (already masked) values', () => {
    const v = view({ subject: { type: 'config', added: 1, modified: 1, removed: 0, firstKeys: ['db.password', 'query.timeout'] } });
    const html = page({
      view: v,
      diff: [
        { key: 'db.password', kind: 'config', change: 'added', after: '••••' },
        { key: 'query.timeout', kind: 'config', change: 'modified', before: '120s', after: '<180s>' },
      ],
    });
    expect(html).toContain('db.password');
    expect(html).toContain('<code>120s</code>');
    expect(html).toContain('<code>&lt;180s&gt;</code>');
  });

  it('has no form without canAct, and says why when told', () => {
    expect(page({ canAct: false })).not.toContain('<form');
    const html = page({ canAct: false, notice: { title: 'View only', message: 'You requested this promotion.', whatToDo: `Ask another approver ${XSS}` } });
    expect(html).not.toContain('<form');
    expect(html).toContain('You requested this promotion.');
    expect(html).not.toContain('<script>');
  });

  it('escapes every interpolated value', () => {
    const html = page({
      view: view({
        title: XSS,
        notes: XSS,
        requester: XSS,
        reason: XSS,
        gates: [{ gate: XSS, verdict: 'WARN', reason: XSS }],
        approvals: { given: [{ by: XSS, at: XSS }], required: 2, remaining: 1, groups: [XSS] },
      }),
      policy: { ...POLICY, approverGroups: [XSS] },
      approver: XSS,
      formAction: '/r" onmouseover="x',
      nonce: 'n"><script>',
    });
    expect(html).not.toContain('<script>');
    expect(unsafe(html)).toEqual([]);
    expect(html).toContain('action="/r&quot; onmouseover=&quot;x"');
    expect(html).toContain('value="n&quot;&gt;&lt;script&gt;"');
  });

  it('has no script, no style="" attribute, no event handler and no external asset', () => {
    for (const html of [page(), page({ canAct: false }), refusalPage({ title: 't', message: 'm', whatToDo: 'w' }), resultPage({ title: 't', message: 'm' })]) {
      expect(html).not.toMatch(/<script|style="|\son[a-z]+=|<link|<img|src=|url\(|@import|https?:\/\//i);
      expect(html.match(/<style>/g)).toHaveLength(1);
    }
    expect(REVIEW_STYLE).toContain('prefers-color-scheme:dark');
    expect(REVIEW_STYLE).toContain('max-width');
  });

  it("CSP allows exactly the page's own style by its hash", () => {
    for (const html of [page(), refusalPage({ title: 't', message: 'm', whatToDo: 'w' }), resultPage({ title: 't', message: 'm' })]) {
      const embedded = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
      const hash = createHash('sha256').update(embedded, 'utf8').digest('base64');
      expect(reviewCsp()).toBe(`default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
    }
  });

  it('refusal and result pages escape their text', () => {
    expect(refusalPage({ title: XSS, message: XSS, whatToDo: XSS })).not.toContain('<script>');
    expect(resultPage({ title: 'Approved', message: XSS })).toContain('&lt;script&gt;');
  });
});

describe('Slack button replies', () => {
  it("go back through the press's response_url only when it is on Slack's own host", async () => {
    const secret = 'deployment-secret-0123456789';
    const store = { listNotificationSettings: async () => [{ slack: { teamId: 'T0A' } }], getSlackLink: async () => null };
    const app = { signingSecret: secret, depsOf: () => ({ store }) as unknown as With<'workflow' | 'directory' | 'scheduler'>, clock: () => new Date() };
    const pressWith = async (responseUrl: string) => {
      const body = `payload=${encodeURIComponent(JSON.stringify({ team: { id: 'T0A' }, user: { id: 'U0X' }, actions: [{ action_id: 'approve', value: 'acme:prm_1' }], response_url: responseUrl }))}`;
      const ts = String(Math.floor(Date.now() / 1000));
      return slackAction(app, { body, timestamp: ts, signature: `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}` });
    };
    const ok = await pressWith('https://hooks.slack.com/actions/T0A/1/abc');
    expect(ok).toMatchObject({ status: 200, responseUrl: 'https://hooks.slack.com/actions/T0A/1/abc', body: { text: expect.stringContaining('not linked') } });
    for (const url of [
      'http://hooks.slack.com/actions/x',
      'https://hooks.slack.com.evil.example/x',
      'https://169.254.169.254/latest',
      'https://user@hooks.slack.com/x',
      'https://hooks.slack.com:8443/x',
    ]) {
      expect((await pressWith(url)).responseUrl, url).toBeUndefined();
    }
  });
});

describe("a rollout's notifications", () => {
  const rollout = {
    wave: 2,
    waves: [
      { wave: 1, targets: ['canary'], bakeSeconds: 0, maxParallel: 1 },
      { wave: 2, targets: ['us-east-1', 'eu-west-1'], bakeSeconds: 0, maxParallel: 2 },
      { wave: 3, targets: ['cell-1', 'cell-2', 'cell-3'], bakeSeconds: 0, maxParallel: 3 },
    ],
  };

  it('a started wave is its own kind, opt-in like a completed one, and the notifier subscribes to its event', () => {
    expect(kindOf('Promotion Wave Started', { wave: 2 }, null)).toBe('wave-started');
    expect(kindOf('Promotion Wave Completed', { wave: 2 }, null)).toBe('wave-completed');
    expect(NOTIFY_ON).toContain('Promotion Wave Started');
    expect(DEFAULT_NOTIFICATION_KINDS).not.toContain('wave-started');
    expect(DEFAULT_NOTIFICATION_KINDS).not.toContain('wave-completed');
    expect(DEFAULT_NOTIFICATION_KINDS).toContain('rolled-back');
  });

  it('names the wave, how many there are and its targets when a wave starts or completes', () => {
    const detail = { wave: 2, targets: ['us-east-1', 'eu-west-1'] };
    expect(promotionTitle('wave-started', detail, { rollout })).toBe('started wave 2 of 3: us-east-1, eu-west-1');
    expect(promotionTitle('wave-completed', detail, { rollout })).toBe('completed wave 2 of 3 (us-east-1, eu-west-1)');
    // 100 targets fit a Slack header: the list ends in "+N more".
    const many = promotionTitle('wave-started', { wave: 1, targets: Array.from({ length: 100 }, (_, i) => `cell-${i}`) }, { rollout });
    expect(many).toMatch(/^started wave 1 of 3: cell-0, cell-1, .*\+\d+ more$/);
    expect(`payments-api v1.2.3 → production ${many}`.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.headerText);
  });

  it("a rolled-back rollout's notification names the wave it failed in and the targets put back, in the event's order", () => {
    const detail = { wave: 2, targets: ['us-east-1', 'eu-west-1', 'canary'], reason: 'monitor us-east-1-5xx in ALARM' };
    expect(promotionTitle('rolled-back', detail, { rollout })).toBe('was rolled back in wave 2: us-east-1, eu-west-1, canary put back');
    // A promotion rolled back without targets (one implicit target) keeps the short title.
    expect(promotionTitle('rolled-back', { reason: 'alarm' }, {})).toBe('was rolled back');
    expect(promotionTitle('completed', {}, { rollout })).toBe('is live');
  });

  it('says why a wave waited or waits (the event reason) in Slack and email', () => {
    const v = view({
      kind: 'wave-started',
      title: 'payments-api v1.2.3 → production started wave 2 of 3: us-east-1, eu-west-1',
      reason: 'it waited for a resume: halted by alice, resumed by carol (canary is fine)',
    });
    const slack = JSON.stringify(slackMessage(v, {}));
    expect(slack).toContain('started wave 2 of 3: us-east-1, eu-west-1');
    expect(slack).toContain('halted by alice, resumed by carol');
    const mail = emailMessage(v, { to: 'ops@acme.example' });
    expect(mail.subject).toBe('payments-api v1.2.3 → production started wave 2 of 3: us-east-1, eu-west-1');
    expect(mail.text).toContain('halted by alice, resumed by carol');
  });
});
