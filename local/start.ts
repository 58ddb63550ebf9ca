import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deps } from '../functions/http/deps.ts';
import { DEMO_USERS } from './issuer.ts';
import { seedDemo } from './seed.ts';
import { startLocalStack } from './stack.ts';

/** `npm start`: the local stack with persistent data, a seeded demo tenant and printed tokens. */
const dataDir = process.env.STAGELINE_DATA_DIR ?? join(process.cwd(), '.stageline');
const port = Number(process.env.PORT ?? 3000);
const dynamoPort = process.env.DYNAMODB_PORT ? Number(process.env.DYNAMODB_PORT) : undefined;

// Readiness means seeded: /health (and every route) answers 503 until the demo tenant and tokens exist.
let ready = false;
const stack = await startLocalStack({ dataDir, port, dynamoPort, ready: () => ready });
await seedDemo(deps(), 'acme', { publicUrl: stack.gateway.url });
const tokens: Record<string, string> = {};
for (const [name, user] of Object.entries(DEMO_USERS)) tokens[name] = await stack.issuer.sign(user);
// Tokens and the pipeline's secret key: readable by this user only.
writeFileSync(join(dataDir, 'tokens.json'), JSON.stringify(tokens, null, 2), { mode: 0o600 });
writeFileSync(
  join(dataDir, 'tokens.env'),
  Object.entries(tokens).map(([n, t]) => `export ${n.toUpperCase()}_TOKEN=${t}`).join('\n') +
    `\nexport STAGELINE_URL=${stack.gateway.url}` +
    // The CD pipeline's IAM credential (SigV4) for the machine routes, bound to tenant acme.
    `\nexport PIPELINE_ACCESS_KEY_ID=${stack.iam[0]!.accessKeyId}\nexport PIPELINE_SECRET_ACCESS_KEY=${stack.iam[0]!.secretAccessKey}` +
    // This deployment's Slack app signing secret (deployment configuration; no tenant sets or reads it).
    `\nexport SLACK_SIGNING_SECRET=${stack.slackSigningSecret}\n`,
  { mode: 0o600 },
);
// writeFileSync's mode applies only when it creates the file: tighten files left by older versions too.
for (const f of ['tokens.json', 'tokens.env']) chmodSync(join(dataDir, f), 0o600);
ready = true;

console.log(`Stageline local stack is up
  API            ${stack.gateway.url}   (GET /health needs no token)
  DynamoDB Local ${stack.dynamo.endpoint}   table '${stack.tableName}', data in ${dataDir}

Demo users (tokens valid 12 h; all also in ${join(dataDir, 'tokens.env')} — run: source ${join(dataDir, 'tokens.env')}):`);
for (const [name, user] of Object.entries(DEMO_USERS)) {
  console.log(`  ${name.padEnd(7)} ${user.email.padEnd(22)} tenant=${user.tenant.padEnd(7)} roles=${user.groups.join(',')}`);
}
console.log('');
for (const [name, token] of Object.entries(tokens)) console.log(`${name.toUpperCase()}_TOKEN=${token}\n`);
console.log(`Slack app of this deployment (README: Slack): request URLs ${stack.gateway.url}/api/v1/slack/actions (interactivity)
  and ${stack.gateway.url}/api/v1/slack/commands (/stageline); signing secret SLACK_SIGNING_SECRET=${stack.slackSigningSecret}
`);
console.log(`Dashboard (as victor, viewer; the token stays in the URL fragment, which never reaches a server):
  ${stack.gateway.url}/dashboard#token=${tokens.victor}

Try: curl -s ${stack.gateway.url}/api/v1/environments -H "Authorization: Bearer $ALICE_TOKEN"
     npm run cli -- promote status --token $VICTOR_TOKEN
Ctrl-C stops everything.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
