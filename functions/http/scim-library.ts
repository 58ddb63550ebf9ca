import SCIMMY from 'scimmy';
import {
  createScimGroup,
  createScimUser,
  deleteScimGroup,
  deleteScimUser,
  findScimGroups,
  findScimUsers,
  getScimGroup,
  getScimUser,
  listScimGroups,
  listScimUsers,
  replaceScimGroup,
  replaceScimUser,
  type ScimGroup,
  type ScimGroupInput,
  type ScimUser,
  type ScimUserInput,
} from '#domain/access/scim';
import { DomainError } from '#domain/kernel/errors';
import type { Ctx } from '#domain/ports';
import { refusalOf, SCIM_BASE, SCIM_MAX_RESULTS, scimError, type Call, type People, type ScimAnswer, type ScimType } from './scim-shared.ts';

/**
 * The SCIM library's side of functions/http/scim.ts (scimmy: the SCIM schemas, filters, PATCH, ListResponse),
 * loaded on the first SCIM request that needs it. Its error class, for scimFailure there.
 */
export const LibraryError = SCIMMY.Types.Error;

/** A domain refusal as the SCIM error it is; anything else is kept on the call (a store failure answers 503, never the library's 404). */
function scimErrorOf(call: Call, err: unknown): never {
  if (err instanceof SCIMMY.Types.Error) throw err;
  const refusal = err instanceof DomainError ? refusalOf(err) : null;
  if (refusal) throw new SCIMMY.Types.Error(refusal.status, (refusal.scimType ?? null) as never, refusal.detail);
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

/** What SCIM does with each kind of resource, the one table the library's handlers are declared from (declare). */
interface Kind<R, I> {
  Resource: typeof SCIMMY.Resources.User | typeof SCIMMY.Resources.Group;
  read: (deps: People, ctx: Ctx, id: string) => Promise<R>;
  list: (deps: People, ctx: Ctx) => Promise<R[]>;
  /** The attribute one resource holds alone (any case), and the resources of a value, found without reading them all (null: read them all). */
  named: { attribute: 'userName' | 'displayName'; find: (deps: People, ctx: Ctx, value: string) => Promise<R[] | null> };
  create: (deps: People, ctx: Ctx, input: I) => Promise<R>;
  replace: (deps: People, ctx: Ctx, id: string, input: I) => Promise<R>;
  remove: (deps: People, ctx: Ctx, id: string) => Promise<void>;
  show: (r: R) => Record<string, unknown>;
}
const KINDS: { User: Kind<ScimUser, ScimUserInput>; Group: Kind<ScimGroup, ScimGroupInput> } = {
  User: {
    Resource: SCIMMY.Resources.User,
    read: getScimUser,
    list: listScimUsers,
    named: { attribute: 'userName', find: findScimUsers },
    create: createScimUser,
    replace: replaceScimUser,
    remove: deleteScimUser,
    show: userOut,
  },
  Group: {
    Resource: SCIMMY.Resources.Group,
    read: getScimGroup,
    list: listScimGroups,
    named: { attribute: 'displayName', find: findScimGroups },
    create: createScimGroup,
    replace: replaceScimGroup,
    remove: deleteScimGroup,
    show: groupOut,
  },
};

type Definition = SCIMMY.Types.SchemaDefinition;
interface AttributeLike {
  name: string;
  type: string;
  config: { caseExact?: boolean };
  subAttributes?: AttributeLike[];
}

/** The attribute paths (lower case, dotted) whose string values compare without regard to case: RFC 7643 caseExact=false (userName, displayName, emails.value, …). */
const foldedPaths = new WeakMap<Definition, Set<string>>();
function caselessPaths(definition: Definition): Set<string> {
  let paths = foldedPaths.get(definition);
  if (paths) return paths;
  paths = new Set<string>();
  const walk = (attributes: AttributeLike[], prefix: string) => {
    for (const a of attributes) {
      const path = `${prefix}${a.name.toLowerCase()}`;
      if (a.type === 'string' && a.config.caseExact !== true) paths!.add(path);
      if (a.subAttributes) walk(a.subAttributes, `${path}.`);
    }
  };
  walk((definition as unknown as { attributes: AttributeLike[] }).attributes, '');
  foldedPaths.set(definition, paths);
  return paths;
}

/** A resource (or a parsed filter's expression) with the values at caseless paths in lower case. */
function fold(value: unknown, paths: Set<string>, at: string, filter: boolean): unknown {
  if (Array.isArray(value)) {
    // A filter's comparison ([not,] comparator, expected): the expected value folds when the attribute does.
    if (filter && typeof value[0] === 'string') {
      const last = value[value.length - 1];
      return paths.has(at) && typeof last === 'string' ? [...value.slice(0, -1), last.toLowerCase()] : value;
    }
    return value.map((v) => fold(v, paths, at, filter));
  }
  if (value && typeof value === 'object' && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fold(v, paths, at ? `${at}.${k.toLowerCase()}` : k.toLowerCase(), filter)]));
  return !filter && typeof value === 'string' && paths.has(at) ? value.toLowerCase() : value;
}

/**
 * The resources a filter matches, comparing as the schema says (the library compares every string
 * exactly): `userName eq "Alice@Example.com"` finds alice@example.com; externalId (caseExact) stays exact.
 */
function caseless<T extends Record<string, unknown>>(filter: SCIMMY.Types.Filter, definition: Definition, all: T[]): T[] {
  const paths = caselessPaths(definition);
  const folded = new SCIMMY.Types.Filter(fold(JSON.parse(JSON.stringify([...filter])), paths, '', true) as never);
  // One resource at a time: the library throws on a complex attribute a resource does not have
  // (`emails[value eq "…"]` on a user with no emails), which is no match, never a 500.
  return all.filter((r) => {
    try {
      return folded.match([fold(r, paths, '', false) as Record<string, unknown>]).length > 0;
    } catch (err) {
      if (err instanceof TypeError) return false;
      throw err;
    }
  });
}

/** Declares one kind of resource to the library: its handlers read and write through the kind's rules. */
/** The value a filter requires of `attribute` with `eq` (alone, or with other conditions it must also meet), else undefined. */
function required(filter: SCIMMY.Types.Filter | undefined, attribute: string): string | undefined {
  const expressions = filter ? ([...filter] as Record<string, unknown>[]) : [];
  const comparison = expressions.length === 1 ? expressions[0]![attribute] : undefined;
  return Array.isArray(comparison) && comparison.length === 2 && comparison[0] === 'eq' && typeof comparison[1] === 'string' ? comparison[1] : undefined;
}

function declareKind<R, I>({ Resource, read, list, named, create, replace, remove, show }: Kind<R, I>): void {
  type Request = SCIMMY.Resources.User | SCIMMY.Resources.Group;
  SCIMMY.Resources.declare(Resource, {
    egress: guarded(async (call: Call, resource: Request) => {
      if (resource.id) return show(await read(call.deps, call.ctx, resource.id));
      // `userName eq "…"` (what an identity provider asks before each create): the one it names, not every resource.
      const value = required(resource.filter, named.attribute);
      const some = value === undefined ? null : await named.find(call.deps, call.ctx, value);
      const all = (some ?? (await list(call.deps, call.ctx))).sort(byCreation as never).map(show);
      return resource.filter ? caseless(resource.filter, Resource.schema.definition, all) : all;
    }),
    ingress: guarded(async (call: Call, resource: Request, instance: unknown) => {
      const input = plain<I>(instance);
      return show(resource.id ? await replace(call.deps, call.ctx, resource.id, input) : await create(call.deps, call.ctx, input));
    }),
    degress: guarded(async (call: Call, resource: Request) => remove(call.deps, call.ctx, resource.id!)),
  } as never);
}

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
  declareKind(KINDS.User);
  // The enterprise extension (RFC 7643 §4.3: employeeNumber, department, manager, …): kept with the user's other
  // attributes, written whole or by its attributes' full paths (urn:…:enterprise:2.0:User:department).
  SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser as never, false);
  declareKind(KINDS.Group);
  declared = true;
}

/** Entra ID's boolean on its default settings ("True", "False"), in any case. */
const STRING_BOOLEAN = /^(?:true|false)$/i;
const MANAGER = `${SCIMMY.Schemas.EnterpriseUser.definition.id}:manager`.toLowerCase();

type Described = AttributeLike & { config: { multiValued?: boolean } };

/** The attribute (or extension) a path names, its filters set aside (`emails[type eq "work"].primary` → emails.primary); undefined when none. */
function attributeAt(definition: Definition, path: string): Described | Definition | undefined {
  try {
    return definition.attribute(path.replace(/\[[^\]]*\]/g, '')) as unknown as Described | Definition;
  } catch {
    return undefined;
  }
}

/**
 * A value as the attribute it is written to takes it, in the forms identity providers send that RFC 7643 reads
 * otherwise: Entra's string booleans ("True", "False", any case) for a boolean attribute or sub-attribute, and
 * the manager as Entra writes it (its id, a string) as the complex value RFC 7643 has ({ value: id }). Anything
 * else is left for the SCIM library to check (and refuse: 400 invalidValue or invalidPath naming it).
 */
function asSchemaSays(value: unknown, at: Described | Definition | undefined, path: string): unknown {
  if (at === undefined) return value;
  if (at instanceof SCIMMY.Types.SchemaDefinition) return inObject(value, at, path);
  if (Array.isArray(value) && at.config.multiValued) return value.map((v) => asSchemaSays(v, { ...at, config: { ...at.config, multiValued: false } }, path));
  if (at.type === 'boolean' && typeof value === 'string' && STRING_BOOLEAN.test(value)) return value.toLowerCase() === 'true';
  if (path.toLowerCase() === MANAGER && typeof value === 'string') return { value };
  if (at.type === 'complex' && value && typeof value === 'object' && !Array.isArray(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        asSchemaSays(v, at.subAttributes?.find((a) => a.name.toLowerCase() === k.toLowerCase()) as Described, `${path}.${k}`),
      ]),
    );
  return value;
}

/** An object whose keys are attribute paths (a resource, an extension's part of it, a path-less PATCH value: `name.givenName`, `urn:…:User:department`). */
function inObject(value: unknown, definition: Definition, prefix: string): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const full = (k: string) => (prefix && !k.toLowerCase().startsWith('urn:') ? `${prefix}:${k}` : k);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asSchemaSays(v, attributeAt(definition, full(k)), full(k))]));
}

/** A path into an extension names one of its attributes: 400 invalidPath naming those it has otherwise (the library would only say the path is not valid). */
function knownExtensionPath(definition: Definition, path: string): void {
  const extension = (definition as unknown as { attributes: unknown[] }).attributes.find(
    (a): a is Definition => a instanceof SCIMMY.Types.SchemaDefinition && path.toLowerCase().startsWith(`${a.id.toLowerCase()}:`),
  );
  if (!extension || attributeAt(definition, path)) return;
  const names = (extension as unknown as { attributes: AttributeLike[] }).attributes.map((a) => a.name);
  throw new SCIMMY.Types.Error(
    400,
    'invalidPath',
    `Invalid path '${path}': ${extension.id} has ${names.join(', ')} (each by its full path, e.g. ${extension.id}:${names[0]})`,
  );
}

/**
 * A write's body in the forms RFC 7644 reads: a resource's attributes (POST, PUT), or each PATCH operation's
 * value by its path (a path-less one's value by each of its keys). The ops' names are the library's to read in
 * any case (Entra writes Add, Replace, Remove).
 */
function normalised(body: unknown, definition: Definition, patch: boolean): unknown {
  if (!patch) return inObject(body, definition, '');
  const ops = (body as { Operations?: unknown } | null)?.Operations;
  if (!Array.isArray(ops)) return body;
  return {
    ...(body as object),
    Operations: ops.map((op: unknown) => {
      if (!op || typeof op !== 'object' || !('value' in op)) return op;
      const { path, value } = op as { path?: unknown; value: unknown };
      if (typeof path === 'string') knownExtensionPath(definition, path);
      return {
        ...op,
        value: typeof path === 'string' ? asSchemaSays(value, attributeAt(definition, path), path.replace(/\[[^\]]*\]/g, '')) : inObject(value, definition, ''),
      };
    }),
  };
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
 * Answers one SCIM request (answerScim of functions/http/scim.ts). `path` is what follows /scim/v2 (`/Users`, `/Users/{id}`, …); `body` the
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
    const { method, resource, id, query } = req;
    if (resource === 'ServiceProviderConfig') return { status: 200, body: plain(await new SCIMMY.Resources.ServiceProviderConfig().read()) };
    if (resource === 'Schemas') return { status: 200, body: plain(await (id ? new SCIMMY.Resources.Schema(id) : new SCIMMY.Resources.Schema()).read()) };
    if (resource === 'ResourceTypes')
      return { status: 200, body: plain(await (id ? new SCIMMY.Resources.ResourceType(id) : new SCIMMY.Resources.ResourceType()).read()) };
    const Type = RESOURCES[resource as keyof typeof RESOURCES];
    if (!Type) return scimError(404, `No SCIM resource type ${resource}`);
    const attributes: Record<string, unknown> = {};
    for (const k of ['attributes', 'excludedAttributes'] as const) if (query[k] !== undefined) attributes[k] = query[k];
    const one = () => new Type(id!, attributes as never);
    const written = normalised(req.body, Type.schema.definition, method === 'PATCH');
    switch (method) {
      case 'GET':
        return { status: 200, body: plain(await (id ? one() : new Type(listParams(query) as never)).read(call as never)) };
      case 'POST':
        return { status: 201, body: plain(await new Type(attributes as never).write(written as never, call as never)) };
      case 'PUT':
        return { status: 200, body: plain(await one().write(written as never, call as never)) };
      case 'PATCH': {
        const changed = await one().patch(written as never, call as never);
        // Groups answer 204 (what Entra asks: a group's members are not sent back); a user its state (unchanged: as it is).
        if (resource === 'Groups') return { status: 204 };
        return { status: 200, body: plain(changed ?? (await one().read(call as never))) };
      }
      case 'DELETE':
        await one().dispose(call as never);
        return { status: 204 };
      default:
        return scimError(404, `${method} is not a SCIM operation on ${resource}`);
    }
  } catch (err) {
    if (call.failure !== undefined) throw call.failure;
    if (err instanceof SCIMMY.Types.Error) return scimError(Number(err.status), err.message, (err.scimType ?? undefined) as ScimType | undefined);
    throw err;
  }
}
