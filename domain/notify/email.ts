import { approvalsLine, cut, listUpTo, MARK, whatLine, type NotificationView } from './view.ts';
import { gateSentence } from '../kernel/display.ts';

/** HTML-escapes a value for text and (double-quoted) attribute positions. */
export const escapeHtml = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const ACTING = new Set<NotificationView['kind']>(['approval-required', 'approval-reminder']);

/** Only http(s) or same-site links go into a message (never javascript:, data:, …). */
export const safeUrl = (url: string | undefined) => (url && (/^https?:\/\//i.test(url) || /^\/(?!\/)/.test(url)) ? url : undefined);

/** The facts of a notification as label/value rows (the same facts as the Slack message). */
function rows(v: NotificationView): [string, string][] {
  const out: [string, string][] = [['What', whatLine(v)]];
  if (v.subject.type === 'artifact' || v.subject.type === 'bundle') out.push(['Digest', v.subject.digest]);
  if (v.from || v.to) out.push(['From → To', `${v.from ?? '—'} → ${v.to ?? '—'}`]);
  if (v.requester) out.push(['Requested by', v.requester]);
  if (v.expiresAt) out.push(['Expires', v.expiresAt]);
  if (v.notes) out.push(['Notes', v.notes]);
  if (v.reason) out.push(['Reason', v.reason]);
  if (v.approvals) {
    out.push(['Approvals', approvalsLine(v.approvals)]);
    if (v.approvals.groups.length) out.push(['Approvers', listUpTo(v.approvals.groups, 600)]);
  }
  if (v.promotionId) out.push(['Promotion', v.promotionId]);
  out.push(['Tenant', v.tenant], ['When', v.at]);
  return out;
}

const gateLine = (g: NotificationView['gates'][number]) => `${MARK[g.verdict]} ${gateSentence(g)}`;

const td = 'padding:4px 12px 4px 0;vertical-align:top;';
const MUTED = 'color:#57606a;';

/** An email with HTML (inline styles only, nothing external) and plain-text parts carrying the same facts. */
export function emailMessage(v: NotificationView, opts: { to: string; reviewUrl?: string }): { to: string; subject: string; html: string; text: string } {
  const r = rows(v);
  const gates = v.gates.map(gateLine);
  const acting = ACTING.has(v.kind);
  const label = acting ? 'Review and approve' : 'Review';
  const url = safeUrl(opts.reviewUrl);
  const note = `The link is personal${acting ? '; opening it does not approve anything' : ''}.`;
  // A header value: one line, bounded.
  const subject = cut(v.title.replace(/\s+/g, ' ').trim() || 'Stageline notification', 200);
  const text = [
    subject,
    '',
    ...r.map(([k, val]) => `${k}: ${val}`),
    ...(gates.length ? ['', 'Gates:', ...gates.map((g) => `  ${g}`)] : []),
    ...(url ? ['', `${label}:`, url, note] : []),
    '',
    '— Stageline',
    '',
  ].join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:16px;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:15px;line-height:1.5;color:#1b1f24;background:#ffffff">
<div style="max-width:600px;margin:0 auto">
<h1 style="font-size:19px;margin:0 0 12px">${escapeHtml(v.title)}</h1>
<table role="presentation" style="border-collapse:collapse">${r.map(([k, val]) => `<tr><td style="${td}${MUTED}white-space:nowrap">${escapeHtml(k)}</td><td style="${td}white-space:pre-wrap;word-break:break-word">${escapeHtml(val)}</td></tr>`).join('')}</table>
${gates.length ? `<h2 style="font-size:16px;margin:16px 0 4px">Gates</h2><ul style="margin:0;padding-left:20px">${gates.map((g) => `<li style="word-break:break-word">${escapeHtml(g)}</li>`).join('')}</ul>` : ''}
${url ? `<p style="margin:20px 0"><a href="${escapeHtml(url)}" style="display:inline-block;padding:10px 18px;background:#1f6feb;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">${label}</a></p><p style="font-size:12px;${MUTED}">${escapeHtml(note)}</p>` : ''}
<p style="font-size:12px;${MUTED}">Stageline</p>
</div></body></html>`;
  return { to: opts.to, subject, html, text };
}
