import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from '#domain/kernel/zod';
import { ROLES, type Principal, type Role } from '#domain/access/auth';
import { Forbidden, Unauthenticated } from '#domain/kernel/errors';
import { globMatch } from '#domain/kernel/glob';
import type { ServedRoute } from './served-routes.ts';
import * as env from '../configuration.ts';

type Authorizer = {
  jwt?: { claims?: Record<string, string | number | boolean | string[]> };
  iam?: { userArn?: string; callerId?: string };
};

const TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Cognito sends groups as an array in the token; API Gateway hands array claims to Lambda as
 * "[a b]" (Cognito group names cannot contain white space). The claim is a list: a comma is part
 * of a name ("release,admin" is one group, not admin), and a plain string is one group.
 */
export function parseGroups(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw !== 'string' || !raw) return [];
  if (raw.startsWith('[') && raw.endsWith(']')) return raw.slice(1, -1).split(/\s+/).filter(Boolean);
  return [raw];
}

const machinePrincipals = /* @__PURE__ */ z.schema(() =>
  z.array(
    z.object({
      arn: z.string().check(z.minLength(1)),
      tenant: z.string().check(z.regex(TENANT)),
      roles: z.array(z.enum(ROLES)).check(z.minLength(1)),
      name: z.optional(z.string()),
    }),
  ),
);

/**
 * IAM callers (pipelines) are bound to a tenant by configuration
 * (MACHINE_PRINCIPALS, a JSON list of {arn glob, tenant, roles}), never by the request.
 */
function machineConfig() {
  return machinePrincipals.parse(env.MACHINE_PRINCIPALS());
}

export function fromJwt(claims: Record<string, unknown>): Principal {
  const tenant = claims['custom:tenant_id'];
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
    throw new Forbidden('Your token carries no valid custom:tenant_id claim; ask an admin to assign you to a tenant');
  }
  const sub = claims.sub;
  if (typeof sub !== 'string' || !sub) throw new Unauthenticated('Token has no subject');
  const groups = parseGroups(claims['cognito:groups']);
  const roles = groups.filter((g): g is Role => (ROLES as readonly string[]).includes(g));
  // An address the pool says is not verified names nobody (a binding or an approval by email is never taken by
  // writing one's own email attribute); a federated token carries none (its IdP vouched for the address), as local ones.
  const unverified = claims.email_verified === false || claims.email_verified === 'false';
  const email = typeof claims.email === 'string' && !unverified ? claims.email : undefined;
  // Identities are compared (separation of duties, approvals) in one normal form: lower case.
  // API Gateway hands claims to Lambda as strings; a token without a readable `iat` counts as issued at 0 (refused after any sign-out).
  const iat = Number(claims.iat);
  const issuedAt = Number.isFinite(iat) ? iat : 0;
  return { tenant, id: sub.toLowerCase(), name: email?.toLowerCase() ?? sub.toLowerCase(), roles, groups, kind: 'user', issuedAt };
}

/**
 * Whether a caller's ARN is one a MACHINE_PRINCIPALS entry names. A role signs as the session of
 * it, `arn:aws:sts::<account>:assumed-role/<role name>/<session>` (no role path), so an IAM role ARN
 * or glob (`arn:aws:iam::<account>:role/[path/]ci-*`) names every session of the roles it matches;
 * every pattern also matches as written (an assumed-role or user ARN glob, or a caller the local
 * gateway names by its role ARN).
 */
export function callerMatches(caller: string, pattern: string): boolean {
  if (globMatch(caller, pattern)) return true;
  const role = /^arn:([\w-]+):iam::(\d{12}|\*):role\/(?:.*\/)?([^/]+)$/.exec(pattern);
  return !!role && globMatch(caller, `arn:${role[1]}:sts::${role[2]}:assumed-role/${role[3]}/*`);
}

function fromIam(arn: string | undefined): Principal {
  if (!arn) throw new Unauthenticated('Request is not signed with IAM credentials');
  const hit = machineConfig().find((m) => callerMatches(arn, m.arn));
  if (!hit) throw new Forbidden(`IAM principal ${arn} is not registered for any tenant (MACHINE_PRINCIPALS)`);
  return { tenant: hit.tenant, id: arn, name: hit.name ?? arn, roles: hit.roles, kind: 'machine' };
}

/** Builds the caller from what the gateway verified; headers never override it. */
export function principalOf(event: APIGatewayProxyEventV2, route: ServedRoute): Principal | null {
  // 'app' routes authenticate an app key in the handler (functions/http/app-read.ts), 'scim' routes the tenant's SCIM token (functions/http/scim.ts).
  if (route.auth === 'none' || route.auth === 'app' || route.auth === 'scim') return null;
  const authorizer = (event.requestContext as { authorizer?: Authorizer }).authorizer;
  const principal =
    route.auth === 'jwt'
      ? (() => {
          const claims = authorizer?.jwt?.claims;
          if (!claims) throw new Unauthenticated('Missing or invalid bearer token');
          return fromJwt(claims);
        })()
      : fromIam(authorizer?.iam?.userArn);
  const headerTenant = event.headers?.['x-tenant-id'];
  if (headerTenant !== undefined && headerTenant !== principal.tenant) {
    throw new Forbidden('X-Tenant-ID does not match the tenant of your credentials');
  }
  return principal;
}
