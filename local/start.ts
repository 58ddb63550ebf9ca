import '../scripts/node-check.ts';
import { chmodSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { deps, localDeps } from '../functions/http/deps.ts';
import { migrateTenants } from '../domain/access/migrate.ts';
import { DEMO_USERS } from './issuer.ts';
import { seedDemo } from './seed.ts';
import { DEMO_IDP_ACCOUNTS, DEMO_IDP_CLIENT_ID, noIdpRequested, startDemoIdp, type DemoIdp } from './demo-idp.ts';
import { portFree } from './dynamodb.ts';
import { startLocalStack } from './stack.ts';
import { oneLineWarnings, verboseRequested } from './terminal.ts';
import { forgetLocalData, freshRequested } from './fresh.ts';
import * as env from '../functions/configuration.ts';

/**
 * `npm start`: the local stack with persistent data and a seeded demo tenant. It prints a short banner;
 * the tokens and secrets stay in the data folder (tokens.env, 0600), never on the terminal.
 * `npm start -- --verbose` (or STAGELINE_ACCESS_LOG=on) adds the access log, the metrics and stack traces;
 * `npm start -- --fresh` forgets what earlier runs made (local/fresh.ts) and starts from the demo data alone.
 * `npm start -- --no-idp` starts no demo identity provider (it takes the port after the API's otherwise).
 */
const dataDir = env.STAGELINE_DATA_DIR() ?? join(process.cwd(), '.stageline');
const port = env.PORT();
const dynamoPort = env.DYNAMODB_PORT();
const verbose = verboseRequested();
if (freshRequested() && forgetLocalData(dataDir) === 'forgotten') console.log(`--fresh: forgot what earlier runs made in ${dataDir}`);
if (!verbose) oneLineWarnings();

// A taken port is said in one line before anything starts (another stack, or another stack's demo IdP on the port after its API's).
if (port && !(await portFree(port))) {
  console.error(
    `npm start: port ${port} is in use (another program, or another stack: its demo IdP takes the port after its API's). Set PORT to a free port, or start the other stack with --no-idp.`,
  );
  process.exit(1);
}

// Readiness means seeded: /health (and every route) answers 503 until the demo tenant and tokens exist.
let ready = false;
const stack = await startLocalStack({ dataDir, port, dynamoPort, ready: () => ready, verbose });
await seedDemo(deps(), 'acme', { publicUrl: stack.gateway.url });
// The demo company's identity provider, to connect a tenant to (docs/guide/28-sso.md), on the port after the gateway's:
// none with --no-idp, and none when that port is taken (the banner says which, and the stack runs without it).
const gatewayPort = Number(new URL(stack.gateway.url).port);
const idpPort = gatewayPort + 1;
let demoIdp: DemoIdp | null = null;
let idpLine: string;
if (noIdpRequested()) idpLine = "not started (--no-idp); without it, npm start runs it on the port after the API's";
else {
  try {
    demoIdp = await startDemoIdp({
      port: idpPort,
      redirectUris: ['127.0.0.1', 'localhost'].map((h) => `http://${h}:${gatewayPort}/dev/oauth2/idpresponse`),
    });
    idpLine = `${demoIdp.issuer}   demo OIDC IdP of Example Corp on port ${idpPort}, the API's + 1 (client ${DEMO_IDP_CLIENT_ID}; people ${DEMO_IDP_ACCOUNTS.map((a) => a.email).join(', ')}; --no-idp leaves the port free): docs/guide/28-sso.md`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!['EADDRINUSE', 'EACCES', 'ERR_SOCKET_BAD_PORT'].includes(code)) throw err;
    const why = code === 'EADDRINUSE' ? 'is in use' : `cannot be listened on (${code})`;
    idpLine = `not started: port ${idpPort} (the API's + 1) ${why}; this stack runs without the demo IdP (docs/guide/28-sso.md: free that port, or set another PORT)`;
  }
}
// Tenants from before the people routes (the demo tenants among them) get their record, email domains and people index; a no-op once done.
await migrateTenants(localDeps());
const tokens: Record<string, string> = {};
for (const [name, user] of Object.entries(DEMO_USERS)) tokens[name] = await stack.issuer.sign(user);
// Tokens and the pipeline's secret key: readable by this user only.
writeFileSync(join(dataDir, 'tokens.json'), JSON.stringify(tokens, null, 2), { mode: 0o600 });
writeFileSync(
  join(dataDir, 'tokens.env'),
  Object.entries(tokens)
    .map(([n, t]) => `export ${n.toUpperCase()}_TOKEN=${t}`)
    .join('\n') +
    `\nexport STAGELINE_URL=${stack.gateway.url}` +
    // The CD pipeline's IAM credential (SigV4) for the machine routes, bound to tenant acme.
    `\nexport PIPELINE_ACCESS_KEY_ID=${stack.iam[0]!.accessKeyId}\nexport PIPELINE_SECRET_ACCESS_KEY=${stack.iam[0]!.secretAccessKey}` +
    // This deployment's Slack app signing secret (deployment configuration; no tenant sets or reads it).
    `\nexport SLACK_SIGNING_SECRET=${stack.slackSigningSecret}` +
    // The demo identity provider's issuer (its client: DEMO_IDP_CLIENT_ID, local/demo-idp.ts), when it runs.
    (demoIdp ? `\nexport DEMO_IDP_ISSUER=${demoIdp.issuer}` : '') +
    '\n',
  { mode: 0o600 },
);
// writeFileSync's mode applies only when it creates the file: tighten files left by older versions too.
for (const f of ['tokens.json', 'tokens.env']) chmodSync(join(dataDir, f), 0o600);
ready = true;

const url = stack.gateway.url;
/** A path as the user can type it here: relative when under the current folder. */
const shown = (p: string) => {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
};
const tokensFile = shown(join(dataDir, 'tokens.env'));
const byTenant = new Map<string, string[]>();
for (const [name, user] of Object.entries(DEMO_USERS)) {
  const what = user.idpGroups ? `IdP groups: ${user.idpGroups.join(', ')}` : user.groups.join(', ');
  byTenant.set(user.tenant, [...(byTenant.get(user.tenant) ?? []), `${name} (${what})`]);
}
const [home, ...others] = [...byTenant].map(([tenant, users]) => `${tenant}: ${users.join(', ')}`);
const secret = stack.slackSigningSecret;
const login = `npx stageline login${url === 'http://127.0.0.1:3000' ? '' : ` --url ${url}`} --user alice@acme.example`;
console.log(
  [
    `Stageline is running (Ctrl-C stops it)`,
    `  API      ${url}   (GET /health needs no token)`,
    `  Console  ${url}/dashboard   (Sign in: choose a demo user)`,
    `  Tokens   ${tokensFile} (valid 12 h): source ${tokensFile}   or sign in: ${login}`,
    `  Users    ${home}`,
    ...(others.length ? [`           ${others.join('; ')}`] : []),
    `  Slack    ${url}/api/v1/slack/actions and …/commands, signing secret ${secret.slice(0, 4)}… ($SLACK_SIGNING_SECRET)`,
    `  IdP      ${idpLine}`,
    `  Data     ${shown(dataDir)} (DynamoDB Local ${stack.dynamo.endpoint}, table '${stack.tableName}')`,
    `  Try      curl -s $STAGELINE_URL/api/v1/environments -H "Authorization: Bearer $ALICE_TOKEN"`,
    verbose
      ? `  Logs     verbose: access log, metrics (EMF) and stack traces`
      : `  Logs     warnings and errors, one line each; npm start -- --verbose adds the access log, metrics and stack traces`,
  ].join('\n'),
);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await demoIdp?.close();
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
