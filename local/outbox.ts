import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { escapeHtml } from '../domain/notify/email.ts';

/**
 * The local outbox (npm start only): the mail catcher that keeps every email the
 * notifier would have sent through SES, the stand-in for Slack incoming webhooks
 * (`POST /dev/slack/<name>`, which the demo tenant's settings point at) and the stand-in for
 * Teams Workflows webhooks (`POST /dev/teams/<name>`: answers 202 Accepted with no body, as a
 * Workflows trigger does, and keeps the message). `/dev/outbox` lists them, so a newcomer can open an approval email and click its link.
 */
export interface CapturedMail {
  n: number;
  at: string;
  to: string;
  subject: string;
  html: string;
  text: string;
}

/** A message posted to the Workflows stand-in: the envelope with its Adaptive Card, as it came. */
export interface CapturedTeams {
  n: number;
  at: string;
  hook: string;
  message: { type?: string; attachments?: { contentType?: string; content?: Record<string, unknown> }[] };
}

export interface CapturedSlack {
  n: number;
  at: string;
  hook: string;
  message: { text?: string; channel?: string; blocks?: Record<string, unknown>[] };
}

const esc = escapeHtml;

/** Slack mrkdwn to safe HTML: escaped text, `<url|label>` links, *bold*. */
function mrkdwn(text: unknown): string {
  const raw = String(text ?? '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return raw
    .split(/(<[^>]+>)/g)
    .map((part) => {
      const link = /^<(https?:\/\/[^|>]+)(?:\|([^>]+))?>$/.exec(part);
      if (link) return `<a href="${esc(link[1])}">${esc(link[2] ?? link[1])}</a>`;
      return esc(part)
        .replace(/\*([^*\n]+)\*/g, '<b>$1</b>')
        .replace(/\n/g, '<br>');
    })
    .join('');
}

function slackHtml(m: CapturedSlack['message']): string {
  const out: string[] = [];
  for (const b of m.blocks ?? []) {
    const block = b as {
      type: string;
      text?: { text?: string };
      fields?: { text?: string }[];
      elements?: { type: string; text?: { text?: string } | string; url?: string; style?: string }[];
    };
    if (block.type === 'header') out.push(`<h3>${esc(block.text?.text)}</h3>`);
    else if (block.type === 'section') {
      if (block.text) out.push(`<p>${mrkdwn(block.text.text)}</p>`);
      if (block.fields) out.push(`<dl>${block.fields.map((f) => `<dd>${mrkdwn(f.text)}</dd>`).join('')}</dl>`);
    } else if (block.type === 'context')
      out.push(`<p class="mut">${(block.elements ?? []).map((e) => mrkdwn(typeof e.text === 'string' ? e.text : e.text?.text)).join(' · ')}</p>`);
    else if (block.type === 'actions') {
      out.push(
        `<p>${(block.elements ?? [])
          .map((e) => {
            const label = esc(typeof e.text === 'string' ? e.text : e.text?.text);
            return e.url
              ? `<a class="btn" href="${esc(e.url)}">${label}</a>`
              : `<span class="btn ${esc(e.style ?? '')}" title="handled by the Slack app (signed request)">${label}</span>`;
          })
          .join(' ')}</p>`,
      );
    } else if (block.type === 'divider') out.push('<hr>');
  }
  return out.join('\n') || `<p>${mrkdwn(m.text)}</p>`;
}

/** An Adaptive Card's text, as plain escaped HTML (runs and blocks; an Action.OpenUrl as a link). */
function teamsHtml(m: CapturedTeams['message']): string {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as { type?: string; text?: unknown; inlines?: unknown; items?: unknown; url?: unknown; title?: unknown };
    if (n.type === 'RichTextBlock')
      out.push(`<p>${(Array.isArray(n.inlines) ? n.inlines : []).map((r) => esc((r as { text?: string }).text ?? r).replace(/\n/g, '<br>')).join('')}</p>`);
    else if (n.type === 'TextBlock') out.push(`<p class="mut">${esc(n.text)}</p>`);
    else if (n.type === 'Action.OpenUrl' && typeof n.url === 'string' && /^https?:\/\//.test(n.url))
      out.push(`<p><a class="btn" href="${esc(n.url)}">${esc(n.title)}</a></p>`);
    else if (n.items) walk(n.items);
  };
  for (const a of m.attachments ?? []) {
    walk(a.content?.body);
    walk(a.content?.actions);
  }
  return out.join('\n') || '<p class="mut">(no card)</p>';
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1b1f24}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:2rem}article{border:1px solid #d0d7de;border-radius:8px;padding:.5rem 1rem;margin:.75rem 0}
.mut{color:#57606a;font-size:.85rem}.btn{display:inline-block;padding:.2rem .7rem;border:1px solid #d0d7de;border-radius:6px;margin-right:.3rem;text-decoration:none}
dl{display:grid;grid-template-columns:1fr 1fr;gap:.2rem 1rem;margin:.3rem 0}dd{margin:0}`;

export const OUTBOX_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export class LocalOutbox {
  readonly mails: CapturedMail[] = [];
  readonly slack: CapturedSlack[] = [];
  readonly teams: CapturedTeams[] = [];

  constructor(private readonly file?: string) {
    if (file && existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const item = JSON.parse(line) as { mail?: CapturedMail; slack?: CapturedSlack; teams?: CapturedTeams };
          if (item.mail) this.mails.push(item.mail);
          if (item.slack) this.slack.push(item.slack);
          if (item.teams) this.teams.push(item.teams);
        } catch {
          /* a torn last line */
        }
      }
    }
  }

  /** The mail catcher: the `email` channel of the local notifier. */
  email = async (m: { to: string; subject: string; html: string; text: string }): Promise<void> => {
    const mail = { n: this.mails.length + 1, at: new Date().toISOString(), ...m };
    this.mails.push(mail);
    if (this.file) appendFileSync(this.file, JSON.stringify({ mail }) + '\n', { mode: 0o600 });
  };

  captureSlack(hook: string, message: CapturedSlack['message']): void {
    const slack = { n: this.slack.length + 1, at: new Date().toISOString(), hook, message };
    this.slack.push(slack);
    if (this.file) appendFileSync(this.file, JSON.stringify({ slack }) + '\n', { mode: 0o600 });
  }

  captureTeams(hook: string, message: CapturedTeams['message']): void {
    const teams = { n: this.teams.length + 1, at: new Date().toISOString(), hook, message };
    this.teams.push(teams);
    if (this.file) appendFileSync(this.file, JSON.stringify({ teams }) + '\n', { mode: 0o600 });
  }

  page(): string {
    const mails = [...this.mails]
      .reverse()
      .map((m) => `<article><b><a href="/dev/outbox/mail/${m.n}">${esc(m.subject)}</a></b><div class="mut">to ${esc(m.to)} · ${esc(m.at)}</div></article>`);
    const slack = [...this.slack]
      .reverse()
      .map(
        (s) =>
          `<article>${slackHtml(s.message)}<div class="mut">Slack ${esc(s.message.channel ?? '')} via /dev/slack/${esc(s.hook)} · ${esc(s.at)}</div></article>`,
      );
    const teams = [...this.teams]
      .reverse()
      .map((x) => `<article>${teamsHtml(x.message)}<div class="mut">Teams via /dev/teams/${esc(x.hook)} · ${esc(x.at)}</div></article>`);
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Local outbox</title><style>${STYLE}</style></head><body>
<h1>Local outbox</h1><p class="mut">What the notifier sent under <code>npm start</code>: emails (the mail catcher) and Slack messages (posted to the local webhook stand-in). Newest first.</p>
<h2>Email (${this.mails.length})</h2>${mails.join('\n') || '<p class="mut">none yet</p>'}
<h2>Slack (${this.slack.length})</h2>${slack.join('\n') || '<p class="mut">none yet</p>'}
<h2>Teams (${this.teams.length})</h2>${teams.join('\n') || '<p class="mut">none yet</p>'}
</body></html>`;
  }

  /** The gateway's local-only routes. */
  async handle(method: string, url: URL, body: Buffer): Promise<{ status: number; type: string; body: string; headers?: Record<string, string> } | null> {
    const html = (status: number, text: string) => ({
      status,
      type: 'text/html; charset=utf-8',
      body: text,
      headers: { 'content-security-policy': OUTBOX_CSP, 'cache-control': 'no-store' },
    });
    if (method === 'GET' && (url.pathname === '/dev/outbox' || url.pathname === '/dev/outbox/')) return html(200, this.page());
    if (method === 'GET' && url.pathname === '/dev/outbox.json')
      return { status: 200, type: 'application/json', body: JSON.stringify({ mails: this.mails, slack: this.slack, teams: this.teams }) };
    const mail = /^\/dev\/outbox\/mail\/(\d+)$/.exec(url.pathname);
    if (method === 'GET' && mail) {
      const m = this.mails.find((x) => x.n === Number(mail[1]));
      return m ? html(200, m.html) : html(404, '<p>No such email</p>');
    }
    const hook = /^\/dev\/slack\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
    if (method === 'POST' && hook) {
      try {
        this.captureSlack(hook[1]!, JSON.parse(body.toString('utf8')));
        return { status: 200, type: 'text/plain', body: 'ok' };
      } catch {
        return { status: 400, type: 'text/plain', body: 'invalid_payload' };
      }
    }
    const workflows = /^\/dev\/teams\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
    if (method === 'POST' && workflows) {
      try {
        const message = JSON.parse(body.toString('utf8')) as CapturedTeams['message'];
        if (message?.type !== 'message' || !Array.isArray(message.attachments)) throw new Error('not a message');
        this.captureTeams(workflows[1]!, message);
        return { status: 202, type: 'text/plain', body: '' };
      } catch {
        return {
          status: 400,
          type: 'application/json',
          body: JSON.stringify({ error: { code: 'InvalidRequestContent', message: 'not a message with attachments' } }),
        };
      }
    }
    return null;
  }
}
