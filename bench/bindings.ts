import type { Principal } from '#domain/access/auth';
import type { Binding } from '#domain/access/bindings';
import { auditEntry } from '#domain/audit/audit';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { authorize, forgetBindings } from '../functions/http/authorize.ts';
import { ROUTES } from '../functions/http/routes.ts';
import { RequestCounter, totalRequests, type Counts } from '../local/measure/counter.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { table } from '../scripts/build.ts';
import { heading } from './common.ts';

/**
 * `npm run bench`, authorization section: what deciding a request costs with role bindings, with 0 and
 * with 50 bindings in the tenant (DynamoDB Local, requests counted by the client). The goal:
 * a caller whose token's roles allow the route pays nothing more than before bindings (0 requests, 0
 * WRU); a caller who needs a binding reads one item (the bindings, whatever their number) once per
 * BINDINGS_CACHE_MS on a warm function, and writes nothing.
 */
const COUNTS = [0, 50];
const capacity = (c: Counts) => Object.values(c).reduce((n, s) => n + s.capacity, 0);

export async function benchBindings(): Promise<void> {
  heading('Authorization: DynamoDB requests per decision, with 0 and 50 role bindings');
  const local = await startDynamo({});
  const rows: string[][] = [];
  try {
    for (const n of COUNTS) {
      const name = `bench-bindings-${n}-${Date.now()}`;
      await ensureTable(local.endpoint, name);
      const db = documentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: localCredentials });
      const counter = new RequestCounter();
      counter.attach(db);
      try {
        const store = new DynamoStore(db, name);
        const tenant = `acme${n}`;
        const bindings: Binding[] = Array.from({ length: n }, (_, i) => ({ group: `team-${i}`, role: 'deployer', environments: ['staging'] }));
        if (n)
          await store.commit(tenant, [
            { kind: 'accessBindings', bindings, expectedVersion: null },
            {
              kind: 'audit',
              entry: auditEntry(
                tenant,
                {
                  actor: 'bench',
                  actorName: 'bench',
                  action: 'access.bindings.put',
                  entityType: 'tenant',
                  entityId: 'access-bindings',
                  before: null,
                  after: 'bench',
                },
                new Date(),
              ),
            },
          ]);
        const route = ROUTES.find((r) => r.method === 'POST' && r.path === '/api/v1/environments/{env}/items/batch')!;
        const decide = (p: Principal) => authorize({ store }, p, route.role!, route.env, { params: { env: 'staging' } }, false);
        const token: Principal = { tenant, id: 'u1', name: 'u1', roles: ['deployer'], groups: ['deployer'], kind: 'user' };
        const scoped: Principal = { tenant, id: 'u2', name: 'u2', roles: [], groups: [n ? 'team-7' : 'nobody'], kind: 'user' };
        const measure = async (p: Principal, fresh: boolean) => {
          if (fresh) forgetBindings(tenant);
          counter.reset();
          await decide(p).catch(() => undefined);
          const c = counter.take();
          return { requests: totalRequests(c), units: capacity(c), writes: Object.entries(c).filter(([k]) => !/Get|Query|Scan/.test(k)).length };
        };
        const byToken = await measure(token, true);
        const first = await measure(scoped, true);
        const cached = await measure(scoped, false);
        rows.push([
          String(n),
          `${byToken.requests} (${byToken.writes} writes)`,
          `${first.requests} (${first.units} RCU, ${first.writes} writes)`,
          `${cached.requests} (${cached.writes} writes)`,
        ]);
      } finally {
        db.destroy();
      }
    }
  } finally {
    await local.stop();
  }
  console.log(table(['bindings in the tenant', 'token role allows it', 'needs a binding: first decision', 'needs a binding: within 1 s (cached)'], rows));
  const same = rows.every((r) => r[1] === rows[0]![1] && r[3] === rows[0]![3]);
  console.log(
    `  goal: a request whose token allows it costs what it did before bindings (0 requests, 0 WRU), with 0 or 50 bindings: ${same && rows[0]![1]!.startsWith('0 ') ? 'met' : 'NOT met'}; ` +
      `one who needs a binding reads one item (the tenant's bindings) at most once a second per warm function, and writes nothing.`,
  );
}
