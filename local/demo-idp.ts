import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inLambda } from './faults.ts';

/**
 * The demo identity provider of the local stack: a real OpenID Connect provider (panva's oidc-provider,
 * in-process on its own loopback port), so a person trying Stageline locally — and docs/guide/28-sso.md —
 * has a company IdP to connect a tenant to through the normal PUT /api/v1/access/identity-provider.
 * Its people are of a demo company (`example-corp.test`), each with the groups the company puts them in;
 * its login page (/interaction/<uid>) is a form that takes an email address, no password (the local stack
 * trusts whoever reaches it on loopback), and answers through oidc-provider's interaction API, so every
 * token it gives is the provider's own. Consent is granted for its one client (first party).
 *
 * Local only: refused in a Lambda, like the settable clock and the fault plan, and only local/start.ts
 * imports it (no handler's bundle does).
 */
export const DEMO_IDP_DOMAIN = 'example-corp.test';
/** The client registered at the demo IdP for Stageline (the local issuer as its relying party). */
export const DEMO_IDP_CLIENT_ID = 'stageline-demo';
/**
 * The client's secret. A demo value, not a secret: the demo IdP signs in made-up people of a made-up
 * company on loopback. A tenant names it as a tenant secret, as it would a real IdP's
 * (STAGELINE_SECRET_<TENANT>__IDP_CLIENT_SECRET__<NAME> locally).
 */
export const DEMO_IDP_CLIENT_SECRET = 'demo-idp-client-secret';

export interface DemoIdpAccount {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

/** The demo company's people and the groups its directory puts them in. */
export const DEMO_IDP_ACCOUNTS: DemoIdpAccount[] = [
  { sub: 'ec-0001', email: `dana@${DEMO_IDP_DOMAIN}`, name: 'Dana Ruiz', groups: ['Release Managers'] },
  { sub: 'ec-0002', email: `erin@${DEMO_IDP_DOMAIN}`, name: 'Erin Park', groups: ['Payments Engineers'] },
  { sub: 'ec-0003', email: `sam@${DEMO_IDP_DOMAIN}`, name: 'Sam Okafor', groups: ['Payments Engineers', 'Contractors'] },
];

export interface DemoIdp {
  /** the issuer (and base URL): http://127.0.0.1:<port> */
  issuer: string;
  close(): Promise<void>;
}

/** `npm start -- --no-idp`: the stack without the demo IdP (its port, the one after the API's, stays free). */
export const noIdpRequested = (argv: string[] = process.argv): boolean => argv.includes('--no-idp');

export interface DemoIdpOptions {
  /** where the local issuer takes the IdP's answer: the gateway's /dev/oauth2/idpresponse */
  redirectUris: string[];
  /** the port to listen on (0 or none: a free one); a taken port is refused (EADDRINUSE): the caller says so */
  port?: number;
  accounts?: DemoIdpAccount[];
}

/**
 * Where the provider keeps its sessions, interactions, codes and grants: this process's memory, with each
 * entry's expiry (oidc-provider's adapter interface). The demo IdP forgets them when npm start stops.
 */
class MemoryStore {
  private static readonly entries = new Map<string, { payload: Record<string, unknown>; expires: number }>();
  constructor(private readonly model: string) {}
  private key = (id: string) => `${this.model}:${id}`;
  private read(key: string) {
    const e = MemoryStore.entries.get(key);
    if (e && e.expires < Date.now()) MemoryStore.entries.delete(key);
    return e && e.expires >= Date.now() ? e.payload : undefined;
  }
  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number) {
    MemoryStore.entries.set(this.key(id), { payload, expires: Date.now() + expiresIn * 1000 });
    for (const k of ['uid', 'userCode', 'grantId'] as const)
      if (typeof payload[k] === 'string')
        MemoryStore.entries.set(`${this.model}:${k}:${payload[k]}`, { payload: { id }, expires: Date.now() + expiresIn * 1000 });
  }
  async find(id: string) {
    return this.read(this.key(id));
  }
  private async by(kind: string, value: string) {
    const ref = this.read(`${this.model}:${kind}:${value}`);
    return ref ? this.find(String(ref.id)) : undefined;
  }
  findByUid = (uid: string) => this.by('uid', uid);
  findByUserCode = (code: string) => this.by('userCode', code);
  async consume(id: string) {
    const p = this.read(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    MemoryStore.entries.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string) {
    for (const [k, e] of MemoryStore.entries) if (e.payload.grantId === grantId) MemoryStore.entries.delete(k);
  }
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function listen(server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      server.off('listening', ok);
      reject(err);
    };
    const ok = () => {
      server.off('error', failed);
      resolve();
    };
    server.once('error', failed);
    server.once('listening', ok);
    server.listen(port, '127.0.0.1');
  });
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > 16 * 1024) req.destroy(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function loginPage(uid: string, accounts: DemoIdpAccount[], problem?: string): string {
  const people = accounts.map((a) => `<li><code>${esc(a.email)}</code> — ${esc(a.name)} (${a.groups.map(esc).join(', ')})</li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Example Corp sign-in (demo IdP)</title></head><body>
<h1>Example Corp</h1><p>The local stack's demo identity provider: sign in as one of its people (no password).</p>
${problem ? `<p role="alert">${esc(problem)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login"><label>Email <input name="login" type="email" autofocus></label> <button>Sign in</button></form>
<ul>${people}</ul></body></html>`;
}

export async function startDemoIdp(opts: DemoIdpOptions): Promise<DemoIdp> {
  if (inLambda()) throw new Error('the demo identity provider is for the local stack only: a deployed stack federates to the tenant’s own IdP');
  const accounts = opts.accounts ?? DEMO_IDP_ACCOUNTS;
  const { default: Provider } = await import('oidc-provider');
  const server = createServer();
  await listen(server, opts.port ?? 0);
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: DEMO_IDP_CLIENT_ID,
        client_secret: DEMO_IDP_CLIENT_SECRET,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    cookies: { keys: [randomBytes(16).toString('hex')] },
    // Its own signing key, made at start (the people's tokens are for this run of the stack).
    jwks: {
      keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'demo-idp', use: 'sig', alg: 'RS256' }],
    },
    adapter: MemoryStore,
    // How long each thing it keeps lasts, seconds: a sign-in has 10 minutes, a session and a grant the local tokens' 12 hours.
    ttl: { Interaction: 600, Session: 12 * 3600, Grant: 12 * 3600, AuthorizationCode: 60, AccessToken: 3600, IdToken: 3600 },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: unknown, id: string) {
      const a = accounts.find((x) => x.sub === id);
      if (!a) return undefined;
      return { accountId: a.sub, claims: async () => ({ sub: a.sub, email: a.email, email_verified: true, name: a.name, groups: a.groups }) };
    },
  });
  const callback = provider.callback();
  const reply = (res: ServerResponse, status: number, html: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  };
  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(new URL(req.url ?? '/', issuer).pathname);
    if (!m) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        if (!m[2] || req.method !== 'POST') return reply(res, 200, loginPage(m[1]!, accounts));
        const email = ((await readForm(req)).get('login') ?? '').trim().toLowerCase();
        const account = accounts.find((a) => a.email === email);
        if (!account) return reply(res, 400, loginPage(m[1]!, accounts, `${email || 'an empty address'} is not a person of Example Corp: pick one below`));
        await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
        return;
      }
      // Consent, for the one first-party client: granted for the scopes it asked.
      const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
      grant.addOIDCScope(String(details.params.scope));
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    } catch (err) {
      reply(res, 400, `<!doctype html><p>${esc(err instanceof Error ? err.message : String(err))}: start the sign-in again</p>`);
    }
  });
  return {
    issuer,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
