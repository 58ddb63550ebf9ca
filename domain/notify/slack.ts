import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NotificationView } from './view.ts';

/** Slack's documented Block Kit limits (what checkBlockKit enforces and slackMessage stays within). */
export const BLOCK_KIT_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonUrl: 3000,
  actionId: 255,
  buttonValue: 2000,
  text: 40000,
} as const;

const MARK = { PASS: '✓', FAIL: '✗', WARN: '!', SKIPPED: '–' } as const;

/** Slack's escaping for mrkdwn text: &, <, >. */
export const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

function what(v: NotificationView): string {
  if (v.subject.type === 'artifact') return `${v.subject.name} ${v.subject.version} (${short(v.subject.digest)})`;
  if (v.subject.type === 'config') {
    const s = v.subject;
    return `config +${s.added} ~${s.modified} −${s.removed}${s.firstKeys.length ? `: ${s.firstKeys.join(', ')}` : ''}`;
  }
  return '—';
}

type Block = Record<string, unknown>;

/** The Block Kit message for a notification; every text is escaped and cut to Slack's limits. */
export function slackMessage(v: NotificationView, opts: { channel?: string; reviewUrl?: string; interactive?: boolean } = {}): { channel?: string; text: string; blocks: Block[] } {
  const L = BLOCK_KIT_LIMITS;
  const md = (s: string, max: number) => cut(slackEscape(s), max);
  const fields: Block[] = [
    { type: 'mrkdwn', text: md(`*What*\n${what(v)}`, L.fieldText) },
    ...(v.from || v.to ? [{ type: 'mrkdwn', text: md(`*From → to*\n${v.from ?? '—'} → ${v.to ?? '—'}`, L.fieldText) }] : []),
    ...(v.requester ? [{ type: 'mrkdwn', text: md(`*Requested by*\n${v.requester}`, L.fieldText) }] : []),
    ...(v.expiresAt ? [{ type: 'mrkdwn', text: md(`*Approval window closes*\n${v.expiresAt}`, L.fieldText) }] : []),
  ];
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(v.title, L.headerText), emoji: true } },
    { type: 'section', fields: fields.slice(0, L.fields) },
  ];
  if (v.notes) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: md(`*Notes*\n${v.notes}`, L.sectionText) } });
  if (v.reason) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: md(`*Reason*\n${v.reason}`, L.sectionText) } });
  if (v.gates.length) {
    const lines = v.gates.map((g) => `${MARK[g.verdict]} *${g.gate}* ${g.verdict}${g.reason ? ` — ${g.reason}` : ''}`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: md(`*Gates*\n${lines.join('\n')}`, L.sectionText) } });
  }
  if (v.approvals) {
    const a = v.approvals;
    const given = a.given.length ? ` (${a.given.map((g) => g.by).join(', ')})` : '';
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: md(`Approvals: ${a.given.length} of ${a.required} given${given}, ${a.remaining} still needed · approvers: ${a.groups.join(', ')}`, L.sectionText) }] });
  }
  if (v.promotionId) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: md(`Promotion ${v.promotionId} · ${v.at}`, L.sectionText) }] });
  const actions: Block[] = [];
  if (opts.reviewUrl && opts.reviewUrl.length <= L.buttonUrl) actions.push({ type: 'button', action_id: 'review', text: { type: 'plain_text', text: 'Review' }, url: opts.reviewUrl });
  if (opts.interactive && v.promotionId && (v.kind === 'approval-required' || v.kind === 'approval-reminder')) {
    const value = cut(`${v.tenant}:${v.promotionId}`, L.buttonValue);
    actions.push({ type: 'button', action_id: 'approve', style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value });
    actions.push({ type: 'button', action_id: 'reject', style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value });
  }
  if (actions.length) blocks.push({ type: 'actions', elements: actions.slice(0, L.actionsElements) });
  const text = cut(`${v.title} — ${what(v)}`, L.text);
  return { ...(opts.channel ? { channel: opts.channel } : {}), text, blocks: blocks.slice(0, L.blocks) };
}

/** Every violation of Slack's Block Kit limits in a message (empty when it is fine). */
export function checkBlockKit(m: { text?: string; blocks?: Block[] }): string[] {
  const L = BLOCK_KIT_LIMITS;
  const out: string[] = [];
  const len = (x: unknown) => (typeof x === 'string' ? x.length : 0);
  if (len(m.text) > L.text) out.push(`text is ${len(m.text)} > ${L.text}`);
  const blocks = m.blocks ?? [];
  if (blocks.length > L.blocks) out.push(`${blocks.length} blocks > ${L.blocks}`);
  blocks.forEach((b, i) => {
    const text = (b.text as { text?: string } | undefined)?.text;
    if (b.type === 'header' && len(text) > L.headerText) out.push(`block ${i}: header text ${len(text)} > ${L.headerText}`);
    if (b.type === 'section') {
      if (len(text) > L.sectionText) out.push(`block ${i}: section text ${len(text)} > ${L.sectionText}`);
      const fields = (b.fields as { text?: string }[] | undefined) ?? [];
      if (fields.length > L.fields) out.push(`block ${i}: ${fields.length} fields > ${L.fields}`);
      fields.forEach((f, j) => len(f.text) > L.fieldText && out.push(`block ${i} field ${j}: ${len(f.text)} > ${L.fieldText}`));
      if (!text && !fields.length) out.push(`block ${i}: a section needs text or fields`);
    }
    const elements = (b.elements as Record<string, unknown>[] | undefined) ?? [];
    if (b.type === 'context') {
      if (elements.length > L.contextElements) out.push(`block ${i}: ${elements.length} context elements > ${L.contextElements}`);
      elements.forEach((e, j) => len(e.text) > L.sectionText && out.push(`block ${i} element ${j}: ${len(e.text)} > ${L.sectionText}`));
    }
    if (b.type === 'actions') {
      if (elements.length > L.actionsElements) out.push(`block ${i}: ${elements.length} actions > ${L.actionsElements}`);
      elements.forEach((e, j) => {
        const t = (e.text as { text?: string } | undefined)?.text;
        if (len(t) > L.buttonText) out.push(`block ${i} button ${j}: text ${len(t)} > ${L.buttonText}`);
        if (len(e.url) > L.buttonUrl) out.push(`block ${i} button ${j}: url ${len(e.url)} > ${L.buttonUrl}`);
        if (len(e.action_id) > L.actionId) out.push(`block ${i} button ${j}: action_id > ${L.actionId}`);
        if (len(e.value) > L.buttonValue) out.push(`block ${i} button ${j}: value > ${L.buttonValue}`);
      });
    }
  });
  return out;
}

/** Slack's request signing (v0): HMAC-SHA256 of `v0:<timestamp>:<body>`, within 5 minutes. */
export function verifySlackSignature(input: { signingSecret: string; timestamp: string; body: string; signature: string; now: Date }): { ok: true } | { ok: false; reason: string } {
  const ts = Number(input.timestamp);
  if (!Number.isInteger(ts)) return { ok: false, reason: 'no valid X-Slack-Request-Timestamp' };
  if (Math.abs(input.now.getTime() / 1000 - ts) > 300) return { ok: false, reason: 'the request timestamp is more than 5 minutes away (replay?)' };
  const expected = Buffer.from(`v0=${createHmac('sha256', input.signingSecret).update(`v0:${input.timestamp}:${input.body}`).digest('hex')}`);
  const given = Buffer.from(input.signature ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'the X-Slack-Signature does not match' };
  return { ok: true };
}
