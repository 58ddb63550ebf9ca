import type { NotificationView } from './view.ts';

export const escapeHtml = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const MARK = { PASS: '✓', FAIL: '✗', WARN: '!', SKIPPED: '–' } as const;
const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** The facts of a notification as label/value rows (shared by both email parts). */
function rows(v: NotificationView): [string, string][] {
  const out: [string, string][] = [];
  if (v.subject.type === 'artifact') out.push(['What', `${v.subject.name} ${v.subject.version} (digest ${short(v.subject.digest)})`]);
  if (v.subject.type === 'config') out.push(['What', `config: ${v.subject.added} added, ${v.subject.modified} changed, ${v.subject.removed} removed${v.subject.firstKeys.length ? ` (${v.subject.firstKeys.join(', ')})` : ''}`]);
  if (v.from || v.to) out.push(['From → to', `${v.from ?? '—'} → ${v.to ?? '—'}`]);
  if (v.requester) out.push(['Requested by', v.requester]);
  if (v.notes) out.push(['Notes', v.notes]);
  if (v.reason) out.push(['Reason', v.reason]);
  if (v.approvals) out.push(['Approvals', `${v.approvals.given.length} of ${v.approvals.required} given${v.approvals.given.length ? ` (${v.approvals.given.map((g) => g.by).join(', ')})` : ''}, ${v.approvals.remaining} still needed`]);
  if (v.expiresAt) out.push(['Approval window closes', v.expiresAt]);
  return out;
}

/** An email with HTML (inline styles only, nothing external) and plain-text parts carrying the same facts. */
export function emailMessage(v: NotificationView, opts: { to: string; reviewUrl?: string }): { to: string; subject: string; html: string; text: string } {
  const r = rows(v);
  const gates = v.gates.map((g) => `${MARK[g.verdict]} ${g.gate}: ${g.verdict}${g.reason ? ` — ${g.reason}` : ''}`);
  const acting = v.kind === 'approval-required' || v.kind === 'approval-reminder';
  const label = acting ? 'Review and approve' : 'Review';
  const text = [
    v.title,
    '',
    ...r.map(([k, val]) => `${k}: ${val}`),
    ...(gates.length ? ['', 'Gates:', ...gates.map((g) => `  ${g}`)] : []),
    ...(opts.reviewUrl ? ['', `${label}:`, opts.reviewUrl] : []),
    '',
    '— Stageline',
  ].join('\n');
  const td = 'padding:4px 12px 4px 0;vertical-align:top;';
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(v.title)}</title></head>
<body style="margin:0;padding:16px;font-family:system-ui,-apple-system,Segoe UI,sans-serif;font-size:15px;line-height:1.5;color:#1b1f24;background:#ffffff">
<div style="max-width:600px;margin:0 auto">
<h1 style="font-size:19px;margin:0 0 12px">${escapeHtml(v.title)}</h1>
<table role="presentation" style="border-collapse:collapse">${r.map(([k, val]) => `<tr><td style="${td}color:#57606a">${escapeHtml(k)}</td><td style="${td}">${escapeHtml(val)}</td></tr>`).join('')}</table>
${gates.length ? `<h2 style="font-size:16px;margin:16px 0 4px">Gates</h2><ul style="margin:0;padding-left:20px">${gates.map((g) => `<li>${escapeHtml(g)}</li>`).join('')}</ul>` : ''}
${opts.reviewUrl ? `<p style="margin:20px 0"><a href="${escapeHtml(opts.reviewUrl)}" style="display:inline-block;padding:10px 18px;background:#1f6feb;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">${label}</a></p><p style="font-size:12px;color:#57606a">The link is personal and works once${acting ? '; opening it does not approve anything' : ''}.</p>` : ''}
<p style="font-size:12px;color:#57606a">Stageline</p>
</div></body></html>`;
  return { to: opts.to, subject: v.title, html, text };
}
