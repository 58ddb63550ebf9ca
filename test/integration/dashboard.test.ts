import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type Res, type TestStack } from '../support/stack.ts';

let t: TestStack;
let page: Res<string>;
let app: Res<string>;

beforeAll(async () => {
  // Webhook retries a thousandth of a second apart: a dead receiver's delivery fails its 12 attempts at once.
  t = await startTestStack({ webhookRetryBaseMs: 0.01 });
  page = await t.call('GET', '/dashboard');
  app = await t.call('GET', '/dashboard/app.js');
});
afterAll(() => t.stop());

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const inline = (tag: string) => [...page.body.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
/** the page's one script element: its own module, by path, with the sha256 the CSP names as its integrity */
const SCRIPT_TAG = /<script src="dashboard\/app\.js" integrity="(sha256-[A-Za-z0-9+/]+=*)"><\/script>/;
const directives = () => Object.fromEntries(page.headers.get('content-security-policy')!.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));

describe('GET /dashboard', () => {
  it('serves one self-contained HTML page without a token, with strict security headers', () => {
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const csp = directives();
    expect(csp['default-src']).toEqual(["'none'"]);
    expect(csp['connect-src']).toEqual(["'self'"]);
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(Buffer.byteLength(page.body)).toBeLessThan(15 * 1024);
  });

  it('loads nothing from elsewhere: no URLs, no src/href but its own script, no inline handlers or style attributes', () => {
    expect(page.body).toMatch(/^<!doctype html>/i);
    const rest = page.body.replace(SCRIPT_TAG, '');
    expect(rest).not.toBe(page.body);
    for (const text of [rest, app.body]) expect(text).not.toMatch(/https?:|\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    expect(rest).not.toMatch(/\s(src|href|style|on[a-z]+)\s*=/i);
    expect(rest).not.toMatch(/<(link|img|iframe|object|embed|base|script)\b/i);
  });

  it('allows exactly its script (its own module, served at /dashboard/app.js) and its inline style by the sha256 hashes in the CSP', () => {
    expect(page.body.match(/<script\b/g)).toHaveLength(1); // one script element, no inline code
    expect(inline('script')).toEqual([]);
    const [, integrity] = SCRIPT_TAG.exec(page.body)!;
    expect(app.status).toBe(200);
    expect(app.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(app.headers.get('x-content-type-options')).toBe('nosniff');
    expect(app.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    const styles = inline('style');
    expect(styles).toHaveLength(1);
    const csp = directives();
    expect(csp['script-src']).toEqual([sha256(app.body)]);
    expect(`'${integrity}'`).toBe(sha256(app.body));
    expect(csp['style-src']).toEqual([sha256(styles[0]!)]);
    expect(() => new Script(app.body)).not.toThrow(); // the script at least parses
  });

  it('keeps the script within its own size budget', () => {
    expect(Buffer.byteLength(app.body)).toBeLessThan(14 * 1024);
  });

  it('has the expected accessible structure: labelled token box, alert area, environment table, pending list', () => {
    const html = page.body;
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<label for="token">[^<]+<\/label>/);
    expect(html).toMatch(/<input id="token"[^>]*type="password"/);
    expect(html).toContain('<p id="msg" role="alert">');
    expect(html).toMatch(/<table id="envs">\s*<caption/);
    for (const col of ['Environment', 'Version(s)', 'Promoted at (UTC)', 'Promoted by', 'Gates', 'Config snapshot', 'State']) expect(html).toContain(`<th scope="col">${col}</th>`);
    expect(html).toContain('<tbody id="envs-body">');
    expect(html).toMatch(/<h2 id="pending-title">Pending promotions<\/h2>\s*<ul id="pending">/);
    expect(html).toContain('prefers-color-scheme:dark');
    for (const col of ['Receiver host', 'Events', 'Environment', 'State', 'Recent deliveries']) expect(html).toMatch(new RegExp(`<table id="hooks">[\\s\\S]*<th scope="col">${col.replace(/[()]/g, '\\$&')}</th>`));
    const script = app.body;
    // every element the script looks up exists in the page
    for (const [, id] of script.matchAll(/\$\('([\w-]+)'\)/g)) expect(html, `#${id}`).toContain(`id="${id}"`);
    // it polls the status route relative to the page, with the token as a bearer, every 5 s, and reads #token=
    expect(script).toContain("fetch('api/v1/status'");
    expect(script).toContain("authorization: 'Bearer ' + token");
    expect(script).toContain('EVERY = 5000');
    expect(script).toContain('sessionStorage');
    expect(script).toMatch(/location\.hash[\s\S]*get\('token'\)/);
    expect(script).toMatch(/res\.status === 401 \|\| res\.status === 403/);
  });

  it('the API the page polls answers a viewer token and refuses none (the page shows a token prompt on 401)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    expect(new URL('api/v1/status', `${t.url}/dashboard`).pathname).toBe('/api/v1/status');
    const ok = await t.call('GET', '/api/v1/status', { token: u.viewer });
    expect(ok.status).toBe(200);
    expect(ok.body.environments.map((e: { name: string }) => e.name)).toEqual(['dev', 'staging', 'production']);
    expect((await t.call('GET', '/api/v1/status')).status).toBe(401);
  });
});

/** Just enough DOM to run the served script outside a browser: elements with children, text, titles. */
class FakeElement {
  children: (FakeElement | { text: string })[] = [];
  attrs: Record<string, string> = {};
  [k: string]: unknown;
  constructor(readonly tag: string) {}
  append(...kids: unknown[]) {
    for (const k of kids) this.children.push(k instanceof FakeElement ? k : { text: String(k) });
  }
  replaceChildren(...kids: unknown[]) {
    this.children = [];
    this.append(...kids);
  }
  set textContent(v: string) {
    this.children = [{ text: String(v) }];
  }
  get textContent(): string {
    return this.children.map((c) => (c instanceof FakeElement ? c.textContent : c.text)).join('');
  }
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
  }
  addEventListener() {}
  focus() {}
  contains() {
    return false;
  }
  /** every title in the subtree */
  titles(): string[] {
    return [...(typeof this.title === 'string' ? [this.title] : []), ...this.children.flatMap((c) => (c instanceof FakeElement ? c.titles() : []))];
  }
}

/** Runs the served script against the local stack with a viewer's token in a fake DOM; returns its getElementById. */
function runScript(script: string, token: string, before?: (byId: (id: string) => FakeElement) => void): (id: string) => FakeElement {
  const elements = new Map<string, FakeElement>();
  const byId = (id: string) => elements.get(id) ?? (elements.set(id, new FakeElement('div')), elements.get(id)!);
  before?.(byId);
  new Script(script).runInNewContext({
    document: { getElementById: byId, createElement: (tag: string) => new FakeElement(tag), hidden: false, activeElement: null, addEventListener() {} },
    sessionStorage: { getItem: () => token, setItem() {}, removeItem() {} },
    location: { hash: '', pathname: '/dashboard', search: '' },
    history: { replaceState() {} },
    URLSearchParams,
    fetch: (path: string, init: RequestInit) => fetch(new URL(path, `${t.url}/dashboard`), init),
    setTimeout: () => 0,
    clearTimeout() {},
  });
  return byId;
}

describe('the dashboard script', () => {
  it('shows control characters and bidi overrides from the API as escapes: no reversed, erased or forged text', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const prod = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    const spoof = 'Prod \u202Eevil\u202C\r\u001b[2K\u009b';
    expect((await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: prod.version, displayName: spoof } })).status).toBe(200);

    const byId = runScript(app.body, u.viewer, (el) => {
      el('status').hidden = true;
    });
    await expect.poll(() => byId('status').hidden, { timeout: 10_000 }).toBe(false);
    const shown = byId('envs-body');
    const unsafe = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    expect(shown.textContent).toContain('Prod \\u202eevil\\u202c\\u000d\\u001b[2K\\u009b');
    expect(shown.textContent).not.toMatch(unsafe);
  });

  it('shows webhook subscriptions by receiver host with their state and last deliveries: a dead receiver\'s subscription is flagged; no path or secret', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    // A receiver that is gone: every attempt is refused.
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', () => r()));
    const port = (gone.address() as { port: number }).port;
    await new Promise((r) => gone.close(r));
    const sub = await t.call('POST', '/api/v1/webhooks', { token: u.admin, body: { url: `http://127.0.0.1:${port}/hooks/PathToken789`, events: ['promotion.requested'] } });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.admin, body: { key: 'feature.x', value: 'on' } });
    expect((await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } })).status).toBe(201);
    await expect.poll(async () => (await t.call('GET', `/api/v1/webhooks/${sub.body.id}`, { token: u.viewer })).body.health.status, { timeout: 30_000 }).toBe('failing');

    const byId = runScript(app.body, u.viewer);
    const hooks = byId('hooks-body');
    await expect.poll(() => hooks.textContent, { timeout: 10_000 }).toContain('flagged');
    expect(hooks.textContent).toBe(`127.0.0.1:${port}${sub.body.id}promotion.requestedallflaggedfailed · no answer`);
    expect(hooks.titles().join(' ')).toMatch(/^\d+ failed deliveries: .+ promotion\.requested, 12 attempt\(s\), /);
    expect(JSON.stringify(hooks)).not.toMatch(new RegExp(`PathToken789|${sub.body.secret.slice(6).replace(/[+/=]/g, '.')}`));
  });
});
