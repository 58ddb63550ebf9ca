import { createRemoteJWKSet, jwtVerify } from 'jose';
import { checkKey, KEY_PREFIX, parseKey, presentedKey, shouldTouch, type ReadScope } from '#domain/access/app-keys';
import { requireRole, type Principal } from '#domain/access/auth';
import { EnvironmentNotFound, Forbidden, Unauthenticated } from '#domain/kernel/errors';
import type { Environment } from '#domain/kernel/model';
import type { Ctx, Deps } from '#domain/ports';
import { logger } from '../adapters/observability.ts';
import * as env from '../configuration.ts';
import { depsFor } from './tenant-deps.ts';
import { keyAndEnvironment } from './read-cache.ts';
import { fromJwt } from './principal.ts';
import type { ServedRoute } from './served-routes.ts';

type JwtVerifier = (token: string) => Promise<Record<string, unknown>>;
let verifier: JwtVerifier | undefined;

/** The local stack verifies people's tokens with its own issuer (on AWS: Cognito's JWKS, JWT_ISSUER and JWT_AUDIENCE). */
export function registerJwtVerifier(verify: JwtVerifier): void {
  verifier = verify;
}

/** What API Gateway's JWT authorizer checks (signature against the issuer's JWKS, issuer, audience, expiry), done here for routes the gateway lets through. */
function jwtVerifier(): JwtVerifier {
  if (verifier) return verifier;
  const issuer = env.JWT_ISSUER();
  const audience = env.JWT_AUDIENCE();
  if (!issuer || !audience) throw new Unauthenticated('This route reads with an app key (JWT_ISSUER is not set for people)');
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  verifier = async (token) => (await jwtVerify(token, jwks, { issuer, audience, algorithms: ['RS256'], requiredClaims: ['exp', 'iat', 'sub'] })).payload;
  return verifier;
}

/** A person reading with their ID token (the dashboard): verified like the JWT authorizer does, bound to the token's tenant. */
async function personOf(token: string): Promise<Principal> {
  const claims = await jwtVerifier()(token).catch((err: unknown) => {
    if (err instanceof Unauthenticated) throw err;
    throw new Unauthenticated('Send an app key (Bearer slk.… or X-API-Key), or a valid ID token');
  });
  return fromJwt(claims);
}

/**
 * Who reads an environment, and the environment as it is now, in one consistent read request:
 * - an app key (routes with auth 'app'): `Authorization: Bearer slk.…` or `X-API-Key: slk.…`,
 *   checked here (API Gateway lets these routes through). Its tenant and environment bind the
 *   read; a key of another environment gets 403, an unknown, altered or revoked key 401.
 * - a person's ID token on the same routes when the path names the environment (verified here as
 *   API Gateway's JWT authorizer would: JWKS signature, issuer, audience, expiry), viewer role;
 * - an IAM caller (auth 'iam', the machine routes): the gateway verified SigV4 and the principal
 *   is bound to its tenant by MACHINE_PRINCIPALS.
 * `environment`: the one the path names (undefined on OFREP routes: the key's own).
 */
export async function appRead(input: {
  route: ServedRoute;
  headers: Record<string, string | undefined>;
  ctx: Ctx;
  deps: Deps;
  environment?: string;
  /** the target the request names (?target=, the evaluation context's), if any: without one, an app key not scoped to a target reads no targets */
  target?: string;
}): Promise<{ scope: ReadScope; env: Environment; deps: Deps }> {
  const read = await readOf(input);
  // X-Tenant-ID, when sent, must be the tenant of the credential, as on every route (functions/http/principal.ts).
  const headerTenant = input.headers['x-tenant-id'];
  if (headerTenant !== undefined && headerTenant !== read.scope.tenant) throw new Forbidden('X-Tenant-ID does not match the tenant of your credentials');
  return read;
}

async function readOf(input: {
  route: ServedRoute;
  headers: Record<string, string | undefined>;
  ctx: Ctx;
  deps: Deps;
  environment?: string;
  target?: string;
}): Promise<{ scope: ReadScope; env: Environment; deps: Deps }> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(input.headers.authorization ?? '')?.[1];
  if (input.route.auth === 'app' && bearer && !bearer.startsWith(`${KEY_PREFIX}.`) && !input.headers['x-api-key'] && input.environment !== undefined) {
    // Not an app key: a person's ID token (the dashboard reads this way); OFREP routes (no environment in the path) need a key.
    const person = await personOf(bearer);
    // The middleware enforces a route's role for the callers it authenticates; an app route's person is authenticated here, so its role is checked here.
    if (input.route.role) requireRole(person, input.route.role);
    return readAs(person, input.environment, depsFor(person.tenant));
  }
  if (input.route.auth === 'app') {
    const parsed = parseKey(presentedKey(input.headers) ?? '');
    const d = parsed ? depsFor(parsed.tenant) : input.deps;
    const wanted = input.environment ?? parsed?.environment;
    // From the function's memory for at most READ_CACHE_TTL_MS (revocations and promotions are seen within it).
    const found = parsed && wanted ? await keyAndEnvironment(d, parsed.tenant, parsed.id, parsed.secret, wanted, input.target) : { key: null, env: null };
    const now = d.clock();
    const scope = checkKey(parsed, found.key, input.environment, now);
    if (!found.env) throw new EnvironmentNotFound(scope.environment);
    if (shouldTouch(found.key!, now)) {
      // Last-used is a convenience: a failed write never fails the read.
      await d.store
        .touchAppKey(scope.tenant, found.key!.id, now.toISOString())
        .catch((err: unknown) => logger.warn('app key last-used not written', { error: String(err) }));
    }
    return { scope, env: found.env, deps: d };
  }
  return readAs(input.ctx.principal, input.environment!, input.deps);
}

/** A person (JWT) or an IAM caller reads any environment of their tenant with the route's role (viewer). */
async function readAs(principal: Principal, environment: string, deps: Deps): Promise<{ scope: ReadScope; env: Environment; deps: Deps }> {
  const { env } = await deps.store.appKeyAndEnvironment(principal.tenant, null, environment);
  if (!env) throw new EnvironmentNotFound(environment);
  return { scope: { tenant: principal.tenant, environment, reader: principal.name }, env, deps };
}
