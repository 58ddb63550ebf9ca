import { createHash } from 'node:crypto';
import { escapeHtml as esc } from '#domain/notify/email';
import type { NotificationView } from '#domain/notify/view';

/**
 * The signed-link review page: server-rendered, no JavaScript, no external
 * assets; the only inline code is the one <style> below, allowed by its hash.
 * Forms POST back to the same URL with a per-page nonce.
 */
export const REVIEW_STYLE = `:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--mut:#57606a;--line:#d0d7de;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--accent:#1f6feb}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mut:#9198a1;--line:#3d444d;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--accent:#4493f8}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:46rem;margin:0 auto;padding:1rem}h1{font-size:1.35rem;margin:.5rem 0 1rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dt{color:var(--mut)}dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}.PASS{color:var(--ok)}.FAIL{color:var(--bad);font-weight:700}.WARN{color:var(--warn)}.SKIPPED{color:var(--mut)}
.added{color:var(--ok)}.removed{color:var(--bad)}.mut{color:var(--mut);font-size:.9rem}
form{margin:1rem 0;padding:1rem;border:1px solid var(--line);border-radius:8px}label{display:block;margin-bottom:.3rem}
textarea{width:100%;min-height:5rem;font:inherit;padding:.4rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
button{font:inherit;font-weight:600;padding:.55rem 1.2rem;border-radius:6px;border:1px solid var(--line);cursor:pointer;margin-top:.5rem}
.approve{background:var(--ok);color:#fff;border-color:var(--ok)}.reject{background:var(--bg);color:var(--bad);border-color:var(--bad)}
.box{padding:1rem;border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:8px}.box.bad{border-left-color:var(--bad)}
:focus-visible{outline:2px solid var(--accent);outline-offset:2px}`;

const STYLE_HASH = `'sha256-${createHash('sha256').update(REVIEW_STYLE, 'utf8').digest('base64')}'`;

export function reviewCsp(): string {
  return ["default-src 'none'", `style-src ${STYLE_HASH}`, "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"].join('; ');
}

const doc = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${esc(title)} · Stageline</title><style>${REVIEW_STYLE}</style></head><body><main>${body}</main></body></html>`;

export interface DiffRow {
  key: string;
  kind: 'config' | 'flag';
  change: 'added' | 'modified' | 'removed';
  before?: string;
  after?: string;
}

export function reviewPage(input: {
  view: NotificationView;
  diff?: DiffRow[];
  policy: { requiredApprovers: number; approverGroups: string[]; separationOfDuties: boolean };
  approver: string;
  formAction: string;
  nonce: string;
  canAct: boolean;
  /** why it cannot act (shown instead of the forms) */
  notice?: { title: string; message: string; whatToDo: string };
}): string {
  const v = input.view;
  const facts: [string, string][] = [];
  if (v.subject.type === 'artifact') facts.push(['Artifact', `${v.subject.name} ${v.subject.version}`], ['Digest', v.subject.digest]);
  if (v.subject.type === 'config') facts.push(['Change', `${v.subject.added} added, ${v.subject.modified} changed, ${v.subject.removed} removed`]);
  if (v.from || v.to) facts.push(['From → to', `${v.from ?? '—'} → ${v.to ?? '—'}`]);
  if (v.requester) facts.push(['Requested by', v.requester]);
  if (v.notes) facts.push(['Notes', v.notes]);
  if (v.expiresAt) facts.push(['Approval window closes', v.expiresAt]);
  const a = v.approvals;
  const policy = `${input.policy.requiredApprovers} approval${input.policy.requiredApprovers === 1 ? '' : 's'} from ${input.policy.approverGroups.join(', ')}${input.policy.separationOfDuties ? '; the requester cannot approve' : ''}`;
  const diff = input.diff?.length
    ? `<h2>What changes</h2><table><thead><tr><th>Key</th><th>Change</th><th>Now</th><th>After</th></tr></thead><tbody>${input.diff
        .map((d) => `<tr><td><code>${esc(d.kind === 'flag' ? `flag ${d.key}` : d.key)}</code></td><td class="${esc(d.change)}">${esc(d.change)}</td><td><code>${esc(d.before ?? '')}</code></td><td><code>${esc(d.after ?? '')}</code></td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const gates = v.gates.length
    ? `<h2>Gates</h2><table><tbody>${v.gates.map((g) => `<tr><td>${esc(g.gate)}</td><td class="${esc(g.verdict)}">${esc(g.verdict)}</td><td>${esc(g.reason)}</td></tr>`).join('')}</tbody></table>`
    : '';
  const approvals = a
    ? `<h2>Approvals</h2><p>${a.given.length} of ${a.required} given${a.given.length ? ': ' + a.given.map((g) => `${esc(g.by)} (${esc(g.at)})`).join(', ') : ''}. ${a.remaining} still needed.</p><p class="mut">Policy: ${esc(policy)}.</p>`
    : '';
  const forms = input.canAct
    ? `<form method="post" action="${esc(input.formAction)}"><input type="hidden" name="nonce" value="${esc(input.nonce)}"><input type="hidden" name="action" value="approve"><p>You are approving as <b>${esc(input.approver)}</b>.</p><button class="approve" type="submit">Approve</button></form>
<form method="post" action="${esc(input.formAction)}"><input type="hidden" name="nonce" value="${esc(input.nonce)}"><input type="hidden" name="action" value="reject"><label for="reason">Reject — say why (required)</label><textarea id="reason" name="reason" required maxlength="1000"></textarea><button class="reject" type="submit">Reject</button></form>`
    : input.notice
      ? `<div class="box bad"><b>${esc(input.notice.title)}</b><p>${esc(input.notice.message)}</p><p>${esc(input.notice.whatToDo)}</p></div>`
      : '';
  return doc(
    v.title,
    `<h1>${esc(v.title)}</h1><dl>${facts.map(([k, val]) => `<dt>${esc(k)}</dt><dd>${k === 'Digest' ? `<code>${esc(val)}</code>` : esc(val)}</dd>`).join('')}</dl>${diff}${gates}${approvals}${forms}<p class="mut">Opening this page changes nothing; only the buttons act.</p>`,
  );
}

export function refusalPage(input: { title: string; message: string; whatToDo: string }): string {
  return doc(input.title, `<div class="box bad"><h1>${esc(input.title)}</h1><p>${esc(input.message)}</p><p><b>What to do:</b> ${esc(input.whatToDo)}</p></div>`);
}

export function resultPage(input: { title: string; message: string }): string {
  return doc(input.title, `<div class="box"><h1>${esc(input.title)}</h1><p>${esc(input.message)}</p></div>`);
}
