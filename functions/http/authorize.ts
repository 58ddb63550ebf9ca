import { hasRole, type Principal, type Role } from '#domain/access/auth';
import { EVERY_ENVIRONMENT, names, refusal, rightsIn, type Binding, type Rights } from '#domain/access/bindings';
import { Forbidden, FreezeWindowNotFound, RecurringPromotionNotFound, RuleNotFound } from '#domain/kernel/errors';
import type { Deps } from '#domain/ports';
import type { EnvFrom, ItemKind } from './routes/row.ts';

/**
 * Authorization of a request, in one place (functions/http/handler.ts calls it for every route with a
 * role): the caller's rights in the environment the route acts in (its row's `env`) are the union of
 * their token's tenant-wide roles and their role bindings there (domain/access/bindings.ts rightsIn).
 *
 * Cost: a caller whose token's roles already allow the route (everyone, before bindings) reads nothing
 * more, as before. Only a caller who needs a binding reads the tenant's bindings: one item, kept in the
 * warm function's memory for BINDINGS_CACHE_MS (a change is seen by every instance within that time;
 * at once by the instance that wrote it), whatever the number of bindings; a route whose environment is a
 * promotion's target reads that promotion too, and one that addresses a rule or a freeze window by id reads that item.
 */
export const BINDINGS_CACHE_MS = 1_000;
const MAX_TENANTS = 1_000;
const cache = new Map<string, { at: number; bindings: Binding[] }>();
export const bindingsCacheStats = { hits: 0, loads: 0 };

export async function bindingsOf(deps: Pick<Deps, 'store'>, tenant: string, now = Date.now()): Promise<Binding[]> {
  const hit = cache.get(tenant);
  if (hit && now - hit.at < BINDINGS_CACHE_MS) {
    bindingsCacheStats.hits++;
    return hit.bindings;
  }
  bindingsCacheStats.loads++;
  const bindings = (await deps.store.getBindings(tenant))?.bindings ?? [];
  if (cache.size >= MAX_TENANTS) cache.clear();
  cache.set(tenant, { at: now, bindings });
  return bindings;
}

/** Forgets a tenant's bindings on this instance (after a change it wrote). */
export function forgetBindings(tenant: string): void {
  cache.delete(tenant);
}

/** The answer of a change that may have changed the tenant's bindings, once it is saved: this instance forgets what it kept of them. */
export async function bindingsChanged<T>(tenant: string, change: Promise<T>): Promise<T> {
  const done = await change;
  forgetBindings(tenant);
  return done;
}

/**
 * The command a route runs, as its schemas parsed it: the path parameters and the body the handler receives. The
 * scope of a request (environmentsOf) is computed from this value only, so the authorizer and the use case read the
 * same environment: never the raw body, the raw query or the raw path a second time.
 */
export interface Command {
  params: Readonly<Record<string, unknown>>;
  body?: unknown;
}

/** The command of a parsed request (the path parameters the schema produced, the body it produced). */
export const commandOf = (params: unknown, body: unknown): Command => ({
  params: params !== null && typeof params === 'object' ? (params as Record<string, unknown>) : {},
  body,
});

/** The path parameter that names each kind of stored item (test/unit/authorization-matrix.test.ts checks the path has it). */
export const ITEM_PARAM: Record<ItemKind, string> = { rule: 'id', freeze: 'id', recurring: 'name' };

/** The fields of the parsed command that may move (or place) a stored item in an environment (a rule's new target): the caller needs the role there too. */
const ITEM_MOVES_TO: Record<ItemKind, string[]> = { rule: ['targetEnvironment'], freeze: [], recurring: ['target'] };

/**
 * The environment of a stored item (null: tenant-wide; undefined: none yet, where the request creates it);
 * 404 when the tenant has none with this id (another tenant's id included: never a 403).
 */
async function itemEnvironment(deps: Pick<Deps, 'store'>, tenant: string, kind: ItemKind, id: string, creates: boolean): Promise<string | null | undefined> {
  if (kind === 'rule') {
    const rule = await deps.store.getRule(tenant, id);
    if (!rule) throw new RuleNotFound(id);
    return rule.targetEnvironment;
  }
  if (kind === 'recurring') {
    const recurring = await deps.store.getRecurringPromotion(tenant, id);
    if (!recurring && !creates) throw new RecurringPromotionNotFound(id);
    return recurring?.target;
  }
  const window = (await deps.store.listFreezeWindows(tenant)).find((w) => w.id === id);
  if (!window) throw new FreezeWindowNotFound(id);
  return window.scope === EVERY_ENVIRONMENT ? null : window.scope;
}

/** A string field of a parsed value, read as data (an own property only: never `__proto__` or an inherited name). */
function stringField(value: unknown, name: string): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, name)) return undefined;
  const v = (value as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The scope of a command: the environments the route acts in (null: tenant-wide), as its row declares, computed
 * from the parsed command (and, for by-id routes, from the stored item it resolves). The handler authorizes exactly
 * these, and the use case acts on the same parsed command.
 */
export async function environmentsOf(deps: Pick<Deps, 'store'>, tenant: string, from: EnvFrom | undefined, cmd: Command): Promise<(string | null)[]> {
  if (from === undefined || from === 'tenant' || from === 'any' || from === 'changes') return [null];
  if ('path' in from) return [stringField(cmd.params, from.path) ?? null];
  const field = (name: string) => stringField(cmd.body, name);
  if ('body' in from) return [field(from.body) ?? null];
  if ('item' in from) {
    const id = stringField(cmd.params, ITEM_PARAM[from.item]);
    if (!id) return [null];
    const moved = ITEM_MOVES_TO[from.item].map(field).find((e) => e !== undefined);
    const stored = await itemEnvironment(deps, tenant, from.item, id, moved !== undefined);
    if (stored === undefined) return [moved ?? null];
    return moved === undefined || moved === stored ? [stored] : [stored, moved];
  }
  const id = stringField(cmd.params, from.promotion);
  if (!id) return [null];
  return [(await deps.store.getPromotion(tenant, id))?.targetEnvironment ?? null];
}

/** Whether the scope waits for the parsed body (the environment is a body field, or a body field may move the item addressed). */
export const needsBody = (from: EnvFrom | undefined) => typeof from === 'object' && ('body' in from || ('item' in from && ITEM_MOVES_TO[from.item].length > 0));

/** The caller's rights with `rights` in `environment`: what the use case sees (break-glass included). */
const withRights = (p: Principal, rights: Rights, environment: string | null): Principal => ({
  ...p,
  roles: rights.roles,
  tokenRoles: p.tokenRoles ?? p.roles,
  breakGlass: rights.breakGlass,
  rightsIn: environment,
  grants: rights.via,
});

/**
 * Authorizes the caller for `needed` where the route acts; answers the principal the use case gets
 * (unchanged when the token's roles suffice and no break-glass is asked, as before bindings).
 * 403 names the environment and the role needed.
 */
export async function authorize(
  deps: Pick<Deps, 'store'>,
  principal: Principal,
  needed: Role,
  from: EnvFrom | undefined,
  cmd: Command,
  breakGlass: boolean,
  /** before the command is parsed: refuse only a caller no binding names (as before bindings); the rest is decided on the parsed command */
  deferred = false,
): Promise<Principal> {
  if (hasRole(principal, needed) && (!breakGlass || hasRole(principal, 'admin'))) return principal;
  const bindings = await bindingsOf(deps, principal.tenant);
  const mine = bindings.filter((b) => names(b, principal));
  if (!mine.length) {
    if (hasRole(principal, needed)) return principal;
    throw new Forbidden(`This route needs the '${needed}' role; you have: ${principal.roles.join(', ') || 'none'}`);
  }
  if (deferred) return principal;
  if (needed === 'viewer') return withRights(principal, rightsIn(principal, mine, null), null);
  // 'changes' (a manifest): the role somewhere lets the request through; the use case checks each change where it acts.
  if (from === 'any' || from === 'changes') {
    const anywhere = [...new Set(mine.flatMap((b) => (b.environments.includes('*') ? ['*'] : b.environments)))];
    const where = anywhere.find((e) => rightsIn(principal, mine, e).roles.includes(needed));
    if (where === undefined) throw refusal(needed, null, rightsIn(principal, mine, null));
    return principal;
  }
  const [environment, ...more] = await environmentsOf(deps, principal.tenant, from, cmd);
  // Every environment the act reaches (a rule moved to another target: that one too) needs the role.
  for (const other of more) {
    const there = rightsIn(principal, mine, other);
    if (!there.roles.includes(needed)) throw refusal(needed, other, there);
  }
  const rights = rightsIn(principal, mine, environment!);
  if (!rights.roles.includes(needed)) throw refusal(needed, environment!, rights);
  return withRights(principal, rights, environment!);
}
