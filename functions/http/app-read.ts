import { checkKey, parseKey, presentedKey, shouldTouch, type ReadScope } from '#domain/app-keys';
import { requireRole } from '#domain/auth';
import { EnvironmentNotFound } from '#domain/errors';
import type { Environment } from '#domain/model';
import type { Ctx, Deps } from '#domain/ports';
import { logger } from '../adapters/observability.ts';
import { depsFor } from './deps.ts';
import type { Route } from './routes.ts';

/**
 * Who reads an environment, and the environment as it is now, in one consistent read request:
 * - an app key (routes with auth 'app'): `Authorization: Bearer slk.…` or `X-API-Key: slk.…`,
 *   checked here (API Gateway lets these routes through). Its tenant and environment bind the
 *   read; a key of another environment gets 403, an unknown, altered or revoked key 401.
 * - an IAM caller (auth 'iam', the machine routes): the gateway verified SigV4 and the principal
 *   is bound to its tenant by MACHINE_PRINCIPALS.
 * `environment`: the one the path names (undefined on OFREP routes: the key's own).
 */
export async function appRead(input: { route: Route; headers: Record<string, string | undefined>; ctx: Ctx; deps: Deps; environment?: string }): Promise<{ scope: ReadScope; env: Environment; deps: Deps }> {
  if (input.route.auth === 'app') {
    const parsed = parseKey(presentedKey(input.headers) ?? '');
    const d = parsed ? depsFor(parsed.tenant) : input.deps;
    const wanted = input.environment ?? parsed?.environment;
    const found = parsed && wanted ? await d.store.appKeyAndEnvironment(parsed.tenant, parsed.id, wanted) : { key: null, env: null };
    const now = d.clock();
    const scope = checkKey(parsed, found.key, input.environment, now);
    if (!found.env) throw new EnvironmentNotFound(scope.environment);
    if (shouldTouch(found.key!, now)) {
      // Last-used is a convenience: a failed write never fails the read.
      await d.store.touchAppKey(scope.tenant, found.key!.id, now.toISOString()).catch((err: unknown) => logger.warn('app key last-used not written', { error: String(err) }));
    }
    return { scope, env: found.env, deps: d };
  }
  const principal = input.ctx.principal;
  requireRole(principal, 'viewer');
  const environment = input.environment!;
  const { env } = await input.deps.store.appKeyAndEnvironment(principal.tenant, null, environment);
  if (!env) throw new EnvironmentNotFound(environment);
  return { scope: { tenant: principal.tenant, environment, reader: principal.name }, env, deps: input.deps };
}
