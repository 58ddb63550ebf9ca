import { createHmac, timingSafeEqual } from 'node:crypto';
import { approvalsLine, cut, listUpTo, MARK, whatLine, type NotificationView } from './view.ts';
import { gateSentence } from '../kernel/display.ts';

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

type Block = Record<string, unknown>;
/** A type alias, not an interface: it goes to channels that take a plain JSON record. */
export type SlackMessage = { channel?: string; text: string; blocks: Block[] };

const SEVERITY = { FAIL: 0, WARN: 1, PASS: 2, SKIPPED: 3 } as const;
const ACTING = new Set<NotificationView['kind']>(['approval-required', 'approval-reminder']);

/** Slack's escaping for mrkdwn text: &, <, >. */
export const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Escaped for mrkdwn and cut to `max` without splitting an entity. */
export function md(s: string, max: number): string {
  const whole = slackEscape(s);
  if (whole.length <= max) return whole;
  let out = '';
  for (const ch of s) {
    const e = slackEscape(ch);
    if (out.length + e.length > max - 1) break;
    out += e;
  }
  return `${out}…`;
}

const gateLine = (g: NotificationView['gates'][number]) => `${MARK[g.verdict]} ${md(gateSentence(g), 600)}`;

/** One line per gate; when they do not all fit, the failing ones first and a count of the rest. */
function gatesText(gates: NotificationView['gates'], max: number): string {
  const count = (verdict: keyof typeof MARK) => gates.filter((g) => g.verdict === verdict).length;
  const head = `*Gates* (${count('PASS')} passed, ${count('FAIL')} failed, ${count('WARN')} warned, ${count('SKIPPED')} skipped)`;
  const all = [head, ...gates.map(gateLine)].join('\n');
  if (all.length <= max) return all;
  const ordered = gates.map((g, i) => ({ g, i })).sort((a, b) => SEVERITY[a.g.verdict] - SEVERITY[b.g.verdict] || a.i - b.i);
  const lines = [head];
  let used = head.length;
  for (const { g } of ordered) {
    const line = gateLine(g);
    if (used + 1 + line.length > max - 40) break; // room for the "…and N more" line
    lines.push(line);
    used += 1 + line.length;
  }
  lines.push(`…and ${gates.length - (lines.length - 1)} more`);
  return lines.join('\n');
}

const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const field = (label: string, value: string) => mrkdwn(`*${label}*\n${value}`);

/** The Block Kit message for a notification; every user-supplied text is escaped and cut to Slack's limits. */
export function slackMessage(v: NotificationView, opts: { channel?: string; reviewUrl?: string; interactive?: boolean } = {}): SlackMessage {
  const L = BLOCK_KIT_LIMITS;
  const title = v.title.replace(/\s+/g, ' ').trim() || 'Stageline notification';
  const what = whatLine(v, md);
  const route = v.from || v.to ? `${md(v.from ?? '—', 300)} → ${md(v.to ?? '—', 300)}` : '';
  const approvals = v.approvals ? approvalsLine(v.approvals, md) : '';
  const fields = [
    field('What', what),
    ...(route ? [field('From → To', route)] : []),
    ...(v.requester ? [field('Requested by', md(v.requester, 1000))] : []),
    ...(v.expiresAt ? [field('Expires', md(v.expiresAt, 100))] : []),
  ];
  const blocks: Block[] = [
    { type: 'header', text: plain(cut(title, L.headerText)) },
    { type: 'section', fields },
  ];
  if (v.notes) blocks.push({ type: 'section', text: mrkdwn(`*Notes*\n${md(v.notes, L.sectionText - 10)}`) });
  if (v.reason) blocks.push({ type: 'section', text: mrkdwn(`*Reason*\n${md(v.reason, L.sectionText - 10)}`) });
  if (v.gates.length) blocks.push({ type: 'section', text: mrkdwn(gatesText(v.gates, L.sectionText)) });
  if (v.approvals) {
    const groups = v.approvals.groups.length ? ` · approvers: ${listUpTo(v.approvals.groups, 600, md)}` : '';
    blocks.push({ type: 'context', elements: [mrkdwn(`Approvals: ${approvals}${groups}`)] });
  }
  const ref = [v.promotionId ? `Promotion ${md(v.promotionId, 200)}` : '', md(v.tenant, 100), md(v.at, 60)].filter(Boolean).join(' · ');
  blocks.push({ type: 'context', elements: [mrkdwn(ref || '—')] });

  const actions: Block[] = [];
  // A cut URL or value would be useless: a button whose target does not fit is left out.
  if (opts.reviewUrl && opts.reviewUrl.length <= L.buttonUrl) actions.push({ type: 'button', action_id: 'review', text: plain('Review'), url: opts.reviewUrl });
  // The value names the tenant, the promotion and the release the message shows: a press acts on that
  // release only (after a rebase the old message's buttons are refused, as an older review link is).
  const value = v.promotionId && v.releaseDigest ? `${v.tenant}:${v.promotionId}:${v.releaseDigest}` : '';
  if (opts.interactive && value && value.length <= L.buttonValue && ACTING.has(v.kind)) {
    actions.push({ type: 'button', action_id: 'approve', style: 'primary', text: plain('Approve'), value });
    actions.push({ type: 'button', action_id: 'reject', style: 'danger', text: plain('Reject'), value });
  }
  if (actions.length) blocks.push({ type: 'actions', elements: actions });

  // The fallback (notifications, screen readers): the headline facts, no markup beyond escaping.
  const text = [md(title, 300), what, route, v.requester ? `requested by ${md(v.requester, 300)}` : '', approvals ? `approvals: ${approvals}` : '']
    .filter(Boolean)
    .join(' · ');
  return { ...(opts.channel ? { channel: opts.channel } : {}), text, blocks };
}

/** Every violation of Slack's Block Kit limits in a message (empty when it is fine). */
export function checkBlockKit(m: { text?: unknown; blocks?: unknown }): string[] {
  const L = BLOCK_KIT_LIMITS;
  const out: string[] = [];
  const len = (x: unknown) => (typeof x === 'string' ? x.length : 0);
  const textOf = (x: unknown) => (x as { text?: unknown } | undefined)?.text;
  const within = (what: string, x: unknown, max: number) => {
    if (typeof x !== 'string' || !x.length) out.push(`${what}: text is missing or empty`);
    else if (x.length > max) out.push(`${what}: ${x.length} > ${max}`);
  };
  if (len(m.text) > L.text) out.push(`text: ${len(m.text)} > ${L.text}`);
  const blocks = Array.isArray(m.blocks) ? (m.blocks as Block[]) : [];
  if (blocks.length > L.blocks) out.push(`${blocks.length} blocks > ${L.blocks}`);
  blocks.forEach((b, i) => {
    const text = textOf(b.text);
    const elements = Array.isArray(b.elements) ? (b.elements as Block[]) : [];
    if (b.type === 'header') {
      if ((b.text as Block | undefined)?.type !== 'plain_text') out.push(`block ${i}: header text must be plain_text`);
      within(`block ${i} header`, text, L.headerText);
    } else if (b.type === 'section') {
      const fields = Array.isArray(b.fields) ? (b.fields as Block[]) : [];
      if (b.text !== undefined) within(`block ${i} section`, text, L.sectionText);
      if (fields.length > L.fields) out.push(`block ${i}: ${fields.length} fields > ${L.fields}`);
      fields.forEach((f, j) => within(`block ${i} field ${j}`, f.text, L.fieldText));
      if (b.text === undefined && !fields.length) out.push(`block ${i}: a section needs text or fields`);
    } else if (b.type === 'context') {
      if (!elements.length || elements.length > L.contextElements) out.push(`block ${i}: ${elements.length} context elements (1–${L.contextElements})`);
      elements.forEach((e, j) => within(`block ${i} element ${j}`, e.text, L.sectionText));
    } else if (b.type === 'actions') {
      if (!elements.length || elements.length > L.actionsElements) out.push(`block ${i}: ${elements.length} actions (1–${L.actionsElements})`);
      elements.forEach((e, j) => {
        const where = `block ${i} button ${j}`;
        within(`${where} text`, textOf(e.text), L.buttonText);
        if (len(e.url) > L.buttonUrl) out.push(`${where}: url ${len(e.url)} > ${L.buttonUrl}`);
        if (len(e.action_id) > L.actionId) out.push(`${where}: action_id ${len(e.action_id)} > ${L.actionId}`);
        if (len(e.value) > L.buttonValue) out.push(`${where}: value ${len(e.value)} > ${L.buttonValue}`);
      });
    }
  });
  return out;
}

/** Slack's request signing (v0): HMAC-SHA256 of `v0:<timestamp>:<body>`, within 5 minutes. */
export function verifySlackSignature(input: {
  signingSecret: string;
  timestamp: string;
  body: string;
  signature: string;
  now: Date;
}): { ok: true } | { ok: false; reason: string } {
  if (!/^\d{1,12}$/.test(input.timestamp ?? '')) return { ok: false, reason: 'no valid X-Slack-Request-Timestamp' };
  if (Math.abs(input.now.getTime() / 1000 - Number(input.timestamp)) > 300)
    return { ok: false, reason: 'the request timestamp is more than 5 minutes away (replay?)' };
  if (!input.signingSecret) return { ok: false, reason: 'no signing secret configured' };
  const expected = Buffer.from(`v0=${createHmac('sha256', input.signingSecret).update(`v0:${input.timestamp}:${input.body}`, 'utf8').digest('hex')}`);
  const given = Buffer.from(typeof input.signature === 'string' ? input.signature : '', 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'the X-Slack-Signature does not match' };
  return { ok: true };
}
