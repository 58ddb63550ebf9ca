import { createTenant } from '#domain/access/users';
import { issueScimToken, parseScimToken, checkScimToken } from '#domain/access/scim';
import type { Ctx } from '#domain/ports';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoStore } from '../../functions/adapters/dynamo-store.ts';
import { CognitoUserAdmin } from '../../functions/adapters/cognito-users.ts';
import { answerScim, type ScimAnswer } from '../../functions/http/scim.ts';
import type { fakeUserPool } from './cognito-pool.ts';
import { storeOnlyDeps } from './store-only.ts';

export const SCHEMA_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCHEMA_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** One SCIM request as the endpoint answers it (functions/http/scim.ts), once the tenant's token was checked. */
export type ScimSend = (method: string, resource: string, opts?: { id?: string; filter?: string; body?: unknown }) => Promise<ScimAnswer>;

/**
 * A tenant (`tenant`, email domain `<tenant>.bench`) with a SCIM token, on the real store over `db`, with Cognito the
 * pool in memory: what the SCIM measurements (bench/scim.ts, and the tests that check their counts) send requests to.
 */
export async function scimClient(db: DynamoDBDocumentClient, table: string, pool: ReturnType<typeof fakeUserPool>, tenant: string) {
  const domain = `${tenant}.bench`;
  const pat = pool.add({ email: `pat@platform.bench`, tenant: 'platform', groups: ['admin', 'platform-admin'] });
  const store = new DynamoStore(db, table);
  const deps = { ...storeOnlyDeps(store), users: new CognitoUserAdmin(pool.client, 'bench-pool') };
  const as = (id: string, of: string, email: string, roles: string[]): Ctx => ({
    principal: { tenant: of, id, name: email, roles: roles.filter((r) => r !== 'platform-admin') as never, groups: roles, kind: 'user' },
  });
  const made = await createTenant(deps, as(pat.sub, pat.tenant, pat.email, ['admin', 'platform-admin']), {
    id: tenant,
    adminEmail: `ada@${domain}`,
    emailDomains: [domain],
  });
  const issued = await issueScimToken(deps, as(made.admin.id, tenant, `ada@${domain}`, ['admin']));
  // The SCIM client, as the handler authenticates it (functions/http/scim.ts scimCaller).
  const ctx: Ctx = { principal: checkScimToken(parseScimToken(issued.token), await store.getScimToken(tenant), new Date()) };
  const send: ScimSend = (method, resource, opts = {}) =>
    answerScim(deps, ctx, { method, resource, id: opts.id, query: opts.filter ? { filter: opts.filter } : {}, body: opts.body });
  /** A user's body as Entra ID sends it: the i-th of the tenant. */
  const user = (i: number, active = true) => {
    const userName = `user${i}@${domain}`;
    return {
      schemas: [SCHEMA_USER],
      externalId: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
      userName,
      active,
      displayName: `User ${i}`,
      emails: [{ primary: true, type: 'work', value: userName }],
      name: { givenName: 'User', familyName: String(i) },
    };
  };
  return { store, deps, ctx, send, user, domain };
}
