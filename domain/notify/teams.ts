import { gateSentence } from '../kernel/display.ts';
import { safeUrl } from './email.ts';
import { approvalsLine, cut, listUpTo, MARK, whatLine, type NotificationView } from './view.ts';

/**
 * Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received", the replacement of the
 * retired Office 365 connectors): the hosts Microsoft documents for its trigger URLs. A URL on another host is
 * refused when it is saved; the URL's `sig` parameter is its secret.
 */
export const WORKFLOWS_HOST_SUFFIXES = ['.logic.azure.com', '.environment.api.powerplatform.com'] as const;
export const WORKFLOWS_HOSTS_TEXT = WORKFLOWS_HOST_SUFFIXES.map((s) => `*${s}`).join(' or ');

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/i;

/**
 * Why a URL is not a Workflows webhook Stageline may post to, or null when it is: https on a documented host (a name
 * under one of the suffixes, with at least one label before it), or, for the local stand-in, a loopback host (whether
 * loopback may be called is the deployment's rule, checked apart: only the local stack allows it).
 */
export function workflowsHostIssue(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  const host = u.hostname.toLowerCase().replace(/\.$/, '');
  if (LOOPBACK_HOST.test(host)) return null;
  if (u.protocol !== 'https:') return `must be an https Workflows webhook URL on ${WORKFLOWS_HOSTS_TEXT}`;
  const documented = WORKFLOWS_HOST_SUFFIXES.some((s) => host.endsWith(s) && host.length > s.length && !host.slice(0, -s.length).endsWith('.'));
  if (!documented)
    return `is on ${host}, not a host Microsoft documents for Workflows webhooks: use the URL of a "When a Teams webhook request is received" trigger, on ${WORKFLOWS_HOSTS_TEXT}`;
  return null;
}

/**
 * Bounds of what a card holds. Teams takes a message of about 28 KB; each piece a tenant controls is cut well within it
 * (a card that grew past Teams' limit would be refused whole).
 */
export const TEAMS_CARD_LIMITS = { title: 200, fact: 1000, block: 2000, gates: 20, url: 2048 } as const;

const ACTING = new Set<NotificationView['kind']>(['approval-required', 'approval-reminder']);

/**
 * The Adaptive Card 1.4 elements a card is made of, as the plain JSON that is posted: only properties the 1.4 schema
 * defines (a builder's object model adds its own, and properties of later versions, which a 1.4 card must not carry).
 */
interface TextRun {
  type: 'TextRun';
  text: string;
  weight?: 'Bolder';
  size?: 'Medium' | 'Large';
  isSubtle?: true;
}
interface RichTextBlock {
  type: 'RichTextBlock';
  inlines: TextRun[];
  spacing?: 'Small' | 'Medium';
  separator?: true;
}
interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap?: true;
  isSubtle?: true;
  size?: 'Small';
}
interface Container {
  type: 'Container';
  items: CardElement[];
}
type CardElement = TextBlock | RichTextBlock | Container;
interface OpenUrlAction {
  type: 'Action.OpenUrl';
  url: string;
  title: string;
}
export interface AdaptiveCard14 extends Record<string, unknown> {
  type: 'AdaptiveCard';
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  version: '1.4';
  fallbackText: string;
  body: CardElement[];
  actions?: OpenUrlAction[];
}

/**
 * Text a tenant controls goes into a TextRun: Adaptive Cards read markdown in a TextBlock and a Fact, never in a
 * TextRun, so a release name, a note or a reason cannot become a link or formatting. Cut to `max`, one line or many.
 */
const run = (text: string, max: number, opts: Omit<TextRun, 'type' | 'text'> = {}): TextRun => ({ type: 'TextRun', text: cut(text, max), ...opts });

const block = (inlines: TextRun[], opts: Omit<RichTextBlock, 'type' | 'inlines'> = {}): RichTextBlock => ({ type: 'RichTextBlock', inlines, ...opts });

/** A label we wrote and the tenant's value, on one line (a label/value row a FactSet would show, without its markdown). */
const row = (label: string, value: string, max: number = TEAMS_CARD_LIMITS.fact) =>
  block([run(`${label}: `, 40, { weight: 'Bolder' }), run(value, max)], { spacing: 'Small' });

/** A titled section: its heading and the tenant's text, under a separator. */
const section = (heading: string, text: string) =>
  block([run(`${heading}\n`, 20, { weight: 'Bolder' }), run(text, TEAMS_CARD_LIMITS.block)], { separator: true });

/** The envelope Workflows' trigger takes: a message with one attachment, an Adaptive Card. */
export interface TeamsMessage extends Record<string, unknown> {
  type: 'message';
  attachments: { contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard14 }[];
}

/**
 * The Adaptive Card (1.4, what Teams renders from a Workflows post) for a notification: the same facts as the Slack
 * message and the email (the release and its digest, the diff summary, the route, who asked, gates, approvals) and an
 * Action.OpenUrl to the signed review link. Every text a tenant controls is a bounded TextRun; no secret is on it
 * (the view holds none: config values never reach it, and the webhook is not passed here).
 */
export function teamsMessage(v: NotificationView, opts: { reviewUrl?: string } = {}): TeamsMessage {
  const L = TEAMS_CARD_LIMITS;
  const title = v.title.replace(/\s+/g, ' ').trim() || 'Stageline notification';
  const body: CardElement[] = [
    block([run(title, L.title, { weight: 'Bolder', size: 'Medium' })]),
    {
      type: 'Container',
      items: [
        row('What', whatLine(v)),
        ...(v.subject.type === 'artifact' || v.subject.type === 'bundle' ? [row('Digest', v.subject.digest, 200)] : []),
        ...(v.releaseDigest ? [row('Release', v.releaseDigest, 200)] : []),
        ...(v.from || v.to ? [row('From → To', `${v.from ?? '—'} → ${v.to ?? '—'}`, 600)] : []),
        ...(v.requester ? [row('Requested by', v.requester, 300)] : []),
        ...(v.expiresAt ? [row('Expires', v.expiresAt, 60)] : []),
        ...(v.approvals ? [row('Approvals', approvalsLine(v.approvals), 1200)] : []),
        ...(v.approvals?.groups.length ? [row('Approvers', listUpTo(v.approvals.groups, 600), 700)] : []),
      ],
    },
  ];
  if (v.notes) body.push(section('Notes', v.notes));
  if (v.reason) body.push(section('Reason', v.reason));
  if (v.gates.length) {
    // One line per gate, the failing ones first, within the block's bound; then a count of the rest.
    const order = { FAIL: 0, WARN: 1, PASS: 2, SKIPPED: 3 } as const;
    const lines: string[] = [];
    let used = 0;
    for (const g of [...v.gates].sort((a, b) => order[a.verdict] - order[b.verdict])) {
      const line = `${MARK[g.verdict]} ${cut(gateSentence(g), 300)}`;
      if (lines.length >= L.gates || used + line.length + 1 > L.block - 40) break;
      lines.push(line);
      used += line.length + 1;
    }
    if (lines.length < v.gates.length) lines.push(`…and ${v.gates.length - lines.length} more`);
    body.push(section('Gates', lines.join('\n')));
  }
  const ref = [v.promotionId ? `Promotion ${v.promotionId}` : '', v.tenant, v.at].filter(Boolean).join(' · ');
  body.push(block([run(ref, 400, { isSubtle: true })], { spacing: 'Medium' }));
  // Our own words, in a TextBlock: nothing here comes from a tenant.
  if (ACTING.has(v.kind) && opts.reviewUrl)
    body.push({ type: 'TextBlock', text: 'Opening the review page does not approve anything.', wrap: true, isSubtle: true, size: 'Small' });

  const content: AdaptiveCard14 = {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.4',
    fallbackText: cut(title, 300),
    body,
  };
  // The channel's view-only link (as Slack's); a link that is not http(s) or does not fit is left out rather than cut.
  const url = safeUrl(opts.reviewUrl);
  if (url && url.length <= L.url) content.actions = [{ type: 'Action.OpenUrl', url, title: 'Review' }];
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }] };
}
