import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emailMessage } from '../../domain/notify/email.ts';
import { checkBlockKit, slackMessage, verifySlackSignature } from '../../domain/notify/slack.ts';
import type { NotificationView } from '../../domain/notify/view.ts';
import { reviewCsp, reviewPage, REVIEW_STYLE } from '../../functions/review/page.ts';
import { createHash } from 'node:crypto';
import { evaluateGates } from '../../domain/promotion/terms/gate-verdicts.ts';
import { gateSentence, gatesBlocking } from '../../domain/kernel/display.ts';

// Slack's documented example (api.slack.com, "Verifying requests from Slack").
const SLACK_EXAMPLE = {
  signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};

const view = (over: Partial<NotificationView> = {}): NotificationView => ({
  kind: 'approval-required',
  tenant: 'acme',
  promotionId: 'prm_0123456789abcdefghi',
  title: 'payments-api v1.2.3 → production needs your approval',
  subject: { type: 'artifact', name: 'payments-api', version: 'v1.2.3', digest: `sha256:${'a'.repeat(64)}` },
  from: 'staging',
  to: 'production',
  requester: 'bob@acme.example',
  gates: [{ gate: 'tests', verdict: 'PASS', reason: '120 passed' }],
  approvals: { given: [], required: 1, remaining: 1, groups: ['approver'] },
  expiresAt: '2026-11-23T12:00:00.000Z',
  at: '2026-11-22T12:00:00.000Z',
  ...over,
});

describe('Slack', () => {
  it("verifies Slack's documented example, and refuses a changed body, an old timestamp or a wrong signature", () => {
    const now = new Date(Number(SLACK_EXAMPLE.timestamp) * 1000 + 60_000);
    expect(verifySlackSignature({ ...SLACK_EXAMPLE, now })).toEqual({ ok: true });
    expect(verifySlackSignature({ ...SLACK_EXAMPLE, body: SLACK_EXAMPLE.body + 'x', now }).ok).toBe(false);
    expect(verifySlackSignature({ ...SLACK_EXAMPLE, now: new Date(Number(SLACK_EXAMPLE.timestamp) * 1000 + 301_000) })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('5 minutes'),
    });
    expect(verifySlackSignature({ ...SLACK_EXAMPLE, signature: 'v0=abc', now }).ok).toBe(false);
  });

  it('every message stays within the Block Kit limits, whatever the view holds', () => {
    const text = fc.string({ maxLength: 5000 });
    fc.assert(
      fc.property(
        text,
        text,
        text,
        fc.array(
          fc.record({
            gate: fc.string({ maxLength: 300 }),
            verdict: fc.constantFrom('PASS', 'FAIL', 'WARN', 'SKIPPED'),
            reason: fc.string({ maxLength: 2000 }),
          }),
          { maxLength: 120 },
        ),
        fc.array(fc.record({ by: fc.string({ maxLength: 300 }), at: fc.string({ maxLength: 30 }) }), { maxLength: 60 }),
        fc.string({ maxLength: 4000 }),
        (title, notes, reason, gates, given, url) => {
          const v = view({
            title,
            notes,
            reason,
            gates: gates as NotificationView['gates'],
            approvals: { given, required: 3, remaining: 2, groups: ['approver', 'x'.repeat(500)] },
          });
          const m = slackMessage(v, { reviewUrl: `https://x.example/${url}`, interactive: true, channel: '#ops' });
          expect(checkBlockKit(m)).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('escapes mrkdwn control characters', () => {
    const m = slackMessage(view({ notes: '<!channel> & <https://evil.example|click>' }));
    const notes = JSON.stringify(m.blocks);
    expect(notes).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
  });
});

describe('email and the review page', () => {
  it('escape every value, keep to inline styles, and carry the link in both parts', () => {
    const m = emailMessage(view({ notes: '<script>alert(1)</script>' }), { to: 'carol@acme.example', reviewUrl: 'https://s.example/review/acme/tok' });
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&lt;script&gt;');
    expect(m.html).not.toMatch(/<link|<img|src=/);
    expect(m.text).toContain('\nhttps://s.example/review/acme/tok\n');
    const page = reviewPage({
      view: view({ notes: '<script>x</script>' }),
      policy: { requiredApprovers: 1, approverGroups: ['approver'], separationOfDuties: true },
      approver: 'carol@acme.example',
      formAction: '/review/acme/tok',
      nonce: 'n"1',
      canAct: true,
    });
    expect(page).not.toContain('<script>');
    expect(page).toContain('value="n&quot;1"');
    expect(page.match(/<form method="post"/g)).toHaveLength(2);
    expect(
      reviewPage({
        view: view(),
        policy: { requiredApprovers: 1, approverGroups: ['approver'], separationOfDuties: true },
        approver: 'x',
        formAction: '/r',
        nonce: '',
        canAct: false,
      }),
    ).not.toContain('<form');
  });

  it("allows exactly the page's own style by its hash, and nothing else", () => {
    const hash = createHash('sha256').update(REVIEW_STYLE).digest('base64');
    expect(reviewCsp()).toBe(`default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
    const page = reviewPage({
      view: view(),
      policy: { requiredApprovers: 1, approverGroups: ['approver'], separationOfDuties: true },
      approver: 'x',
      formAction: '/r',
      nonce: 'n',
      canAct: true,
    });
    expect(page).toContain(`<style>${REVIEW_STYLE}</style>`);
    expect(page).not.toMatch(/style="|<script|\son[a-z]+=/);
  });
});

describe('gate reasons people read', () => {
  // Arrange: what the gates answer for a promotion with no evidence into a target that runs every gate.
  const gates = evaluateGates(
    { policy_compliance: true, tests: true, security_scan: true, cost_analysis: true, performance_baseline: true },
    [],
    { violations: [] },
    [{ name: 'change-board', verdict: 'ERROR', reason: 'it could not be reached (this gate fails closed)' }],
    new Set(['change-board']),
  );

  it('every gate says what happened in one sentence: its name, its verdict, then why (no field names, no nested parentheses)', () => {
    expect(gates.map(gateSentence)).toEqual([
      'Policy compliance passed: the release is exactly what was requested and moves forward along the line',
      'Tests failed: no test results were attached (this gate fails closed)',
      'Security scan failed: no scan evidence was attached (this gate fails closed)',
      'Cost analysis warns: no cost estimate was attached',
      'Performance baseline warns: no benchmark was attached',
      'Webhook gate change-board failed: it could not be reached (this gate fails closed)',
    ]);
    for (const g of gates) {
      expect(g.reason).not.toMatch(/_evidence|\(fails closed\)|\)\)/);
      expect(g.reason).toMatch(/^[a-z0-9']/); // it follows "<Gate> failed: "
    }
  });

  it('the same text reaches the status "why", email and Slack', () => {
    const blocked =
      'Tests failed: no test results were attached (this gate fails closed); Security scan failed: no scan evidence was attached (this gate fails closed); Webhook gate change-board failed: it could not be reached (this gate fails closed)';
    expect(gatesBlocking(gates)).toBe(blocked);
    const v = view({ kind: 'gate-failed', title: 'payments-api v1.2.3 → production: gates failed', reason: blocked, gates });
    const mail = emailMessage(v, { to: 'ops@acme.example' });
    expect(mail.text).toContain('✗ Security scan failed: no scan evidence was attached (this gate fails closed)');
    expect(mail.html).toContain('✗ Security scan failed: no scan evidence was attached (this gate fails closed)');
    const slack = JSON.stringify(slackMessage(v));
    expect(slack).toContain('✗ Security scan failed: no scan evidence was attached (this gate fails closed)');
    expect(slack).not.toContain('security_scan');
  });
});
