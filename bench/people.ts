import { changeRoles, createTenant, inviteUser, listUsers } from '#domain/access/users';
import type { Ctx } from '#domain/ports';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { CognitoUserAdmin } from '../functions/adapters/cognito-users.ts';
import { fakeUserPool } from '../local/measure/cognito-pool.ts';
import { storeOnlyDeps } from '../local/measure/store-only.ts';
import { RequestCounter, totalRequests } from '../local/measure/counter.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { table } from '../scripts/build.ts';
import { heading, int } from './common.ts';

/**
 * `npm run bench`, people section: what `GET /users` and a last-admin check (a demotion)
 * cost in Cognito calls and DynamoDB requests, with 10 and with 10,000 users of other tenants in the
 * pool. Cognito is a pool in memory behind aws-sdk-client-mock (local/measure/cognito-pool.ts, with
 * Cognito's 60-a-page paging) and its calls are counted there; the table is DynamoDB Local. The goal:
 * the same figures in both rows (the cost is the tenant's people, never the pool's).
 */
const OTHERS = [10, 10_000];
const PEOPLE = 5;

export async function benchPeople(): Promise<{ others: number; cognitoList: number; cognitoDemote: number }[]> {
  heading(`People: Cognito calls per GET /users and per demotion, a tenant of ${PEOPLE} people beside other tenants' users`);
  const local = await startDynamo({});
  const rows: { others: number; cognitoList: number; cognitoDemote: number; ddbList: number; ddbDemote: number }[] = [];
  try {
    for (const others of OTHERS) {
      const name = `bench-people-${others}-${Date.now()}`;
      await ensureTable(local.endpoint, name);
      const db = documentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: localCredentials });
      const counter = new RequestCounter();
      counter.attach(db);
      const pool = fakeUserPool();
      try {
        const roles = ['viewer', 'deployer', 'approver', 'admin'];
        for (let i = 0; i < others; i++) pool.add({ email: `u${i}@other${i % 100}.bench`, tenant: `other${i % 100}`, groups: [roles[i % 4]!] });
        const pat = pool.add({ email: 'pat@platform.bench', tenant: 'platform', groups: ['admin', 'platform-admin'] });
        const deps = { ...storeOnlyDeps(new DynamoStore(db, name)), users: new CognitoUserAdmin(pool.client, 'bench-pool') };
        const as = (id: string, tenant: string, email: string, groups: string[]): Ctx => ({
          principal: { tenant, id, name: email, roles: groups.filter((g) => roles.includes(g)) as never, groups, kind: 'user' },
        });
        const made = await createTenant(deps, as(pat.sub, 'platform', pat.email, ['admin', 'platform-admin']), { id: 'acme', adminEmail: 'ada@acme.bench' });
        const ada = as(made.admin.id, 'acme', 'ada@acme.bench', ['admin']);
        const invited = [];
        for (let i = 1; i < PEOPLE; i++) invited.push(await inviteUser(deps, ada, { email: `p${i}@acme.bench`, roles: [i === 1 ? 'admin' : 'deployer'] }));
        pool.resetCalls();
        counter.reset();
        const listed = await listUsers(deps, ada);
        if (listed.items.length !== PEOPLE) throw new Error(`listed ${listed.items.length} people, not ${PEOPLE}`);
        const cognitoList = pool.calls().length;
        const ddbList = totalRequests(counter.take());
        pool.resetCalls();
        counter.reset();
        await changeRoles(deps, ada, invited[0]!.id, ['viewer']);
        rows.push({ others, cognitoList, cognitoDemote: pool.calls().length, ddbList, ddbDemote: totalRequests(counter.take()) });
      } finally {
        pool.restore();
        db.destroy();
      }
    }
  } finally {
    await local.stop();
  }
  console.log(
    table(
      [
        'users in other tenants',
        'Cognito calls per GET /users',
        'DynamoDB requests',
        'Cognito calls per demotion (last-admin check, sign-out)',
        'DynamoDB requests',
      ],
      rows.map((r) => [int(r.others), String(r.cognitoList), String(r.ddbList), String(r.cognitoDemote), String(r.ddbDemote)]),
    ),
  );
  const same = rows.every((r) => r.cognitoList === rows[0]!.cognitoList && r.cognitoDemote === rows[0]!.cognitoDemote);
  console.log(
    `  goal: the same with 10 or 10,000 users elsewhere (the tenant's people index, not the pool): ${same ? 'met' : 'NOT met'}. ` +
      `GET /users = the caller's current roles (ListUsers + AdminListGroupsForUser) and one AdminGetUser per person of the tenant (status); ` +
      `before the index it paged through every member of the four role groups of the pool.`,
  );
  return rows;
}
