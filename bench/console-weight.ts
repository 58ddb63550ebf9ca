import { gzipSync } from 'node:zlib';
import type { CDPSession, Page } from 'playwright-core';
import { launchChromium } from '../local/measure/chromium.ts';
import { deps } from '../functions/http/deps.ts';
import { DEMO_USERS } from '../local/issuer.ts';
import { seedDemo } from '../local/seed.ts';
import { startLocalStack } from '../local/stack.ts';
import { table } from '../scripts/build.ts';
import { BUDGET_GZIP_BYTES, CONSOLE_BUDGET } from '../scripts/console.ts';
import { heading, int } from './common.ts';

/**
 * `npm run bench`, console section: what each view of the console costs a browser, against the
 * bench's own local stack (the demo tenant `npm start` seeds, plus a promotion and an app key),
 * driven by playwright-core in Debian's Chromium (as the browser tests are). For each view:
 * - first load: a cold cache, the page opened at the view; every request until the network is
 *   quiet. Bytes are Chromium's count of what it received (CDP Network.loadingFinished
 *   encodedDataLength: response headers and body as they came over the wire). Neither the local
 *   stack nor API Gateway's HTTP API compresses, so that is what is served; "gzip" beside it is
 *   the bodies gzipped (what a compressing CDN in front would send), for comparison only.
 * - one refresh round: the page's clock moved on by the longest poll period, so each of the
 *   view's polls fires once, with nothing changed meanwhile: API calls, 304s and 200s, bytes.
 * It throws when a view is over CONSOLE_BUDGET (scripts/console.ts; docs/guide/14-dashboard.md).
 * Alone: `npx tsx bench/console-weight.ts`.
 */

/** The longest poll period of any view (console/views/*: 5 s to 60 s): moving the clock by it fires each poll once. */
const REFRESH_ROUND_MS = 60_000;
/** The network is quiet when no request has been in flight for this long. */
const QUIET_MS = 750;

interface Exchange {
  url: string;
  api: boolean;
  status: number;
  /** bytes received: headers and body, as on the wire */
  bytes: number;
  /** the body's bytes gzipped (0 for a 304 or an empty body) */
  gzip: number;
}

export interface ViewWeight {
  view: string;
  first: { requests: number; bytes: number; gzip: number; apiCalls: number; apiBytes: number; assetsGzip: number };
  refresh: { apiCalls: number; notModified: number; ok: number; other: number; bytes: number };
}

/** What a page received, request by request, from CDP's Network domain. */
class Recorder {
  private inflight = new Map<string, { url: string; status: number; headerBytes: number }>();
  private lastActivity = Date.now();
  done: Exchange[] = [];

  constructor(private readonly cdp: CDPSession) {
    cdp.on('Network.requestWillBeSent', (e) => {
      // data: URLs (an icon inlined in the stylesheet) cross no network.
      if (!e.request.url.startsWith('http')) return;
      this.inflight.set(e.requestId, { url: e.request.url, status: 0, headerBytes: 0 });
      this.lastActivity = Date.now();
    });
    cdp.on('Network.responseReceived', (e) => {
      const r = this.inflight.get(e.requestId);
      if (!r) return;
      r.status = e.response.status;
      r.headerBytes = e.response.encodedDataLength;
    });
    cdp.on('Network.loadingFinished', (e) => {
      const r = this.inflight.get(e.requestId);
      this.lastActivity = Date.now();
      if (!r) return;
      void this.finish(e.requestId, r, e.encodedDataLength);
    });
    cdp.on('Network.loadingFailed', (e) => {
      const r = this.inflight.get(e.requestId);
      this.inflight.delete(e.requestId);
      this.lastActivity = Date.now();
      // A response whose body the page never read ends "canceled": what came is its headers.
      if (r) this.done.push({ url: r.url, api: isApi(r.url), status: r.status, bytes: r.headerBytes, gzip: 0 });
    });
  }

  private async finish(requestId: string, r: { url: string; status: number; headerBytes: number }, bytes: number) {
    let gzip = 0;
    if (r.status !== 304) {
      const body = await this.cdp.send('Network.getResponseBody', { requestId }).catch(() => null);
      if (body?.body) gzip = gzipSync(Buffer.from(body.body, body.base64Encoded ? 'base64' : 'utf8')).length;
    }
    this.done.push({ url: r.url, api: isApi(r.url), status: r.status, bytes, gzip });
    this.inflight.delete(requestId);
    this.lastActivity = Date.now();
  }

  /** Waits until nothing has been in flight for QUIET_MS (counted from now at the earliest), then hands over what finished since the last take. */
  async take(timeoutMs = 30_000): Promise<Exchange[]> {
    const until = Date.now() + timeoutMs;
    this.lastActivity = Math.max(this.lastActivity, Date.now());
    while (this.inflight.size > 0 || Date.now() - this.lastActivity < QUIET_MS) {
      if (Date.now() > until) throw new Error(`console weight: the network never went quiet (${[...this.inflight.values()].map((r) => r.url).join(', ')})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = this.done;
    this.done = [];
    return out;
  }
}

const isApi = (url: string) => url.startsWith('http') && new URL(url).pathname.startsWith('/api/');
const sum = (xs: Exchange[], f: (x: Exchange) => number) => xs.reduce((n, x) => n + f(x), 0);
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** Reads whose 404 says "none set", which the console shows as such (an environment without a change-control rule). */
const ABSENT = /^\/api\/v1\/environments\/[^/]+\/change-control$/;

/** The view shown, not a spinner, and every API call of its first load answered: what the first load must end with. */
async function shown(page: Page, view: string, first: Exchange[]): Promise<void> {
  if (await page.locator('main [aria-busy="true"]').count()) throw new Error(`console weight: ${view} is still loading after its first load`);
  const refused = first.filter((x) => x.api && (x.status < 200 || x.status >= 300) && !(x.status === 404 && ABSENT.test(new URL(x.url).pathname)));
  if (refused.length) throw new Error(`console weight: ${view}: ${refused.map((x) => `${x.url} answered ${x.status}`).join('; ')}`);
}

async function seed(url: string, token: (user: keyof typeof DEMO_USERS) => Promise<string>) {
  const call = async (method: string, path: string, who: keyof typeof DEMO_USERS, body?: unknown) => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${await token(who)}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = (await r.json().catch(() => null)) as Record<string, unknown> | null;
    if (!r.ok) throw new Error(`console weight set-up: ${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
    return j!;
  };
  // A promotion (the demo's gates stop it at staging: a blocked one, as the pipeline shows it) and an app key.
  const p = await call('POST', '/api/v1/promotions', 'bob', { sourceEnvironment: 'dev', targetEnvironment: 'staging', notes: 'bench' });
  for (let i = 0; i < 200; i++) {
    const now = await call('GET', `/api/v1/promotions/${String(p.id)}`, 'bob');
    if (!['PENDING', 'VALIDATING', 'EXECUTING'].includes(String(now.status))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await call('POST', '/api/v1/app-keys', 'alice', { name: 'bench', environment: 'staging' });
  return { promotion: String(p.id) };
}

export async function benchConsoleWeight(): Promise<ViewWeight[]> {
  heading('Console page weight (Chromium, cold cache, the demo tenant on the local stack)');
  const stack = await startLocalStack({ tableName: `bench-console-${Date.now().toString(36)}` });
  const browser = await launchChromium();
  const out: ViewWeight[] = [];
  try {
    await seedDemo(deps(), 'acme', { publicUrl: stack.gateway.url });
    const url = stack.gateway.url;
    const token = (user: keyof typeof DEMO_USERS) => stack.issuer.sign(DEMO_USERS[user]!);
    const { promotion } = await seed(url, token);
    await stack.stream.idle();
    const views: [string, string][] = [
      ['pipeline', '#/'],
      ['promotion', `#/promotions/${promotion}`],
      ['environment', '#/environments/staging'],
      ['flags', '#/flags'],
      ['calendar', '#/calendar'],
      ['insights', '#/insights'],
      ['audit', '#/audit'],
      ['settings', '#/settings'],
    ];
    // An admin sees every part of every view (Settings lists users for admins only).
    const admin = await token('alice');
    for (const [view, hash] of views) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.clock.install();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      const recorder = new Recorder(cdp);
      // Signed in as the local tokens file does it (#token=…: kept in the tab's session storage), then a cold first load of the view.
      await page.goto(`${url}/dashboard#token=${admin}`);
      await page.getByRole('link', { name: 'Pipeline' }).waitFor();
      await recorder.take();
      await page.goto('about:blank');
      await cdp.send('Network.clearBrowserCache');
      await recorder.take();
      await page.goto(`${url}/dashboard${hash}`);
      const first = await recorder.take();
      await shown(page, view, first);
      await page.clock.fastForward(REFRESH_ROUND_MS);
      const refresh = (await recorder.take()).filter((x) => x.api);
      out.push({
        view,
        first: {
          requests: first.length,
          bytes: sum(first, (x) => x.bytes),
          gzip: sum(first, (x) => x.gzip),
          assetsGzip: sum(
            first.filter((x) => x.url.includes('/dashboard/assets/')),
            (x) => x.gzip,
          ),
          apiCalls: first.filter((x) => x.api).length,
          apiBytes: sum(
            first.filter((x) => x.api),
            (x) => x.bytes,
          ),
        },
        refresh: {
          apiCalls: refresh.length,
          notModified: refresh.filter((x) => x.status === 304).length,
          ok: refresh.filter((x) => x.status === 200).length,
          other: refresh.filter((x) => x.status !== 304 && x.status !== 200).length,
          bytes: sum(refresh, (x) => x.bytes),
        },
      });
      await context.close();
    }
  } finally {
    await browser.close();
    await stack.stop();
  }
  const b = CONSOLE_BUDGET;
  const over = (w: ViewWeight) =>
    [
      w.first.bytes > b.firstLoadBytes && `first load ${kib(w.first.bytes)} > ${kib(b.firstLoadBytes)}`,
      w.first.apiCalls > b.firstLoadApiCalls && `${w.first.apiCalls} API calls at first load > ${b.firstLoadApiCalls}`,
      w.refresh.apiCalls > b.refreshApiCalls && `${w.refresh.apiCalls} API calls in a refresh round > ${b.refreshApiCalls}`,
      w.refresh.ok + w.refresh.other > b.refreshBodies && `${w.refresh.ok + w.refresh.other} answers with a body in a quiet refresh round > ${b.refreshBodies}`,
      w.refresh.bytes > b.refreshBytes && `refresh round ${kib(w.refresh.bytes)} > ${kib(b.refreshBytes)}`,
    ].filter((x): x is string => typeof x === 'string');
  console.log(
    table(
      [
        'view',
        'first load: requests',
        'received',
        'gzip (if compressed)',
        'API calls',
        'API received',
        'refresh round: API calls',
        '304',
        '200',
        'received',
        'budget',
      ],
      out.map((w) => [
        w.view,
        String(w.first.requests),
        kib(w.first.bytes),
        kib(w.first.gzip),
        String(w.first.apiCalls),
        kib(w.first.apiBytes),
        String(w.refresh.apiCalls),
        String(w.refresh.notModified),
        `${w.refresh.ok}${w.refresh.other ? ` (+${w.refresh.other} other)` : ''}`,
        `${int(w.refresh.bytes)} B`,
        over(w).length ? 'OVER' : 'met',
      ]),
    ),
  );
  console.log(
    `Received = bytes Chromium received (CDP encodedDataLength: headers + body as served: the script and style gzipped by the dashboard function for a browser that takes gzip, the page and API answers uncompressed as the HTTP API serves them); ` +
      `gzip = the same bodies gzipped, for comparison. A refresh round moves the page's clock on ${REFRESH_ROUND_MS / 1000} s, so each poll of the view fires once; nothing changed meanwhile.`,
  );
  console.log(
    `Budget per view (CONSOLE_BUDGET, docs/guide/14-dashboard.md): first load ≤ ${kib(b.firstLoadBytes)} received and ≤ ${b.firstLoadApiCalls} API calls; ` +
      `a quiet refresh round ≤ ${b.refreshApiCalls} API calls, ${b.refreshBodies ? `≤ ${b.refreshBodies}` : 'none'} with a body, ≤ ${kib(b.refreshBytes)}.`,
  );
  // The budget is the first screen's (the entry, style and preloaded chunks); another view adds the chunk it loads when opened.
  const assets = out.find((w) => w.view === 'pipeline')!.first.assetsGzip;
  console.log(
    `Script + style, first screen: ${kib(assets)} gzip (budget ${kib(BUDGET_GZIP_BYTES)}); with each view's chunks: ${out.map((w) => `${w.view} ${kib(w.first.assetsGzip)}`).join(', ')}.`,
  );
  const failures = out.flatMap((w) => over(w).map((o) => `${w.view}: ${o}`));
  if (assets > BUDGET_GZIP_BYTES) failures.push(`first screen's script + style ${kib(assets)} gzip > ${kib(BUDGET_GZIP_BYTES)}`);
  if (failures.length) throw new Error(`the console is over its page-weight budget:\n  ${failures.join('\n  ')}`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchConsoleWeight();
