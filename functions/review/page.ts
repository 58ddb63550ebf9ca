import { createHash } from 'node:crypto';
import { escapeHtml as esc } from '#domain/notify/email';
import { approvalsLine, MARK, type NotificationView } from '#domain/notify/view';
import { gateName } from '#domain/kernel/display';

/**
 * The signed-link review page: server-rendered, no JavaScript, no external
 * assets; the only inline code is the one <style> below, allowed by its hash
 * (so: no style="" attributes, no inline event handlers). Forms POST back to
 * the same URL with a per-page nonce.
 */
export const REVIEW_STYLE = `:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--mut:#57606a;--line:#d0d7de;--head:#f6f8fa;--ok:#1a7f37;--on-ok:#fff;--bad:#cf222e;--warn:#9a6700;--accent:#1f6feb}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mut:#9198a1;--line:#3d444d;--head:#161b22;--ok:#3fb950;--on-ok:#0d1117;--bad:#f85149;--warn:#d29922;--accent:#4493f8}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:46rem;margin:0 auto;padding:1rem}h1{font-size:1.35rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dt{color:var(--mut)}dd{margin:0;overflow-wrap:anywhere;white-space:pre-wrap}
.wrap{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}thead th{background:var(--head)}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}.PASS{color:var(--ok)}.FAIL{color:var(--bad);font-weight:700}.WARN{color:var(--warn);font-weight:700}.SKIPPED{color:var(--mut)}
.added{color:var(--ok)}.removed{color:var(--bad)}.modified{color:var(--warn)}.mut{color:var(--mut);font-size:.9rem}ul{padding-left:1.2rem}
form{margin:1rem 0;padding:1rem;border:1px solid var(--line);border-radius:8px}label{display:block;margin-bottom:.3rem}
textarea{width:100%;min-height:5rem;font:inherit;padding:.4rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
button{font:inherit;font-weight:600;padding:.55rem 1.2rem;border-radius:6px;border:1px solid var(--line);cursor:pointer;margin-top:.5rem;min-height:2.75rem}
.approve{background:var(--ok);color:var(--on-ok);border-color:var(--ok)}.reject{background:var(--bg);color:var(--bad);border-color:var(--bad)}
.box{padding:1rem;border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:8px;margin:1rem 0}.box.bad{border-left-color:var(--bad)}.box h1{margin-top:0}
:focus-visible{outline:2px solid var(--accent);outline-offset:2px}`;

const STYLE_HASH = `'sha256-${createHash('sha256').update(REVIEW_STYLE, 'utf8').digest('base64')}'`;

/** The page's Content-Security-Policy: nothing but its own <style> (by hash) and same-origin form posts. */
export function reviewCsp(): string {
  return ["default-src 'none'", `style-src ${STYLE_HASH}`, "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"].join('; ');
}

const doc = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="color-scheme" content="light dark"><meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"><title>${esc(title)} · Stageline</title><style>${REVIEW_STYLE}</style></head>
<body><main>${body}</main></body></html>`;

export interface DiffRow {
  key: string;
  kind: 'config' | 'flag';
  change: 'added' | 'modified' | 'removed';
  before?: string;
  after?: string;
}

export interface ReviewPolicy {
  requiredApprovers: number;
  approverGroups: string[];
  separationOfDuties: boolean;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

function facts(v: NotificationView): string {
  const rows: [string, string][] = [];
  const s = v.subject;
  if (s.type === 'artifact') rows.push(['Artifact', `${s.name} ${s.version}`]);
  if (s.type === 'bundle') rows.push(['Bundle', `${s.name}: ${s.members.join(', ')}`]);
  if (s.type === 'config') rows.push(['Change', `${s.added} added, ${s.modified} modified, ${s.removed} removed`]);
  if (v.from || v.to) rows.push(['From → To', `${v.from ?? '—'} → ${v.to ?? '—'}`]);
  if (v.requester) rows.push(['Requested by', v.requester]);
  if (v.notes) rows.push(['Notes', v.notes]);
  if (v.reason) rows.push(['Reason', v.reason]);
  if (v.expiresAt) rows.push(['Expires', v.expiresAt]);
  if (v.promotionId) rows.push(['Promotion', v.promotionId]);
  const dl = rows.map(([k, val]) => `<dt>${esc(k)}</dt><dd>${esc(val)}</dd>`).join('');
  const digest = s.type === 'artifact' || s.type === 'bundle' ? `<dt>Digest</dt><dd><code>${esc(s.digest)}</code></dd>` : '';
  return `<dl>${dl}${digest}</dl>`;
}

function changes(v: NotificationView, diff: DiffRow[] | undefined): string {
  if (diff?.length) {
    const row = (d: DiffRow) =>
      `<tr><td><code>${esc(d.key)}</code>${d.kind === 'flag' ? ' <span class="mut">flag</span>' : ''}</td><td class="${esc(d.change)}">${esc(d.change)}</td><td><code>${esc(d.before ?? '')}</code></td><td><code>${esc(d.after ?? '')}</code></td></tr>`;
    return `<h2>What changes</h2><div class="wrap"><table><thead><tr><th scope="col">Key</th><th scope="col">Change</th><th scope="col">Now</th><th scope="col">After</th></tr></thead><tbody>${diff.map(row).join('')}</tbody></table></div>`;
  }
  if (v.subject.type === 'config' && v.subject.firstKeys.length)
    return `<h2>What changes</h2><ul>${v.subject.firstKeys.map((k) => `<li><code>${esc(k)}</code></li>`).join('')}</ul>`;
  return '';
}

function gates(v: NotificationView): string {
  if (!v.gates.length) return '<h2>Gates</h2><p class="mut">No gates ran.</p>';
  const row = (g: NotificationView['gates'][number]) =>
    `<tr><td>${esc(gateName(g.gate))}</td><td class="${esc(g.verdict)}">${MARK[g.verdict] ?? ''} ${esc(g.verdict)}</td><td>${esc(g.reason)}</td></tr>`;
  return `<h2>Gates</h2><div class="wrap"><table><thead><tr><th scope="col">Gate</th><th scope="col">Verdict</th><th scope="col">Reason</th></tr></thead><tbody>${v.gates.map(row).join('')}</tbody></table></div>`;
}

function approvals(v: NotificationView, policy: ReviewPolicy): string {
  const a = v.approvals;
  const given = a?.given.length ? `<ul>${a.given.map((g) => `<li>${esc(g.by)} <span class="mut">${esc(g.at)}</span></li>`).join('')}</ul>` : '';
  const summary = a ? `<p>${esc(approvalsLine(a))}.</p>${given}` : '<p class="mut">No approvals recorded.</p>';
  const groups = policy.approverGroups.length ? policy.approverGroups.join(', ') : 'no group';
  const rule = `${plural(policy.requiredApprovers, 'approval')} from ${groups}${policy.separationOfDuties ? '; the requester cannot approve' : ''}`;
  return `<h2>Approvals</h2>${summary}<p class="mut">Policy: ${esc(rule)}.</p>`;
}

function forms(input: { approver: string; formAction: string; nonce: string }): string {
  const hidden = (action: string) => `<input type="hidden" name="nonce" value="${esc(input.nonce)}"><input type="hidden" name="action" value="${action}">`;
  return `<form method="post" action="${esc(input.formAction)}">${hidden('approve')}<p>You are approving as <b>${esc(input.approver)}</b>.</p><button class="approve" type="submit">Approve</button></form>
<form method="post" action="${esc(input.formAction)}">${hidden('reject')}<label for="reason">Reject — say why (required)</label><textarea id="reason" name="reason" required maxlength="1000"></textarea><button class="reject" type="submit">Reject</button></form>`;
}

/** The review page of one promotion; forms only when the link's holder may act now. */
export function reviewPage(input: {
  view: NotificationView;
  diff?: DiffRow[];
  policy: ReviewPolicy;
  approver: string;
  formAction: string;
  nonce: string;
  canAct: boolean;
  /** why it cannot act (shown instead of the forms) */
  notice?: { title: string; message: string; whatToDo: string };
}): string {
  const v = input.view;
  const n = input.notice;
  const act = input.canAct
    ? forms(input)
    : n
      ? `<div class="box bad"><h2>${esc(n.title)}</h2><p>${esc(n.message)}</p><p><b>What to do:</b> ${esc(n.whatToDo)}</p></div>`
      : '';
  return doc(
    v.title,
    `<h1>${esc(v.title)}</h1>${facts(v)}${changes(v, input.diff)}${gates(v)}${approvals(v, input.policy)}${act}<p class="mut">Opening this page changes nothing; only the buttons act.</p>`,
  );
}

/** Why a link cannot be used, and what to do instead. */
export function refusalPage(input: { title: string; message: string; whatToDo: string }): string {
  return doc(
    input.title,
    `<div class="box bad"><h1>${esc(input.title)}</h1><p>${esc(input.message)}</p><p><b>What to do:</b> ${esc(input.whatToDo)}</p></div>`,
  );
}

/** The outcome of an approve/reject post. */
export function resultPage(input: { title: string; message: string }): string {
  return doc(input.title, `<div class="box"><h1>${esc(input.title)}</h1><p>${esc(input.message)}</p></div>`);
}
