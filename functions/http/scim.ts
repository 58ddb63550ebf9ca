import SCIMMY from 'scimmy';
import {
  checkScimToken,
  createScimGroup,
  createScimUser,
  deleteScimGroup,
  deleteScimUser,
  getScimGroup,
  getScimUser,
  listScimGroups,
  listScimUsers,
  parseScimToken,
  presentedScimToken,
  replaceScimGroup,
  replaceScimUser,
  type ScimGroup,
  type ScimGroupInput,
  type ScimUser,
  type ScimUserInput,
} from '#domain/access/scim';
import { DomainError, ValidationFailed } from '#domain/kernel/errors';
import type { Ctx, With } from '#domain/ports';
import { errorResponse } from './errors.ts';

/**
 * The SCIM 2.0 protocol (RFC 7643/7644) over the rules of domain/access/scim.ts, with the SCIM library
 * (scimmy): it validates what comes in and goes out against the SCIM schemas (core User with the
 * enterprise extension, Group), parses filters and matches them, applies PATCH operations, makes the
 * ListResponse (startIndex/count paging) and the SCIM error message. The handler (functions/handlers/scim.ts)
 * authenticates the tenant's SCIM token and hands each request here.
 */

export const SCIM_BASE = '/scim/v2';
/** The most resources one list answers (a larger `count` is cut to it). */
export const SCIM_MAX_RESULTS = 200;
export const SCIM_MEDIA_TYPE = 'application/scim+json';

type People = With<'users'>;
/** What each library handler is given: the request's deps and context, and the failure that is not a SCIM answer (kept to answer as the API does). */
interface Call {
  deps: People;
  ctx: Ctx;
  failure?: unknown;
}

/** A domain refusal as the SCIM error it is; anything else is kept on the call (a store failure answers 503/500, not the library's 404). */
function scimErrorOf(call: Call, err: unknown): never {
  if (err instanceof SCIMMY.Types.Error) throw err;
  if (err instanceof DomainError) {
    const status = errorResponse(err).statusCode;
    const detail = err instanceof ValidationFailed ? err.issues.map((i) => `${i.path.replace(/^body\./, '')}: ${i.message}`).join('; ') : err.message;
    const scimType = status === 409 ? 'uniqueness' : status === 400 || status === 422 ? 'invalidValue' : null;
    throw new SCIMMY.Types.Error(status, scimType as never, detail);
  }
  call.failure = err;
  throw err;
}

/** A library handler: the library passes the request's call last (after the resource, and the validated instance on writes). */
const guarded =
  <A extends unknown[], R>(fn: (call: Call, ...args: A) => Promise<R>) =>
  async (...args: [...A, Call]): Promise<R> => {
    const call = args[args.length - 1] as Call;
    try {
      return await fn(call, ...(args.slice(0, -1) as A));
    } catch (err) {
      return scimErrorOf(call, err);
    }
  };

const meta = (r: { kind: string; created: string; lastModified: string }) => ({
  resourceType: r.kind,
  created: new Date(r.created),
  lastModified: new Date(r.lastModified),
});

/** A user as SCIM shows it (the library then checks it against the schema and drops what the schema does not return). */
const userOut = (u: ScimUser) => ({ ...u.attributes, id: u.id, userName: u.userName, active: u.active, meta: meta(u) });
const groupOut = (g: ScimGroup) => ({ ...g.attributes, id: g.id, displayName: g.displayName, members: g.members.map((value) => ({ value })), meta: meta(g) });

/** The same order on every request (Okta pages with startIndex and expects it). */
const byCreation = <T extends { created: string; id: string }>(a: T, b: T) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id);

/** What the library validated of a written resource, as plain JSON. */
const plain = <T>(instance: unknown): T => JSON.parse(JSON.stringify(instance)) as T;

let declared = false;

/** Declares the resources and the service provider's configuration once per function instance (the library keeps them globally; each request's deps travel in its call). */
function declare(): void {
  if (declared) return;
  SCIMMY.Config.set({
    documentationUri: undefined,
    patch: true,
    filter: { supported: true, maxResults: SCIM_MAX_RESULTS },
    bulk: false,
    sort: false,
    etag: false,
    changePassword: false,
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Tenant SCIM token',
        description: 'The tenant SCIM token an admin of the tenant creates (POST /api/v1/scim/token), sent as Authorization: Bearer scim.…',
      },
    ],
  });
  for (const r of [
    SCIMMY.Resources.User,
    SCIMMY.Resources.Group,
    SCIMMY.Resources.Schema,
    SCIMMY.Resources.ResourceType,
    SCIMMY.Resources.ServiceProviderConfig,
  ])
    r.basepath(SCIM_BASE);
  SCIMMY.Resources.declare(SCIMMY.Resources.User, {
    egress: guarded(async (call: Call, resource: SCIMMY.Resources.User) => {
      if (resource.id) return userOut(await getScimUser(call.deps, call.ctx, resource.id));
      const all = (await listScimUsers(call.deps, call.ctx)).sort(byCreation).map(userOut);
      return resource.filter ? resource.filter.match(all) : all;
    }),
    ingress: guarded(async (call: Call, resource: SCIMMY.Resources.User, instance: unknown) => {
      const input = plain<ScimUserInput>(instance);
      return userOut(resource.id ? await replaceScimUser(call.deps, call.ctx, resource.id, input) : await createScimUser(call.deps, call.ctx, input));
    }),
    degress: guarded(async (call: Call, resource: SCIMMY.Resources.User) => deleteScimUser(call.deps, call.ctx, resource.id!)),
  } as never);
  SCIMMY.Resources.declare(SCIMMY.Resources.Group, {
    egress: guarded(async (call: Call, resource: SCIMMY.Resources.Group) => {
      if (resource.id) return groupOut(await getScimGroup(call.deps, call.ctx, resource.id));
      const all = (await listScimGroups(call.deps, call.ctx)).sort(byCreation).map(groupOut);
      return resource.filter ? resource.filter.match(all) : all;
    }),
    ingress: guarded(async (call: Call, resource: SCIMMY.Resources.Group, instance: unknown) => {
      const input = plain<ScimGroupInput>(instance);
      return groupOut(resource.id ? await replaceScimGroup(call.deps, call.ctx, resource.id, input) : await createScimGroup(call.deps, call.ctx, input));
    }),
    degress: guarded(async (call: Call, resource: SCIMMY.Resources.Group) => deleteScimGroup(call.deps, call.ctx, resource.id!)),
  } as never);
  declared = true;
}

export interface ScimAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The SCIM error message for a status (and the library's scimType), e.g. 401 for a missing token. */
export function scimError(status: number, detail: string, scimType?: string): ScimAnswer {
  const body = plain(new SCIMMY.Messages.Error(new SCIMMY.Types.Error(status, (scimType ?? null) as never, detail)));
  return { status, body, ...(status === 401 ? { headers: { 'www-authenticate': 'Bearer realm="scim"' } } : {}) };
}

const INTEGER = /^\d{1,9}$/;

/** The list parameters a request names (RFC 7644 3.4.2), as the library takes them: integers for paging, a bad one answers 400. */
function listParams(query: Record<string, string | undefined>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const k of ['filter', 'attributes', 'excludedAttributes'] as const) if (query[k] !== undefined) params[k] = query[k];
  for (const k of ['startIndex', 'count'] as const) {
    const v = query[k];
    if (v === undefined) continue;
    if (!INTEGER.test(v)) throw new SCIMMY.Types.Error(400, 'invalidValue', `${k} must be a non-negative integer, not '${v}'`);
    params[k] = k === 'count' ? Math.min(Number(v), SCIM_MAX_RESULTS) : Math.max(Number(v), 1);
  }
  params.count ??= SCIM_MAX_RESULTS;
  return params;
}

const RESOURCES = { Users: SCIMMY.Resources.User, Groups: SCIMMY.Resources.Group } as const;

/**
 * Answers one SCIM request. `path` is what follows /scim/v2 (`/Users`, `/Users/{id}`, …); `body` the
 * parsed JSON body (undefined when none). Every success body has passed the library's schema.
 */
export async function answerScim(
  deps: People,
  ctx: Ctx,
  req: { method: string; resource: string; id?: string; query: Record<string, string | undefined>; body: unknown },
): Promise<ScimAnswer> {
  declare();
  const call: Call = { deps, ctx };
  try {
    const { method, resource, id, query, body } = req;
    if (resource === 'ServiceProviderConfig') return { status: 200, body: plain(await new SCIMMY.Resources.ServiceProviderConfig().read()) };
    if (resource === 'Schemas') return { status: 200, body: plain(await (id ? new SCIMMY.Resources.Schema(id) : new SCIMMY.Resources.Schema()).read()) };
    if (resource === 'ResourceTypes')
      return { status: 200, body: plain(await (id ? new SCIMMY.Resources.ResourceType(id) : new SCIMMY.Resources.ResourceType()).read()) };
    const Type = RESOURCES[resource as keyof typeof RESOURCES];
    if (!Type) return scimError(404, `No SCIM resource type ${resource}`);
    const attributes: Record<string, unknown> = {};
    for (const k of ['attributes', 'excludedAttributes'] as const) if (query[k] !== undefined) attributes[k] = query[k];
    const one = () => new Type(id!, attributes as never);
    switch (method) {
      case 'GET':
        return { status: 200, body: plain(await (id ? one() : new Type(listParams(query) as never)).read(call as never)) };
      case 'POST':
        return { status: 201, body: plain(await new Type(attributes as never).write(body as never, call as never)) };
      case 'PUT':
        return { status: 200, body: plain(await one().write(body as never, call as never)) };
      case 'PATCH': {
        const changed = await one().patch(body as never, call as never);
        // Groups answer 204 (what Entra asks: a group's members are not sent back); a user its state (unchanged: as it is).
        if (resource === 'Groups') return { status: 204 };
        return { status: 200, body: plain(changed ?? (await one().read(call as never))) };
      }
      case 'DELETE':
        await one().dispose(call as never);
        return { status: 204 };
      default:
        return scimError(405, `${method} is not a SCIM operation on ${resource}`);
    }
  } catch (err) {
    if (call.failure !== undefined) throw call.failure;
    if (err instanceof SCIMMY.Types.Error) {
      const body = plain<{ status: string }>(new SCIMMY.Messages.Error(err));
      return { status: Number(body.status), body };
    }
    throw err;
  }
}

/** The tenant a SCIM request is of, from its token (read from the tenant's store); 401 (in SCIM's format) for anything else. */
export async function scimCaller(
  headers: Record<string, string | undefined>,
  store: (tenant: string) => People,
): Promise<{ ctx: Ctx; deps: People } | ScimAnswer> {
  const parsed = parseScimToken(presentedScimToken(headers) ?? '');
  const deps = parsed ? store(parsed.tenant) : null;
  const record = parsed && deps ? await deps.store.getScimToken(parsed.tenant) : null;
  try {
    const principal = checkScimToken(parsed, record, deps ? deps.clock() : new Date(0));
    if (headers['x-tenant-id'] !== undefined && headers['x-tenant-id'] !== principal.tenant)
      return scimError(403, 'X-Tenant-ID does not match the tenant of your credentials');
    return { ctx: { principal }, deps: deps! };
  } catch (err) {
    return scimError(401, (err as Error).message);
  }
}
