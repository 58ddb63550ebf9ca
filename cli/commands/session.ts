import type { Command } from 'commander';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { claims, CONFIG_FILE, fail, session } from '../context.ts';
import { out } from '../output.ts';

/** login */
export function registerSession(program: Command): void {
  program
    .command('login')
    .description('keep the URL and a token in ~/.config/stageline/config.json (0600): locally `stageline login --user alice@acme.example` signs in as a demo or invited user; elsewhere the token is read from standard input: stageline login --url <url> < token.txt')
    .option('--user <email>', 'local stack only: sign in as this user (a demo user, or one an admin invited with `stageline users invite`)')
    .action(async (opts: { user?: string }) => {
      if (opts.user) return save(await localSignIn(opts.user));
      // The token comes from stdin (piped, or typed), never from the command line.
      const chunks: Buffer[] = [];
      if (process.stdin.isTTY) process.stderr.write('token: ');
      for await (const c of process.stdin) {
        chunks.push(c as Buffer);
        if (process.stdin.isTTY && String(c).includes('\n')) break;
      }
      const given = Buffer.concat(chunks).toString('utf8').trim();
      if (!given) fail('login reads the token from standard input: stageline login --url <url> < token.txt (locally: stageline login --user alice@acme.example)');
      const res = await fetch(`${session.base}/api/v1/environments`, { headers: { authorization: `Bearer ${given}` } }).catch((e) => fail(`cannot reach ${session.base}: ${(e as Error).message}`));
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
      const who = { url: session.base, subject: c.sub ?? null, email: c.email ?? null, tenant: c['custom:tenant_id'] ?? null, groups: c['cognito:groups'] ?? [], expires: exp };
      out(who, () => console.log(`${who.email ?? who.subject} at ${session.base}: tenant ${who.tenant}, groups ${(who.groups as string[]).join(', ') || 'none'}${exp ? `, token expires ${exp}${Date.parse(exp) < Date.now() ? ' (EXPIRED)' : ''}` : ''}`));
    });
}

/** The local stack's sign-in (POST /dev/sign-in): a token for a user of the local directory. */
async function localSignIn(email: string): Promise<string> {
  const res = await fetch(`${session.base}/dev/sign-in`, { method: 'POST', body: JSON.stringify({ email }) }).catch((e) => fail(`cannot reach ${session.base}: ${(e as Error).message}`));
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string };
  if (res.status === 404 && !body.message) fail(`${session.base} has no local sign-in: --user works with the local stack (npm start); elsewhere pipe a token: stageline login --url <url> < token.txt`);
  if (!res.ok || !body.token) fail(`${session.base} did not sign you in: ${body.message ?? res.status}`, res.status === 404 ? 3 : 2);
  return body.token;
}

function save(token: string): void {
  const url = session.base;
  mkdirSync(dirname(CONFIG_FILE), { recursive: true, mode: 0o700 });
  writeFileSync(CONFIG_FILE, JSON.stringify({ url, token }, null, 2), { mode: 0o600 });
  const c = claims(token);
  out({ url, subject: c.sub ?? null, tenant: c['custom:tenant_id'] ?? null, file: CONFIG_FILE }, () => console.log(`logged in to ${url} as ${c.email ?? c.sub ?? '?'} (tenant ${c['custom:tenant_id'] ?? '?'}); saved in ${CONFIG_FILE}`));
}
