import * as z from '../kernel/zod.ts';
import type { ReadScope } from '../access/app-keys.ts';
import { canonicalJson, sha256Hex } from '../kernel/canonical.ts';
import { Forbidden, ValidationFailed } from '../kernel/errors.ts';
import type { Environment, Head } from '../kernel/model.ts';
import { targetName, type Target } from '../kernel/target-schemas.ts';
import type { Store } from '../kernel/deps.ts';
import { targetsOf, targetVersion } from './targets.ts';
import type { NodeSource } from './tree.ts';
import { collect, memoSource } from './tree.ts';
import { notReserved } from '../kernel/reserved-keys.ts';
import { shapeProblem } from '../kernel/json-shape.ts';
import { INSTANCE_ID, INSTANCE_ID_MESSAGE, INSTANCE_VERSION, INSTANCE_VERSION_MESSAGE } from './instances.ts';

/**
 * What a running service reads: its environment's current configs and flags (as last promoted, or
 * set directly where the environment allows it; never a value in flight), as one document, and
 * its flags evaluated the OpenFeature Remote Evaluation Protocol (OFREP) way.
 *
 * A snapshot is immutable and named by its digest, so its contents are cached in memory by
 * (tenant, digest): a read whose head is unchanged costs the head read alone.
 */
export interface Contents {
  configs: Map<string, unknown>;
  flags: Map<string, unknown>;
}

const CACHE_MAX = 64;
const contentsCache = new Map<string, Promise<Contents>>();

/** Counters of this process (the bench reads them): snapshot contents read from the table vs served from memory. */
export const effectiveStats = { loads: 0, hits: 0 };

/** Forgets every cached snapshot (the bench measures a read that loads one). */
export function clearContentsCache(): void {
  contentsCache.clear();
}

export function contentsOf(source: NodeSource, tenant: string, env: Pick<Environment, 'head'>): Promise<Contents> {
  const id = `${tenant}\u0000${env.head.digest}`;
  const hit = contentsCache.get(id);
  if (hit) {
    effectiveStats.hits++;
    // Most recently used last: the oldest goes first when the cache is full.
    contentsCache.delete(id);
    contentsCache.set(id, hit);
    return hit;
  }
  effectiveStats.loads++;
  const memo = memoSource(source);
  const load = Promise.all([collect(memo, env.head.roots.config), collect(memo, env.head.roots.flag)]).then(([c, f]) => ({
    configs: new Map(c.sort((a, b) => (a.k < b.k ? -1 : 1)).map((e) => [e.k, e.v])),
    flags: new Map(f.sort((a, b) => (a.k < b.k ? -1 : 1)).map((e) => [e.k, e.v])),
  }));
  load.catch(() => contentsCache.delete(id));
  contentsCache.set(id, load);
  while (contentsCache.size > CACHE_MAX) contentsCache.delete(contentsCache.keys().next().value!);
  return load;
}

export const effectiveQuery = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    prefix: z.optional(z.string().check(z.minLength(1), z.maxLength(256))).check(z.describe('only keys starting with this (a subtree, e.g. `payments.`)')),
    target: z
      .optional(targetName)
      .check(
        z.describe(
          "read as this target of the environment: its own version while a rollout is in progress, with its parameters applied (a key scoped to a target reads that one; naming another is 403). Without it: the environment's head, as every target has reached",
        ),
      ),
  }),
);

/**
 * What one read serves: the head (the environment's, or the target's own while a rollout is in
 * progress), the target it reads as (null: the environment) and that target's parameters, and the
 * digest its validators are made of (the head's digest; with a target, also its name and parameters,
 * so two targets never share an ETag and a parameter change is a new one).
 */
export interface ReadView {
  head: Head;
  target: string | null;
  parameters: Target['parameters'];
  digest: string;
}

/**
 * Resolves the target of a read: the app key's scope, else the one the request names (`?target=` or
 * OFREP's `context.target`); a key scoped to one target asking for another is refused (403); an
 * unknown target is TargetNotFound (404). A target the environment's item names as running its own head (a
 * rollout changed it and the environment has not caught up) costs one eventually consistent GetItem (0.5 RCU) of
 * its head; any other read, none (the environment item the reader holds gives the head: mayRunOwnConfig).
 */
export async function readView(store: Pick<Store, 'getTargetHead' | 'getPointer'>, env: Environment, scope: ReadScope, requested?: string): Promise<ReadView> {
  if (scope.target !== undefined && requested !== undefined && requested !== scope.target)
    throw new Forbidden(`This app key reads target '${scope.target}' of '${env.name}' only, not '${requested}'`);
  // Eventually consistent, as the environment item it is checked against (`base`) was read.
  const v = await targetVersion(store, env, scope.target ?? requested, { kind: 'config' }, { consistent: false });
  if (v.kind !== 'config' || v.target === null) return { head: env.head, target: null, parameters: [], digest: env.head.digest };
  const name = v.target;
  const parameters = targetsOf(env).find((t) => t.name === name)?.parameters ?? [];
  const digest = `${v.snapshot.digest}.${sha256Hex(canonicalJson({ target: name, parameters })).slice(0, 16)}`;
  return { head: v.snapshot, target: name, parameters, digest };
}

/** A snapshot's contents with a target's parameters on top (new maps: the cached contents are shared by every reader). */
export function withParameters(contents: Contents, parameters: Target['parameters']): Contents {
  if (!parameters.length) return contents;
  const configs = new Map(contents.configs);
  const flags = new Map(contents.flags);
  for (const p of parameters) (p.kind === 'flag' ? flags : configs).set(p.key, p.value);
  const sorted = (m: Map<string, unknown>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
  return { configs: sorted(configs), flags: sorted(flags) };
}

/** The ETag of a snapshot's document: its digest, quoted (If-None-Match is compared by functions/http/etag.ts). */
export const etagOf = (digest: string) => `"${digest}"`;

/** Cache-Control of an environment's documents: revalidate every time unless the environment allows caching for a while. */
export function cacheControlOf(env: Environment): string {
  const seconds = env.cacheMaxAgeSeconds ?? 0;
  return seconds > 0 ? `private, max-age=${seconds}` : 'private, no-cache';
}

const within = (key: string, scope: ReadScope, prefix?: string) => (!scope.prefix || key.startsWith(scope.prefix)) && (!prefix || key.startsWith(prefix));

export function effectiveDocument(env: Environment, contents: Contents, scope: ReadScope, prefix?: string, view?: ReadView) {
  const pick = (m: Map<string, unknown>) => Object.fromEntries([...m].filter(([k]) => within(k, scope, prefix)));
  const head = view?.head ?? env.head;
  return {
    environment: env.name,
    // Only when the read is a target's: an environment's document answers as it always did.
    ...(view?.target ? { target: view.target } : {}),
    snapshot: { seq: head.seq, digest: head.digest },
    prefix: prefix ?? scope.prefix ?? null,
    configs: pick(contents.configs),
    flags: pick(contents.flags),
  };
}

// ---- fractional rollout: a flag value that splits by a stable hash of the flag key and targetingKey

const variantName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'variant names are 1-64 letters, digits, _ . -'), notReserved()),
);

export const rolloutSchema = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    $rollout: z
      .strictObject({
        variants: z.record(variantName, z.json()).check(z.refine((v) => Object.keys(v).length >= 1 && Object.keys(v).length <= 20, 'needs 1 to 20 variants')),
        weights: z.record(variantName, z.number().check(z.int(), z.minimum(0), z.maximum(100_000))),
      })
      .check(
        z.superRefine((r, ctx) => {
          for (const name of Object.keys(r.weights)) {
            if (!Object.hasOwn(r.variants, name)) ctx.addIssue({ code: 'custom', path: ['weights', name], message: `no variant '${name}' in variants` });
          }
          if (Object.values(r.weights).reduce((a, b) => a + b, 0) <= 0)
            ctx.addIssue({ code: 'custom', path: ['weights'], message: 'weights must add up to more than 0 (e.g. {"on": 10, "off": 90})' });
        }),
      ),
  }),
);
export type Rollout = z.infer<typeof rolloutSchema>['$rollout'];

/** A flag value is a rollout when it is an object whose one member is `$rollout`. */
export const isRollout = (v: unknown): v is { $rollout: Rollout } => !!v && typeof v === 'object' && !Array.isArray(v) && '$rollout' in v;

/** Checks a flag value as it is written: a rollout must be well formed (plain values are any JSON). */
export function checkFlagValue(value: unknown, path = 'body.value'): void {
  if (!isRollout(value)) return;
  const r = rolloutSchema.safeParse(value);
  if (!r.success) throw new ValidationFailed(r.error.issues.map((i) => ({ path: [path, ...i.path.map(String)].join('.'), message: i.message })));
}

/**
 * The variant a targeting key gets: the first 32 bits of sha256(flag key / targeting key) place it
 * in [0, total weight); variants take consecutive ranges in the order of their names. The same key
 * always lands in the same place, on every call and instance; with two variants, raising one's
 * weight only moves keys towards it (10 % → 20 % keeps the first 10 %).
 */
export function assignVariant(flagKey: string, targetingKey: string, rollout: Rollout): string {
  const point = (parseInt(sha256Hex(`${flagKey}/${targetingKey}`).slice(0, 8), 16) / 2 ** 32) * Object.values(rollout.weights).reduce((a, b) => a + b, 0);
  const names = Object.keys(rollout.weights)
    .filter((n) => rollout.weights[n]! > 0)
    .sort();
  let upTo = 0;
  for (const name of names) {
    upTo += rollout.weights[name]!;
    if (point < upTo) return name;
  }
  return names.at(-1)!;
}

// ---- OFREP (https://openfeature.dev/specification/appendix-c): evaluation answers and errors

export type OfrepErrorCode = 'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'GENERAL' | 'FLAG_NOT_FOUND';
export interface OfrepFailure {
  key: string;
  errorCode: OfrepErrorCode;
  errorDetails: string;
}
export interface OfrepSuccess {
  key: string;
  value: unknown;
  reason: 'STATIC' | 'SPLIT';
  variant?: string;
  metadata: Record<string, string | number | boolean>;
}

export const ofrepContext = /* @__PURE__ */ z.schema(() =>
  z
    .looseObject({
      targetingKey: z.optional(z.string().check(z.maxLength(1024, 'targetingKey is at most 1024 characters'))),
      instanceId: z
        .optional(z.string().check(z.regex(INSTANCE_ID, INSTANCE_ID_MESSAGE)))
        .check(
          z.describe(
            'the application instance evaluating (a fleet target counts the instances that read its release); recorded only when what it reads changes',
          ),
        ),
      instanceVersion: z
        .optional(z.string().check(z.regex(INSTANCE_VERSION, INSTANCE_VERSION_MESSAGE)))
        .check(
          z.describe('what the instance runs, `<artifact>@<version>` or `<artifact>@sha256:<digest>` (an artifact promotion into a fleet target counts it)'),
        ),
      target: z
        .optional(targetName)
        .check(
          z.describe(
            'the target of the environment the application runs in: its version while a rollout is in progress, with its parameters (a key scoped to a target reads that one; another is 403)',
          ),
        ),
    })
    .check(
      z.describe('the OpenFeature evaluation context: targetingKey (who is evaluated, for rollouts), target (where the application runs) and any attributes'),
    ),
);
export const ofrepRequest = /* @__PURE__ */ z.schema(() => z.object({ context: z.optional(ofrepContext) }).check(z.describe('OFREP evaluation request')));
export type OfrepContext = z.infer<typeof ofrepContext>;

/** Parses an OFREP request body: PARSE_ERROR when it is not JSON, INVALID_CONTEXT when the context is not an object of the right shape. */
export function parseOfrepRequest(raw: string | undefined): { context: OfrepContext } | { error: Omit<OfrepFailure, 'key'> } {
  if (raw === undefined || raw.trim() === '') return { context: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { error: { errorCode: 'PARSE_ERROR', errorDetails: 'The request body is not valid JSON; send {"context": {...}}' } };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return { error: { errorCode: 'INVALID_CONTEXT', errorDetails: 'The request body must be an object: {"context": {...}}' } };
  // The shape every body must have (depth, numbers, reserved keys), as OFREP's error.
  const problem = shapeProblem(value, 'body');
  if (problem) return { error: { errorCode: 'INVALID_CONTEXT', errorDetails: `${problem.path.replace(/^body\.?/, '') || 'body'}: ${problem.message}` } };
  const r = ofrepRequest.safeParse(value);
  if (!r.success) {
    return {
      error: {
        errorCode: 'INVALID_CONTEXT',
        errorDetails: r.error.issues.map((i) => `${['context', ...i.path.slice(1).map(String)].join('.')}: ${i.message}`).join('; '),
      },
    };
  }
  return { context: r.data.context ?? {} };
}

/** One flag's OFREP answer for a context. */
export function evaluateFlag(key: string, value: unknown, context: OfrepContext, meta: Record<string, string | number>): OfrepSuccess | OfrepFailure {
  if (!isRollout(value)) return { key, value, reason: 'STATIC', metadata: meta };
  const parsed = rolloutSchema.safeParse(value);
  if (!parsed.success) return { key, errorCode: 'GENERAL', errorDetails: `flag '${key}' holds a malformed rollout` };
  const targetingKey = context.targetingKey;
  if (!targetingKey)
    return { key, errorCode: 'TARGETING_KEY_MISSING', errorDetails: `flag '${key}' is a fractional rollout: send context.targetingKey (e.g. the user id)` };
  const variant = assignVariant(key, targetingKey, parsed.data.$rollout);
  return { key, value: parsed.data.$rollout.variants[variant], reason: 'SPLIT', variant, metadata: meta };
}

/** The bulk ETag: the snapshot's digest and what the answer also depends on (the context, the key's prefix). */
export function bulkEtag(digest: string, context: OfrepContext, scope: ReadScope): string {
  return `"${digest}.${sha256Hex(canonicalJson({ context, prefix: scope.prefix ?? null })).slice(0, 16)}"`;
}

/** The metadata of an OFREP answer: the environment, the snapshot served and, when the read is a target's, the target. */
export function ofrepMeta(env: Environment, view?: ReadView): Record<string, string | number> {
  return { environment: env.name, snapshot: (view?.head ?? env.head).seq, ...(view?.target ? { target: view.target } : {}) };
}

export function ofrepBulk(env: Environment, contents: Contents, scope: ReadScope, context: OfrepContext, view?: ReadView) {
  const meta = ofrepMeta(env, view);
  return { flags: [...contents.flags].filter(([k]) => within(k, scope)).map(([k, v]) => evaluateFlag(k, v, context, meta)) };
}

/** OFREP's provider configuration: polling with ETags is supported. */
export const OFREP_CONFIGURATION = {
  name: 'stageline',
  capabilities: {
    cacheInvalidation: { polling: { enabled: true, minPollingIntervalMs: 5000 } },
    flagEvaluation: { supportedTypes: ['int', 'float', 'string', 'boolean', 'object'] },
  },
};
