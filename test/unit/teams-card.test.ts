import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_KINDS } from '../../domain/notify/model.ts';
import { TEAMS_CARD_LIMITS, teamsMessage, workflowsHostIssue } from '../../domain/notify/teams.ts';
import type { NotificationView } from '../../domain/notify/view.ts';
import { adaptiveCard14Problems, workflowsEnvelopeProblems } from '../support/workflows-standin.ts';

const view = (over: Partial<NotificationView> = {}): NotificationView => ({
  kind: 'approval-required',
  tenant: 'acme',
  promotionId: 'prm_0123456789abcdefghi',
  releaseDigest: `sha256:${'b'.repeat(64)}`,
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

/** Every (element type, text) on a card. */
function texts(node: unknown, out: { type: string; text: string }[] = []): { type: string; text: string }[] {
  if (Array.isArray(node)) node.forEach((n) => texts(n, out));
  else if (node && typeof node === 'object') {
    const n = node as Record<string, unknown>;
    if (typeof n.text === 'string') out.push({ type: String(n.type), text: n.text });
    for (const [k, v] of Object.entries(n)) if (k !== 'text' && typeof v === 'object') texts(v, out);
  }
  return out;
}

const REVIEW = 'https://stageline.example/review/acme/tok';
const subjects: NotificationView['subject'][] = [
  { type: 'artifact', name: 'payments-api', version: 'v1.2.3', digest: `sha256:${'a'.repeat(64)}` },
  { type: 'config', added: 2, modified: 1, removed: 0, firstKeys: ['db.url', 'query.timeout'] },
  { type: 'bundle', name: 'checkout', digest: `sha256:${'c'.repeat(64)}`, members: ['api v1', 'web v2'] },
  { type: 'none' },
];

/** A view with only what every notification has: no promotion, digest, route, requester, approvals, notes, reason or gates. */
const bare = (kind: NotificationView['kind'], subject: NotificationView['subject']): NotificationView => ({
  kind,
  tenant: 'acme',
  title: `production: ${kind} by ops@acme.example`,
  subject,
  gates: [],
  at: '2026-11-22T12:00:00.000Z',
});

/** The same with everything a card can show: notes, a reason, approvals given, and more gates than a card lists. */
const full = (kind: NotificationView['kind'], subject: NotificationView['subject']): NotificationView =>
  view({
    kind,
    subject,
    notes: 'raise the timeout',
    reason: 'wave 2 alarm: error rate above 5% on eu-1, eu-2',
    approvals: { given: [{ by: 'alice@acme.example', at: '2026-11-22T11:00:00.000Z' }], required: 2, remaining: 1, groups: ['approver', 'sre'] },
    gates: Array.from({ length: 30 }, (_, i) => ({ gate: `g${i}`, verdict: (['FAIL', 'WARN', 'PASS', 'SKIPPED'] as const)[i % 4]!, reason: `reason ${i}` })),
  });

describe('Teams cards', () => {
  it('every card Stageline can send (each kind × subject × bare or full × with or without the review link) is valid for the Adaptive Card 1.4 schema it declares', () => {
    const invalid: string[] = [];
    const problems = new Set<string>();
    let cards = 0;
    for (const kind of NOTIFICATION_KINDS)
      for (const subject of subjects)
        for (const make of [bare, full])
          for (const reviewUrl of [REVIEW, undefined]) {
            const found = adaptiveCard14Problems(teamsMessage(make(kind, subject), { reviewUrl }).attachments[0]!.content);
            cards++;
            if (found.length) invalid.push(`${kind} ${subject.type} ${make.name}${reviewUrl ? ' with link' : ''}`);
            found.forEach((p) => problems.add(p));
          }
    expect(cards).toBe(NOTIFICATION_KINDS.length * subjects.length * 4);
    expect({ invalid: invalid.length, problems: [...problems] }).toEqual({ invalid: 0, problems: [] });
  });

  it('the 1.4 schema refuses what 1.4 does not define (so the check above can fail)', () => {
    const card = teamsMessage(view(), { reviewUrl: REVIEW }).attachments[0]!.content as any;
    expect(adaptiveCard14Problems(card)).toEqual([]);
    const withRun = (extra: object) => ({ ...card, body: [{ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'x', ...extra }] }] });
    expect(adaptiveCard14Problems(withRun({ isVisible: true }))).not.toEqual([]);
    expect(adaptiveCard14Problems({ ...card, requires: {} })).not.toEqual([]);
    expect(adaptiveCard14Problems({ ...card, body: [{ type: 'Container', items: [], showBorder: false }] })).not.toEqual([]);
    expect(adaptiveCard14Problems({ ...card, actions: [{ type: 'Action.OpenUrl', url: REVIEW, mode: 'primary' }] })).not.toEqual([]);
    expect(adaptiveCard14Problems({ ...card, body: [{ type: 'Table', rows: [] }] })).not.toEqual([]);
    expect(adaptiveCard14Problems({ ...card, version: '1.5' })).not.toEqual([]);
  });

  it('every kind and subject makes a card valid against the Adaptive Card schema, in the Workflows envelope, with the review button', () => {
    for (const kind of NOTIFICATION_KINDS)
      for (const subject of subjects) {
        const m = teamsMessage(view({ kind, subject }), { reviewUrl: REVIEW });
        expect(workflowsEnvelopeProblems(m), `${kind} ${subject.type}`).toEqual([]);
        expect(m.attachments[0]!.content.actions).toEqual([expect.objectContaining({ type: 'Action.OpenUrl', url: REVIEW, title: 'Review' })]);
      }
  });

  it('carries the release digest and the diff summary; without a link, or with a link that is not http(s), no button', () => {
    const m = JSON.stringify(teamsMessage(view({ subject: subjects[1]! })));
    expect(m).toContain(`sha256:${'b'.repeat(64)}`);
    expect(m).toContain('config +2 ~1 −0: db.url, query.timeout');
    expect(teamsMessage(view()).attachments[0]!.content.actions).toBeUndefined();
    expect(teamsMessage(view(), { reviewUrl: 'javascript:alert(1)' }).attachments[0]!.content.actions).toBeUndefined();
  });

  it('any tenant text stays in bounded plain TextRuns (no markdown read), and the card stays valid', () => {
    const anyText = fc.string({ unit: 'grapheme', maxLength: 6000 });
    fc.assert(
      fc.property(anyText, anyText, anyText, fc.array(anyText, { maxLength: 60 }), (title, notes, reason, gateReasons) => {
        const v = view({ title, notes, reason, gates: gateReasons.map((r, i) => ({ gate: `g${i}`, verdict: i % 2 ? 'FAIL' : 'PASS', reason: r })) });
        const m = teamsMessage(v, { reviewUrl: REVIEW });
        expect(workflowsEnvelopeProblems(m)).toEqual([]);
        for (const x of texts(m.attachments[0]!.content.body)) {
          expect(x.text.length).toBeLessThanOrEqual(TEAMS_CARD_LIMITS.block);
          if (x.type !== 'TextRun') expect(x.text).toBe('Opening the review page does not approve anything.');
        }
        expect(JSON.stringify(m).length).toBeLessThan(27_000);
      }),
      { numRuns: 60 },
    );
  });
});

describe('Workflows webhook hosts', () => {
  it('takes the hosts Microsoft documents and loopback (the local stand-in), nothing else', () => {
    for (const ok of [
      'https://prod-12.westus.logic.azure.com:443/workflows/x/triggers/manual/paths/invoke?sig=y',
      'https://default1234.56.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/x?sig=y',
      'https://PROD-1.WESTUS.LOGIC.AZURE.COM./workflows/x',
      'http://127.0.0.1:8080/dev/teams/ops',
    ])
      expect(workflowsHostIssue(ok), ok).toBeNull();
    for (const bad of [
      'https://logic.azure.com/workflows/x',
      'https://xlogic.azure.com/workflows/x',
      'https://logic.azure.com.evil.example/x',
      'https://a..logic.azure.com/x',
      'https://environment.api.powerplatform.com/x',
      'http://prod-12.westus.logic.azure.com/workflows/x',
      'https://outlook.office.com/webhook/x',
      'https://hooks.slack.com/services/x',
      'nope',
    ])
      expect(workflowsHostIssue(bad), bad).not.toBeNull();
  });
});
