import { auditEntry } from '../audit/audit.ts';
import { digestOf } from '../kernel/canonical.ts';
import { lineOf } from '../kernel/line.ts';
import { ArtifactNotFound, EnvironmentNotFound, RuleViolation } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { MAX_BUNDLE_MEMBERS, type CreateBundle } from '../kernel/promotion-schemas.ts';
import type { Bundle, BundleConfig, BundleMember } from '../kernel/promotion-model.ts';

/**
 * Release bundles: several artifact versions (by digest) and optionally a configuration snapshot, tested
 * together and promoted as one unit under one content digest. A bundle is immutable: the same members give
 * the same digest (creating it again answers the one stored), another member is another bundle.
 */

/** The bundle's content digest: its members' names, versions and digests, and its configuration's content and selection. */
export function bundleDigest(members: readonly BundleMember[], config?: BundleConfig): string {
  return digestOf({
    members: [...members].sort((a, b) => (a.name < b.name ? -1 : 1)).map((m) => ({ name: m.name, version: m.version, digest: m.digest })),
    ...(config ? { config: { digest: config.digest, keyPatterns: [...config.keyPatterns].sort() } } : {}),
  });
}

/** How people name a bundle: `checkout@sha256:1a2b3c4d5e6f`. */
export const bundleLabel = (b: { name: string; digest: string }) => `${b.name}@${b.digest.slice(0, 19)}`;

/** Creates a bundle from what an environment runs, or from versions listed by hand. */
export async function createBundle(deps: Deps, ctx: Ctx, input: CreateBundle): Promise<{ bundle: Bundle; created: boolean }> {
  const { tenant } = ctx.principal;
  const members = input.from ? await takenFrom(deps, tenant, input.from, input.artifacts) : await listedByHand(deps, tenant, input.members ?? []);
  const config = input.config ? await configOf(deps, tenant, input.config === true ? {} : input.config, input.from) : undefined;
  if (members.length === 0 && !config)
    throw new RuleViolation(`'${input.from}' runs no artifact yet: a bundle needs at least one artifact version or its configuration ('config': true)`);
  const digest = bundleDigest(members, config);
  const existing = await deps.store.getBundle(tenant, input.name, digest);
  if (existing) return { bundle: existing, created: false };
  const at = deps.clock().toISOString();
  const bundle: Bundle = {
    name: input.name,
    digest,
    members,
    ...(config ? { config } : {}),
    ...(input.from ? { from: input.from } : {}),
    ...(input.notes ? { notes: input.notes } : {}),
    createdAt: at,
    createdBy: ctx.principal.name,
  };
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'bundle.create',
      entityType: 'bundle',
      entityId: `${input.name}@${digest}`,
      before: null,
      after:
        members.map((m) => `${m.name}@${m.version}`).join(', ') + (config ? `${members.length ? ', ' : ''}config ${config.environment}@${config.seq}` : ''),
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  await deps.store.commit(tenant, [
    { kind: 'bundle', bundle },
    { kind: 'audit', entry: audit },
  ]);
  return { bundle, created: true };
}

/** What `from` runs: every artifact (at most MAX_BUNDLE_MEMBERS), or those `artifacts` names, each of which it must run. */
async function takenFrom(deps: Deps, tenant: string, from: string, artifacts?: string[]): Promise<BundleMember[]> {
  if (!(await deps.store.getEnvironment(tenant, from))) throw new EnvironmentNotFound(from);
  const pointers = await deps.store.listPointers(tenant, from);
  const chosen = artifacts ? pointers.filter((p) => artifacts.includes(p.name)) : pointers;
  const missing = (artifacts ?? []).filter((a) => !pointers.some((p) => p.name === a));
  if (missing.length)
    throw new RuleViolation(`'${from}' runs no version of ${missing.map((m) => `'${m}'`).join(', ')}: a bundle takes what the environment runs`);
  if (chosen.length > MAX_BUNDLE_MEMBERS)
    throw new RuleViolation(`'${from}' runs ${chosen.length} artifacts; a bundle holds at most ${MAX_BUNDLE_MEMBERS}: choose them with 'artifacts'`);
  return chosen.map((p) => ({ name: p.name, version: p.version, digest: p.digest })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function listedByHand(deps: Deps, tenant: string, listed: { name: string; version: string }[]): Promise<BundleMember[]> {
  const versions = await Promise.all(listed.map((m) => deps.store.getArtifactVersion(tenant, m.name, m.version)));
  const missing = listed.filter((_, i) => !versions[i]);
  if (missing.length)
    throw new ArtifactNotFound(`${missing.map((m) => `${m.name}@${m.version}`).join(', ')} ${missing.length > 1 ? 'have' : 'has'} not been published`, {
      missing,
    });
  return versions.map((v) => ({ name: v!.name, version: v!.version, digest: v!.digest })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function configOf(deps: Deps, tenant: string, given: { environment?: string; keyPatterns?: string[] }, from?: string): Promise<BundleConfig> {
  const name = given.environment ?? from!;
  const env = await deps.store.getEnvironment(tenant, name);
  if (!env) throw new EnvironmentNotFound(name);
  if (env.head.seq === 0) throw new RuleViolation(`'${name}' has no configuration yet: there is no snapshot to put in the bundle`);
  return { environment: name, seq: env.head.seq, digest: env.head.digest, keyPatterns: [...(given.keyPatterns ?? [])].sort() };
}

/** The bundle a promotion names: by its digest, or the newest of that name. */
export async function findBundle(deps: Deps, tenant: string, name: string, digest?: string): Promise<Bundle> {
  const found = digest ? await deps.store.getBundle(tenant, name, digest) : newest(await deps.store.listBundles(tenant, name));
  if (!found)
    throw new ArtifactNotFound(
      digest ? `Bundle '${name}' has no version ${digest}` : `No bundle named '${name}' exists: create one with POST /api/v1/bundles`,
      { bundle: name, ...(digest ? { digest } : {}) },
    );
  return found;
}

const newest = (all: Bundle[]) => [...all].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))[0] ?? null;

/** GET /bundles: every bundle (or those of one name), newest first, each with where its members run now. */
export async function listBundles(deps: Deps, ctx: Ctx, name?: string) {
  const all = await deps.store.listBundles(ctx.principal.tenant, name);
  return { bundles: [...all].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0)) };
}

/**
 * GET /bundles/{name}: its versions newest first, and for each environment whether it runs the newest one
 * entirely (every member's version; its configuration part is not compared here).
 */
export async function getBundle(deps: Deps, ctx: Ctx, name: string) {
  const { tenant } = ctx.principal;
  const versions = (await listBundles(deps, ctx, name)).bundles;
  if (!versions.length) throw new ArtifactNotFound(`No bundle named '${name}' exists: create one with POST /api/v1/bundles`, { bundle: name });
  const envs = lineOf(await deps.store.listEnvironments(tenant));
  const runs = await Promise.all(
    envs.map(async (e) => {
      const pointers = await deps.store.listPointers(tenant, e.name);
      const match = versions.find((b) => b.members.length > 0 && b.members.every((m) => pointers.some((p) => p.name === m.name && p.digest === m.digest)));
      return { environment: e.name, digest: match?.digest ?? null };
    }),
  );
  return { name, latest: versions[0]!, versions, environments: runs };
}
