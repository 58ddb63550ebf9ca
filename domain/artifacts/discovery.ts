import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import type { Principal } from '../access/auth.ts';
import { AlreadyExists, ArtifactNotFound, RuleViolation, ValidationFailed } from '../kernel/errors.ts';
import { DISCOVERY_PRINCIPAL, publishArtifact as publish } from './artifacts.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import { refusedByStored } from '../kernel/retry.ts';
import { linearRegex, patternIssue, REGEX_MAX_LENGTH, regexReady } from '../kernel/bounded.ts';
import type { RepoLink } from './model.ts';

/**
 * Discovery: an artifact linked to a registry repository gets a new version when a tag that passes
 * the link's filter is pushed there (ECR "ECR Image Action" events on AWS; the registry's push
 * notifications, authenticated by the link's token, anywhere). The version is published into the
 * first environment through the publish path (auto-promotion rules take it from there); a digest
 * the artifact already has is not published again.
 */

const SEMVER = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
/** OCI tags are at most 128 characters: a pattern never runs on more. */
const MAX_TAG = 128;
export const tagFilter = /* @__PURE__ */ z.schema(() =>
  z.union([
    z.strictObject({ semver: z.literal(true) }),
    z.strictObject({
      pattern: z.string().check(
        z.minLength(1),
        z.maxLength(REGEX_MAX_LENGTH),
        // RE2 semantics (kernel/bounded.ts): the engine loads on first use, so this check awaits it.
        z.superRefine(async (p, ctx) => {
          await regexReady();
          const why = patternIssue(p);
          if (why) ctx.addIssue({ code: 'custom', message: why, input: p });
        }),
        z.meta({
          format: 'regex',
          description:
            'A regular expression in RE2 syntax (linear time: no backreferences or lookaround), at most 200 characters, matched against the whole tag; one RE2 does not compile is refused with 400',
        }),
      ),
    }),
  ]),
);

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const PORT = '(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?';
/** host[:port]: a hostname (dot-separated labels of 1-63 lower-case letters, digits and inner dashes), an IPv4 or a bracketed IPv6 literal; a port 1-65535. */
const HOST_PORT = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]{2,45}\\])${PORT}$`);

/** What the pattern cannot say: at most 253 characters of name, a numeric last label only as an IPv4 address, an IPv6 literal that parses. */
export function hostPortProblem(value: string): string | null {
  const host = value.startsWith('[') ? value.slice(0, value.indexOf(']') + 1) : value.replace(/:[0-9]+$/, '');
  if (host.startsWith('[')) {
    try {
      new URL(`http://${host}/`);
      return null;
    } catch {
      return 'is not an IPv6 address';
    }
  }
  if (host.length > 253) return 'is a host name longer than 253 characters';
  const labels = host.split('.');
  if (/^[0-9]+$/.test(labels.at(-1)!) && !(labels.length === 4 && labels.every((l) => /^(?:0|[1-9][0-9]{0,2})$/.test(l) && Number(l) <= 255)))
    return 'is neither a host name (its last label is a number) nor an IPv4 address';
  return null;
}

export const createLink = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    /** registry host[:port] as it names itself in push events, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com */
    registry: z.string().check(
      z.regex(
        HOST_PORT,
        'must be a registry host[:port]: a host name (labels of 1-63 lower-case letters, digits and inner dashes, joined by dots) or an IP address, and a port 1-65535, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com or registry.example.com:5000',
      ),
      z.refine((v) => !HOST_PORT.test(v) || hostPortProblem(v) === null, {
        error: (i) => `must be a registry host[:port]: ${hostPortProblem(String(i.input)) ?? 'see the pattern'}`,
      }),
      z.describe('registry host[:port] as it names itself in push events; at most 253 characters of host name, a numeric last label only in an IPv4 address'),
    ),
    repository: z
      .string()
      .check(
        z.regex(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*){0,9}$/, 'must be an OCI repository name'),
        z.maxLength(255),
        z.describe(
          "An OCI repository name. In an ECR registry (<account>.dkr.ecr.<region>.amazonaws.com) it must be under the tenant's namespace, <tenant>/<name> (lower case); another answers 400",
        ),
      ),
    tags: z._default(tagFilter, { semver: true }),
  }),
);
export type CreateLink = z.infer<typeof createLink>;

export const linkView = ({ tokenHash: _t, tenant: _n, ...l }: RepoLink) => l;

/** Whether a pushed tag becomes a version: it must be a version (semver) and pass the link's filter. */
export function tagAccepted(link: Pick<RepoLink, 'tags'>, tag: string | undefined): boolean {
  if (!tag || tag.length > MAX_TAG || !SEMVER.test(tag)) return false;
  // On the RE2 engine (linear time in the tag); the caller awaits regexReady() first.
  return 'semver' in link.tags ? true : linearRegex(link.tags.pattern).matchesWhole(tag);
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * A link's id: one per registry repository of an artifact, so a second link of the same repository is
 * the same item and its conditional put refuses it (an artifact links a repository once: the
 * manifest's rule, and what export and apply rely on).
 */
const linkId = (registry: string, repository: string) => `lnk_${hash(`${registry}/${repository}`).slice(0, 12)}`;

/** An ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com`): its push events reach every link of the repository. */
const ECR_HOST = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;

/**
 * The repositories of an ECR registry a tenant may link: those under its own namespace (`<tenant>/…`).
 * ECR's push events come from the deployment's account to every link of the repository, whatever the
 * tenant, so without this one tenant could link another's repository and read its releases. (Other
 * registries notify one link, authenticated by that link's token.) Null when the link is allowed.
 */
export function linkRefusal(tenant: string, registry: string, repository: string): string | null {
  if (!ECR_HOST.test(registry)) return null;
  // ECR names are lowercase: `Acme/` and `acme/` would be one namespace, so a tenant id with capitals has none of its own.
  if (tenant !== tenant.toLowerCase())
    return `ECR repository names are lowercase, so the tenant id ${tenant} (with capitals) has no ECR namespace of its own (${tenant.toLowerCase()}/ could be another tenant's): link a registry that notifies with the link's token, or ask the operator for a lowercase tenant id`;
  const ns = `${tenant}/`;
  return repository.startsWith(ns)
    ? null
    : `an ECR repository is linked only under the tenant's namespace: name it ${ns}<name> (ECR's push events reach every tenant that links a repository)`;
}

/** A new link and its notification token (shown once; only its hash is kept). */
export function newRepoLink(tenant: string, artifact: string, input: CreateLink, by: string, now: Date): { link: RepoLink; token: string } {
  const refused = linkRefusal(tenant, input.registry, input.repository);
  if (refused) throw new ValidationFailed([{ path: 'repository', message: refused }]);
  const token = `slr_${randomBytes(24).toString('base64url')}`;
  const link: RepoLink = {
    tenant,
    artifact,
    id: linkId(input.registry, input.repository),
    registry: input.registry,
    repository: input.repository,
    tags: input.tags as RepoLink['tags'],
    tokenHash: hash(token),
    createdAt: now.toISOString(),
    createdBy: by,
  };
  return { link, token };
}

/** Registry repositories one artifact may link. */
export const MAX_LINKS_PER_ARTIFACT = 20;

export async function createRepoLink(deps: Deps, ctx: Ctx, artifact: string, input: CreateLink) {
  const { tenant } = ctx.principal;
  const { link, token } = newRepoLink(tenant, artifact, input, ctx.principal.name, deps.clock());
  const linked = () =>
    new AlreadyExists(
      `Artifact ${artifact} already links ${link.registry}/${link.repository} (${link.id}); delete that link first to link it again with other tags or a new notification token`,
    );
  // Links made before ids were one per repository: found by listing (the conditional put covers the ones since, and a race).
  const existing = await deps.store.listRepoLinks(tenant, artifact);
  if (existing.some((l) => l.registry === link.registry && l.repository === link.repository)) throw linked();
  // The manifest carries an artifact's links as one list of at most this many: the API keeps to it too.
  if (existing.length >= MAX_LINKS_PER_ARTIFACT)
    throw new RuleViolation(
      `Artifact ${artifact} links at most ${MAX_LINKS_PER_ARTIFACT} registry repositories; delete one (DELETE /api/v1/artifacts/${artifact}/links/{id}) first`,
    );
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'artifact.link',
      entityType: 'artifact',
      entityId: artifact,
      before: null,
      after: `${link.registry}/${link.repository}`,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  try {
    await deps.store.putRepoLink(link, audit);
  } catch (err) {
    if (refusedByStored(err)) throw linked();
    throw err;
  }
  return { ...linkView(link), notifyToken: token };
}

export async function listRepoLinks(deps: Deps, ctx: Ctx, artifact: string) {
  return (await deps.store.listRepoLinks(ctx.principal.tenant, artifact)).map(linkView);
}

export async function deleteRepoLink(deps: Deps, ctx: Ctx, artifact: string, id: string) {
  const { tenant } = ctx.principal;
  const link = (await deps.store.listRepoLinks(tenant, artifact)).find((l) => l.id === id);
  if (!link) throw new ArtifactNotFound(`No registry link ${id} on artifact ${artifact}`);
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'artifact.unlink',
      entityType: 'artifact',
      entityId: artifact,
      before: `${link.registry}/${link.repository}`,
      after: null,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  try {
    await deps.store.deleteRepoLink(link, audit);
  } catch (err) {
    // Removed meanwhile (another request, a manifest apply): it is gone either way.
    if (refusedByStored(err)) throw new ArtifactNotFound(`No registry link ${id} on artifact ${artifact}`);
    throw err;
  }
}

/** A push as the registry reports it. */
export interface Push {
  registry: string;
  repository: string;
  digest: string;
  tag?: string;
}

/** The discoverer acts as a machine deployer of the link's tenant. */
const discoverer = (tenant: string): Principal => ({
  tenant,
  id: DISCOVERY_PRINCIPAL,
  name: 'registry discovery',
  roles: ['deployer'],
  groups: [],
  kind: 'machine',
});

/** Publishes the push as a version of the link's artifact, if the tag passes and the digest is new to it. */
export async function discovered(
  deps: With<'registry'>,
  link: RepoLink,
  push: Push,
): Promise<{ artifact: string; version: string; created: boolean } | { artifact: string; skipped: string }> {
  if (push.registry !== link.registry || push.repository !== link.repository) return { artifact: link.artifact, skipped: 'another repository' };
  await regexReady();
  if (!tagAccepted(link, push.tag)) return { artifact: link.artifact, skipped: `tag ${push.tag ?? '(none)'} does not pass the link's filter` };
  if (!/^sha256:[0-9a-f]{64}$/.test(push.digest)) return { artifact: link.artifact, skipped: 'not a sha256 digest' };
  const known = (await deps.store.listArtifactVersions(link.tenant, link.artifact)).find((v) => v.digest === push.digest);
  if (known) return { artifact: link.artifact, version: known.version, created: false };
  const r = await publish(deps, { principal: discoverer(link.tenant) }, link.artifact, {
    version: push.tag!,
    digest: push.digest,
    sourceCommit: '',
    gitBranch: '',
    metadata: { repository: link.repository, discoveredFrom: `${link.registry}/${link.repository}:${push.tag}` },
  });
  return { artifact: link.artifact, version: push.tag!, created: r.created };
}

/** Whether a notification's bearer token is the link's (constant time over the hashes). */
export function tokenMatches(link: RepoLink, token: string): boolean {
  const a = Buffer.from(hash(token), 'hex');
  const b = Buffer.from(link.tokenHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
