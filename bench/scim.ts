import { documentClient } from '../functions/adapters/dynamo-store.ts';
import { fakeUserPool } from '../local/measure/cognito-pool.ts';
import { scimClient, PATCH_OP, SCHEMA_GROUP, type ScimSend } from '../local/measure/scim-client.ts';
import { RequestCounter, totalRequests, type Counts } from '../local/measure/counter.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { table } from '../scripts/build.ts';
import { heading, int } from './common.ts';

/**
 * `npm run bench`, SCIM section: a 1,000-user initial sync in Microsoft Entra ID's sequence
 * against the SCIM endpoint's code (functions/http/scim.ts: the SCIM library, the rules of
 * domain/access/scim.ts, the DynamoDB store) on DynamoDB Local, with Cognito a pool in memory
 * (local/measure/cognito-pool.ts). Entra's order: for each user, GET /Users?filter=userName eq "…" (none)
 * then POST /Users; then for each group, GET /Groups?filter=displayName eq "…" then POST /Groups and a
 * PATCH adding its members. Goal: 0 errors. Printed: DynamoDB requests, read and write units per user
 * (the DynamoDB client counts them: local/measure/counter.ts).
 */
const USERS = Number(process.env.BENCH_SCIM_USERS ?? 1_000);
const GROUPS = 10;

const units = (c: Counts, write: boolean) =>
  Object.entries(c)
    .filter(([command]) => /(Write|Put|Update|Delete)/.test(command) === write)
    .reduce((n, [, s]) => n + s.capacity, 0);

export async function benchScim(): Promise<{ users: number; errors: number; requestsPerUser: number; rruPerUser: number; wruPerUser: number }> {
  heading(`SCIM: a ${int(USERS)}-user initial sync in Entra ID's sequence (filter, create; then ${GROUPS} groups with members)`);
  const local = await startDynamo({});
  const name = `bench-scim-${Date.now()}`;
  await ensureTable(local.endpoint, name);
  const db = documentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: localCredentials });
  const counter = new RequestCounter();
  counter.attach(db);
  const pool = fakeUserPool();
  try {
    const scim = await scimClient(db, name, pool, 'acme');
    let errors = 0;
    const send: ScimSend = async (method, resource, opts = {}) => {
      const a = await scim.send(method, resource, opts);
      if (a.status >= 400) {
        errors++;
        if (errors <= 3) console.log(`  error: ${method} /${resource} ${a.status} ${JSON.stringify(a.body)}`);
      }
      return a;
    };
    counter.reset();
    const ids: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const body = scim.user(i);
      const found = await send('GET', 'Users', { filter: `userName eq "${body.userName}"` });
      if ((found.body as { totalResults?: number }).totalResults !== 0) errors++;
      const r = await send('POST', 'Users', { body });
      ids.push((r.body as { id: string }).id);
    }
    const users = counter.take();
    counter.reset();
    for (let g = 0; g < GROUPS; g++) {
      const displayName = `team-${g}`;
      await send('GET', 'Groups', { filter: `displayName eq "${displayName}"` });
      const made = await send('POST', 'Groups', { body: { schemas: [SCHEMA_GROUP], externalId: `group-${g}`, displayName, members: [] } });
      const members = ids.filter((_, i) => i % GROUPS === g).map((value) => ({ value }));
      await send('PATCH', 'Groups', {
        id: (made.body as { id: string }).id,
        body: { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: members }] },
      });
    }
    const groups = counter.take();
    const row = (what: string, c: Counts, per: number) => [
      what,
      int(totalRequests(c)),
      (totalRequests(c) / per).toFixed(1),
      (units(c, false) / per).toFixed(1),
      (units(c, true) / per).toFixed(1),
    ];
    console.log(
      table(
        ['phase', 'DynamoDB requests', 'requests per user', 'RRU per user', 'WRU per user'],
        [row(`${int(USERS)} users (GET filter + POST)`, users, USERS), row(`${GROUPS} groups (GET filter + POST + PATCH members)`, groups, USERS)],
      ),
    );
    const perUser = totalRequests(users) / USERS;
    const wru = units(users, true) / USERS;
    console.log(
      `  errors: ${errors} (goal: 0, ${errors === 0 ? 'met' : 'NOT met'}). Cognito calls: ${int(pool.calls().length)}. ` +
        `The filter reads the userName's claim, a create the claims of its userName and address (written with the record): neither reads the tenant's users, so read units do not grow with the tenant.`,
    );
    return { users: USERS, errors, requestsPerUser: perUser, rruPerUser: units(users, false) / USERS, wruPerUser: wru };
  } finally {
    pool.restore();
    db.destroy();
    await local.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchScim();
