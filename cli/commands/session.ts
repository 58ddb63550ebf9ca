import type { Command } from 'commander';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import * as oauth from 'oauth4webapi';
import type { ApiError, AuthConfig } from '../answers.ts';
import { claims, CONFIG_FILE, fail, session } from '../context.ts';
import { out } from '../output.ts';

/** login */
export function registerSession(program: Command): void {
  program
    .command('login')
    .description(
      'keep the URL and a token in ~/.config/stageline/config.json (0600): locally `stageline login --user alice@acme.example` signs in as a demo or invited user; elsewhere the token is read from standard input: stageline login --url <url> < token.txt',
    )
    .option('--user <email>', 'local stack only: sign in as this user (a demo user, or one an admin invited with `stageline users invite`)')
    .option(
      '--browser',
      'sign in in a browser (OAuth 2.0 authorization code + PKCE; the default in a terminal): the sign-in page of the user pool on AWS, the local one locally',
    )
    .option(
      '--email <address>',
      "sign in in a browser through your company's identity provider: the one connected for the address's domain (GET /api/v1/auth/config?email=)",
    )
    .option('--callback-port <port>', 'the loopback port that receives the sign-in (default: the one the API names, 53682)')
    .action(async (opts: { user?: string; browser?: boolean; email?: string; callbackPort?: string }) => {
      if (opts.user && opts.email) fail('give --user (a local demo or invited user) or --email (your company sign-in), not both');
      if (opts.user) return save(await localSignIn(opts.user));
      if (opts.browser || opts.email !== undefined || process.stdin.isTTY)
        return save(await browserSignIn(opts.callbackPort ? Number(opts.callbackPort) : undefined, opts.email));
      // Otherwise the token comes from stdin (piped), never from the command line.
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) {
        chunks.push(c as Buffer);
        if (process.stdin.isTTY && String(c).includes('\n')) break;
      }
      const given = Buffer.concat(chunks).toString('utf8').trim();
      if (!given)
        fail('login reads the token from standard input: stageline login --url <url> < token.txt (locally: stageline login --user alice@acme.example)');
      const res = await fetch(`${session.base}/api/v1/environments`, { headers: { authorization: `Bearer ${given}` } }).catch((e) =>
        fail(`cannot reach ${session.base}: ${(e as Error).message}`),
      );
      if (res.status === 401) fail(`${session.base} refused this token (401)`, 3);
      save(given);
    });
  program
    .command('logout')
    .description('forget the saved URL and token')
    .action(() => {
      rmSync(CONFIG_FILE, { force: true });
      out({ removed: CONFIG_FILE }, () => console.log(`removed ${CONFIG_FILE}`));
    });
  program
    .command('whoami')
    .description('who the token says you are (tenant, groups, expiry)')
    .action(() => {
      if (!session.token) fail('not logged in: stageline login --url <url> < token.txt (or set STAGELINE_TOKEN)', 3);
      const c = claims(session.token);
      const exp = typeof c.exp === 'number' ? new Date(c.exp * 1000).toISOString() : null;
      const who = {
        url: session.base,
        subject: c.sub ?? null,
        email: c.email ?? null,
        tenant: c['custom:tenant_id'] ?? null,
        groups: c['cognito:groups'] ?? [],
        expires: exp,
      };
      out(who, () =>
        console.log(
          `${who.email ?? who.subject} at ${session.base}: tenant ${who.tenant}, groups ${(who.groups as string[]).join(', ') || 'none'}${exp ? `, token expires ${exp}${Date.parse(exp) < Date.now() ? ' (EXPIRED)' : ''}` : ''}`,
        ),
      );
    });
}

/** The local stack's sign-in (POST /dev/sign-in): a token for a user of the local directory. */
async function localSignIn(email: string): Promise<string> {
  const res = await fetch(`${session.base}/dev/sign-in`, { method: 'POST', body: JSON.stringify({ email }) }).catch((e) =>
    fail(`cannot reach ${session.base}: ${(e as Error).message}`),
  );
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string };
  if (res.status === 404 && !body.message)
    fail(
      `${session.base} has no local sign-in: --user works with the local stack (npm start); elsewhere pipe a token: stageline login --url <url> < token.txt`,
    );
  if (!res.ok || !body.token) fail(`${session.base} did not sign you in: ${body.message ?? res.status}`, res.status === 404 ? 3 : 2);
  return body.token;
}

function save(token: string): void {
  const url = session.base;
  mkdirSync(dirname(CONFIG_FILE), { recursive: true, mode: 0o700 });
  writeFileSync(CONFIG_FILE, JSON.stringify({ url, token }, null, 2), { mode: 0o600 });
  const c = claims(token);
  out({ url, subject: c.sub ?? null, tenant: c['custom:tenant_id'] ?? null, file: CONFIG_FILE }, () =>
    console.log(`logged in to ${url} as ${c.email ?? c.sub ?? '?'} (tenant ${c['custom:tenant_id'] ?? '?'}); saved in ${CONFIG_FILE}`),
  );
}

/**
 * Sign in in a browser: the authorization code flow with PKCE against the endpoints the API names
 * (GET /api/v1/auth/config: Cognito's on AWS, the local stand-in locally), the code received on a
 * loopback listener, exchanged for the ID token (oauth4webapi checks the answer and the token's
 * issuer, audience and expiry).
 */
async function browserSignIn(port?: number, email?: string): Promise<string> {
  const query = email === undefined ? '' : `?${new URLSearchParams({ email })}`;
  const res = await fetch(`${session.base}/api/v1/auth/config${query}`).catch((e) => fail(`cannot reach ${session.base}: ${(e as Error).message}`));
  if (res.status === 400 && email !== undefined) {
    const why = ((await res.json().catch(() => ({}))) as Partial<ApiError>).error?.issues?.[0]?.message ?? 'is not an email address';
    fail(`--email ${email}: ${why}`);
  }
  if (!res.ok) fail(`${session.base} does not say where to sign in (GET /api/v1/auth/config answered ${res.status})`);
  const cfg = (await res.json()) as AuthConfig;
  // Routed by email: the company's identity provider, or a plain refusal (no page that cannot sign this person in).
  if (email !== undefined && !cfg.idpIdentifier)
    fail(
      `no identity provider is connected for ${email.trim().toLowerCase().split('@').pop()}: sign in with --browser, or ask your admin to connect one (stageline idp …)`,
    );
  const as: oauth.AuthorizationServer = { issuer: cfg.issuer, authorization_endpoint: cfg.authorizationEndpoint, token_endpoint: cfg.tokenEndpoint };
  const client: oauth.Client = { client_id: cfg.clientId, id_token_signed_response_alg: cfg.idTokenSigningAlg };
  const redirect = new URL(cfg.cliRedirectUri);
  if (port !== undefined) redirect.port = String(port);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(cfg.authorizationEndpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: redirect.toString(),
    scope: cfg.scopes.join(' '),
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(cfg.idpIdentifier ? { idp_identifier: cfg.idpIdentifier } : {}),
  }))
    url.searchParams.set(k, v);
  const callback = await new Promise<URL>((resolve, reject) => {
    const server = createServer((req, reply) => {
      const got = new URL(req.url ?? '/', redirect);
      if (got.pathname !== redirect.pathname) return reply.writeHead(404).end();
      reply
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><title>Stageline</title><p>Signed in: you can close this tab and go back to the terminal.</p>');
      server.close();
      resolve(got);
    });
    server.once('error', (e) => reject(new Error(`cannot listen on ${redirect.host} for the sign-in: ${e.message} (try --callback-port)`)));
    server.listen(Number(redirect.port), redirect.hostname === 'localhost' ? '127.0.0.1' : redirect.hostname, () => {
      console.error(`Sign in in your browser:\n  ${url}\n(waiting for the sign-in on ${redirect.origin} …)`);
    });
  }).catch((e: Error) => fail(e.message));
  // Plain http only to a loopback address (the local stack); anything else must be https.
  const insecure = {
    [oauth.allowInsecureRequests]:
      new URL(cfg.tokenEndpoint).protocol === 'http:' && /^(127\.0\.0\.1|localhost|\[::1\])$/.test(new URL(cfg.tokenEndpoint).hostname),
  };
  try {
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirect.toString(), verifier, insecure);
    const result = await oauth.processAuthorizationCodeResponse(as, client, response, { requireIdToken: true });
    return result.id_token!;
  } catch (e) {
    return fail(`sign-in failed: ${(e as Error).message}`, 3);
  }
}
