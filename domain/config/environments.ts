import { assertMonitorsHere } from '../freeze/monitors.ts';
import { auditEntry } from '../audit/audit.ts';
import { digestOf } from '../kernel/canonical.ts';
import { AlreadyExists, EnvironmentNotEmpty, EnvironmentNotFound, RuleViolation, ValidationFailed, VersionConflict } from '../kernel/errors.ts';
import { graphProblems, namedAfter } from './graph.ts';
import type { Environment, Head, Snapshot } from '../kernel/model.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import type { WebhookGateConfig } from '../kernel/schemas.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { lineOf } from '../kernel/line.ts';
import { isProtected } from '../freeze/break-glass.ts';
import { MAX_ENVIRONMENTS, type CreateEnvironment, type UpdateEnvironment } from '../kernel/schemas.ts';
import { EMPTY_REF } from './tree.ts';
import { assertTenantUrls, redactUrl } from '../kernel/url-policy.ts';
import { cloudWatchAccountIssues } from './cloudwatch-accounts.ts';
import { analysisAttachments, assertNotRollingOut, assertTargetRegistries, assertTargets, attachmentIssues, rolloutOf, targetView } from './targets.ts';

export const EMPTY_ROOTS = { config: EMPTY_REF, flag: EMPTY_REF };
export const EMPTY_DIGEST = digestOf({ config: EMPTY_REF.c, flag: EMPTY_REF.c });

/** The URLs an environment's settings give (webhook gates, registries), by the body field each is in. */
const urlsOf = (input: {
  webhookGates?: readonly { url: string }[];
  registries?: readonly { url: string }[];
  ciGate?: { app: { apiUrl?: string | null } | null; gitlab: { apiUrl?: string | null } | null } | null;
}) => [
  ...(input.webhookGates ?? []).map((g, i) => ({ path: `body.webhookGates.${i}.url`, url: g.url })),
  ...(input.registries ?? []).map((r, i) => ({ path: `body.registries.${i}.url`, url: r.url })),
  ...(input.ciGate?.app?.apiUrl ? [{ path: 'body.ciGate.app.apiUrl', url: input.ciGate.app.apiUrl }] : []),
  ...(input.ciGate?.gitlab?.apiUrl ? [{ path: 'body.ciGate.gitlab.apiUrl', url: input.ciGate.gitlab.apiUrl }] : []),
];

/**
 * The analyses an environment attaches (its own, its waves', its targets', its checks of the source) name
 * templates the tenant has, each measuring within the bake it runs in: 400 naming the field otherwise.
 * One read of the tenant's templates, only when something is attached.
 */
async function assertAnalyses(deps: Deps, tenant: string, env: Parameters<typeof analysisAttachments>[0]): Promise<void> {
  const attachments = analysisAttachments(env);
  if (!attachments.length) return;
  const stored = await deps.store.getAnalysisTemplates(tenant);
  const issues = attachmentIssues(attachments, new Map((stored?.templates ?? []).map((t) => [t.name, t])));
  if (issues.length) throw new ValidationFailed(issues);
  // A CloudWatch analysis reads only accounts the tenant registered a role for (never the platform's own): 422 naming the target.
  const templates = stored?.templates ?? [];
  if (!templates.some((t) => t.provider.type === 'cloudwatch')) return;
  const unread = cloudWatchAccountIssues(env, templates, (await deps.store.getMetricAccounts(tenant))?.accounts);
  if (unread.length)
    throw new RuleViolation(`A CloudWatch analysis attached here has no account with a registered role: ${unread[0]!.message}`, { issues: unread });
}

/**
 * The environment as the API shows it, in its line: `protected` is what the write guard holds it to
 * (domain/freeze/break-glass.ts isProtected: flagged, or the last of the line), never the stored flag alone.
 */
export function environmentView(env: Environment, line: readonly Environment[]) {
  return {
    name: env.name,
    displayName: env.displayName,
    position: env.position,
    description: env.description,
    protected: isProtected(env, lineOf([...line])),
    gates: env.gates,
    // Never the HMAC secret; the receiver's URL redacted (its path or query often holds a credential).
    webhookGates: (env.webhookGates ?? []).map(({ secret: _s, ...h }) => ({ ...h, url: redactUrl(h.url) })),
    concurrency: env.concurrency ?? 'queue',
    autoPromotionPaused: env.autoPromotionPaused ?? false,
    bakeSeconds: env.bakeSeconds ?? 0,
    soakSeconds: env.soakSeconds ?? 0,
    allowedHours: env.allowedHours ?? null,
    ciGate: env.ciGate ?? null,
    after: env.after ?? [],
    afterMode: env.afterMode ?? 'all',
    requireAttestationFrom: env.requireAttestationFrom ?? [],
    autoPromote: env.autoPromote ?? false,
    cacheMaxAgeSeconds: env.cacheMaxAgeSeconds ?? 0,
    registries: env.registries ?? [],
    monitors: env.monitors ?? [],
    verification: env.verification ?? 'digest_match',
    signingKey: env.signingKey ?? null,
    // The newest alarm of its monitors that went to ALARM when nothing it hit was baking here (a soak into the next
    // environment starts again from it): guide 07 promises it here.
    lastAlarm: env.lastAlarm ?? null,
    // Only an environment that declares targets shows them: one without keeps the answer it always gave.
    ...(env.targets?.length ? { targets: env.targets.map(targetView), rollout: rolloutOf(env) } : {}),
    analysis: env.analysis ?? [],
    preAnalysis: env.preAnalysis ?? [],
    snapshot: { seq: env.head.seq, digest: env.head.digest },
    itemCount: env.itemCount,
    version: env.version,
    createdAt: env.createdAt,
    createdBy: env.createdBy,
    updatedAt: env.updatedAt,
    updatedBy: env.updatedBy,
  };
}

/** Digest of an environment's settings (what `before`/`after` mean in its audit entries). */
function settingsDigest(env: Environment): string {
  const { head: _h, version: _v, updatedAt: _u, updatedBy: _b, itemCount: _c, lastBreakGlass: _g, lastAlarm: _a, ownHeads: _o, webhookGates, ...rest } = env;
  // Never digest a secret: an unsalted digest over settings that include a webhook secret lets
  // anyone who reads the audit trail guess the secret offline.
  const settings = { ...rest, webhookGates: (webhookGates ?? []).map(({ secret: _s, ...h }) => h) };
  return digestOf(settings);
}

export async function getEnvironment(deps: Deps, ctx: Ctx, name: string): Promise<Environment> {
  const env = await deps.store.getEnvironment(ctx.principal.tenant, name);
  if (!env) throw new EnvironmentNotFound(name);
  return env;
}

/** The last environment of the line is always protected (domain/freeze/break-glass.ts isProtected): an explicit false is refused, not shown and ignored. */
const lastIsProtected = (name: string) =>
  new ValidationFailed([
    {
      path: 'body.protected',
      message: `'${name}' is the last environment of the line, which is always protected (it changes only by promotion, or an admin break-glass): leave protected out or set it true`,
    },
  ]);

/** Environments in line order. */
export async function listEnvironments(deps: Deps, ctx: Ctx): Promise<Environment[]> {
  const envs = await deps.store.listEnvironments(ctx.principal.tenant);
  return envs.sort((a, b) => a.position - b.position || a.name.localeCompare(b.name));
}

/** The line's edges as they would be: an unknown or self edge, a name twice or a cycle (on an edge the change adds, given `before`) is a 400 naming it. */
function assertGraph(envs: Parameters<typeof graphProblems>[0], before?: Parameters<typeof graphProblems>[0]): void {
  const problems = graphProblems(envs, before);
  if (problems.length) throw new ValidationFailed(problems.map((p) => ({ path: 'body.after', message: p.message })));
}

/** The environments a release must carry an attestation from: each one known, never the environment itself, each once (400 naming it). */
function assertAttestationSources(name: string, required: string[] | undefined, names: Set<string>): void {
  const problems = (required ?? []).flatMap((r, i, all) => [
    ...(r === name ? [`'${name}' cannot require an attestation from itself`] : names.has(r) ? [] : [`'${r}' is not an environment`]),
    ...(all.indexOf(r) !== i ? [`'${r}' is named twice`] : []),
  ]);
  if (problems.length) throw new ValidationFailed(problems.map((message) => ({ path: 'body.requireAttestationFrom', message })));
}

/**
 * The webhook gates a write was given, their secrets sealed (domain/kernel/sealed.ts): a gate given again with the
 * secret it has keeps its stored value as it is (nothing new is written for it).
 */
export async function sealGates(
  deps: With<'sealer'>,
  given: readonly WebhookGateConfig[],
  stored: Environment['webhookGates'],
): Promise<Environment['webhookGates']> {
  return Promise.all(
    given.map(async ({ secret, ...h }) => {
      const prev = stored.find((x) => x.name === h.name);
      return { ...h, secret: prev && (await deps.sealer.same(prev.secret, secret)) ? prev.secret : await deps.sealer.seal(secret) };
    }),
  );
}

/** The environments that require an attestation from `name` (deleting it would leave them asking for one nobody can make). */
const requiringAttestationFrom = (envs: Environment[], name: string) => envs.filter((e) => e.requireAttestationFrom?.includes(name)).map((e) => e.name);

export async function createEnvironment(deps: With<'sealer'>, ctx: Ctx, input: CreateEnvironment): Promise<Environment> {
  const { tenant, id: actor, name: actorName } = ctx.principal;
  assertMonitorsHere(tenant, input.monitors, deps.deployment);
  assertTenantUrls(urlsOf(input), { allowLoopback: deps.tunables.allowLoopbackOutbound });
  assertTargets(tenant, input.targets, input.rollout, deps.deployment, { allowLoopback: deps.tunables.allowLoopbackOutbound });
  assertTargetRegistries(input.targets, input.registries, 'body', input.name);
  await assertAnalyses(deps, tenant, input);
  return retryOnConflict(deps.tunables, async () => {
    const existing = await deps.store.listEnvironments(tenant);
    if (existing.some((e) => e.name === input.name)) {
      throw new AlreadyExists(`Environment '${input.name}' already exists`, { environment: input.name });
    }
    if (input.protected === false && existing.every((e) => e.position < input.position)) throw lastIsProtected(input.name);
    const taken = existing.find((e) => e.position === input.position);
    if (taken) {
      throw new AlreadyExists(`Position ${input.position} is held by '${taken.name}'; choose a free position`, {
        position: input.position,
      });
    }
    assertGraph([...existing, { name: input.name, position: input.position, after: input.after }], existing);
    assertAttestationSources(input.name, input.requireAttestationFrom, new Set(existing.map((e) => e.name)));
    if (existing.length >= MAX_ENVIRONMENTS) {
      throw new RuleViolation(`A tenant can have at most ${MAX_ENVIRONMENTS} environments`);
    }
    const now = deps.clock().toISOString();
    // A name used before (then deleted) keeps its old snapshots in the table: this incarnation's
    // sequence starts after them, and they stay hidden (firstSeq), so the name can be reused.
    const previous = (await deps.store.listSnapshots(tenant, input.name, 1)).items[0];
    const firstSeq = previous ? previous.seq + 1 : 0;
    const head: Head = { seq: firstSeq, digest: EMPTY_DIGEST, roots: EMPTY_ROOTS };
    const env: Environment = {
      tenant,
      name: input.name,
      displayName: input.displayName ?? input.name,
      position: input.position,
      description: input.description,
      protected: input.protected ?? false,
      gates: input.gates,
      webhookGates: await sealGates(deps, input.webhookGates, []),
      concurrency: input.concurrency,
      autoPromotionPaused: input.autoPromotionPaused,
      bakeSeconds: input.bakeSeconds,
      ...(input.soakSeconds ? { soakSeconds: input.soakSeconds } : {}),
      ...(input.allowedHours ? { allowedHours: input.allowedHours } : {}),
      ...(input.ciGate ? { ciGate: input.ciGate } : {}),
      ...(input.after?.length ? { after: input.after, ...(input.afterMode ? { afterMode: input.afterMode } : {}) } : {}),
      ...(input.requireAttestationFrom?.length ? { requireAttestationFrom: input.requireAttestationFrom } : {}),
      ...(input.autoPromote ? { autoPromote: true } : {}),
      cacheMaxAgeSeconds: input.cacheMaxAgeSeconds,
      registries: input.registries,
      monitors: input.monitors,
      verification: input.verification,
      ...(input.signingKey ? { signingKey: input.signingKey } : {}),
      ...(input.targets?.length ? { targets: input.targets, ...(input.rollout ? { rollout: input.rollout } : {}) } : {}),
      ...(input.analysis?.length ? { analysis: input.analysis } : {}),
      ...(input.preAnalysis?.length ? { preAnalysis: input.preAnalysis } : {}),
      ...(firstSeq ? { firstSeq } : {}),
      head,
      itemCount: 0,
      version: 1,
      createdAt: now,
      createdBy: actorName,
      updatedAt: now,
      updatedBy: actorName,
    };
    const snapshot: Snapshot = {
      environment: env.name,
      seq: firstSeq,
      digest: EMPTY_DIGEST,
      roots: EMPTY_ROOTS,
      parentSeq: null,
      itemCount: 0,
      createdAt: now,
      createdBy: actorName,
      change: { action: 'create', keys: [], count: 0 },
    };
    const audit = auditEntry(
      tenant,
      {
        actor,
        actorName,
        action: 'environment.create',
        entityType: 'environment',
        entityId: env.name,
        reason: input.reason,
        before: null,
        after: settingsDigest(env),
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    await deps.store.createEnvironment(env, snapshot, audit);
    return env;
  });
}

export async function updateEnvironment(deps: With<'sealer'>, ctx: Ctx, name: string, input: UpdateEnvironment): Promise<Environment> {
  const { tenant, id: actor, name: actorName } = ctx.principal;
  assertMonitorsHere(tenant, input.monitors, deps.deployment);
  assertTenantUrls(urlsOf(input), { allowLoopback: deps.tunables.allowLoopbackOutbound });
  return retryOnConflict(deps.tunables, async () => {
    const all = await deps.store.listEnvironments(tenant);
    const current = all.find((e) => e.name === name);
    if (!current) throw new EnvironmentNotFound(name);
    if (current.version !== input.version) {
      throw new VersionConflict(`Environment '${name}' is at version ${current.version}, not ${input.version}; read it again and reapply your change`, {
        currentVersion: current.version,
      });
    }
    const position = input.position ?? current.position;
    if (input.protected === false && all.every((e) => e.name === name || e.position < position)) throw lastIsProtected(name);
    if (input.position !== undefined && input.position !== current.position) {
      const taken = all.find((e) => e.position === input.position);
      if (taken) throw new AlreadyExists(`Position ${input.position} is held by '${taken.name}'`, { position: input.position });
    }
    // Targets and rollout options are checked as they will be (a rollout without targets in the body applies to the current ones).
    const targets = input.targets ?? current.targets ?? [];
    // Without targets the rollout options go too (unless the body sends some, which is refused).
    const rollout = input.rollout ?? (targets.length ? current.rollout : undefined);
    if (input.targets !== undefined || input.rollout !== undefined)
      assertTargets(tenant, targets, rollout, deps.deployment, { allowLoopback: deps.tunables.allowLoopbackOutbound });
    if (input.targets !== undefined || input.registries !== undefined)
      assertTargetRegistries(targets, input.registries ?? current.registries, 'body', current.name);
    if (input.targets !== undefined) await assertNotRollingOut(deps.store, current, targets);
    const {
      targets: _t,
      rollout: _r,
      analysis: _a,
      preAnalysis: _p,
      soakSeconds: _s,
      allowedHours: _h,
      ciGate: _ci,
      after: _af,
      afterMode: _am,
      requireAttestationFrom: _ra,
      autoPromote: _ap,
      ...untargeted
    } = current;
    // Left out: kept; [] removes the requirement.
    const attestationFrom = input.requireAttestationFrom ?? current.requireAttestationFrom ?? [];
    if (input.requireAttestationFrom !== undefined) assertAttestationSources(name, attestationFrom, new Set(all.map((e) => e.name)));
    // Left out: the edges stay; [] goes back to the chain by position.
    const after = input.after ?? current.after ?? [];
    const afterMode = input.afterMode ?? current.afterMode;
    if (input.after !== undefined || input.position !== undefined)
      assertGraph(
        all.map((e) => (e.name === name ? { name, position: input.position ?? current.position, after } : e)),
        all,
      );
    // Left out of a partial update, the analyses are kept; [] removes them.
    const analysis = input.analysis ?? current.analysis ?? [];
    const preAnalysis = input.preAnalysis ?? current.preAnalysis ?? [];
    // Left out of the body: the stored soak stays (0 removes it).
    const soak = input.soakSeconds ?? current.soakSeconds ?? 0;
    // Left out: the stored hours stay; null removes them.
    const hours = input.allowedHours === undefined ? current.allowedHours : input.allowedHours;
    // Left out: the stored CI gate stays; null removes it.
    const ci = input.ciGate === undefined ? current.ciGate : input.ciGate;
    const now = deps.clock().toISOString();
    const next: Environment = {
      ...(soak ? { soakSeconds: soak } : {}),
      ...(hours ? { allowedHours: hours } : {}),
      ...(ci ? { ciGate: ci } : {}),
      ...untargeted,
      ...(after.length ? { after, ...(afterMode ? { afterMode } : {}) } : {}),
      ...(attestationFrom.length ? { requireAttestationFrom: attestationFrom } : {}),
      ...((input.autoPromote ?? current.autoPromote) ? { autoPromote: true } : {}),
      ...(targets.length ? { targets, ...(rollout ? { rollout } : {}) } : {}),
      ...(analysis.length ? { analysis } : {}),
      ...(preAnalysis.length ? { preAnalysis } : {}),
      displayName: input.displayName ?? current.displayName,
      position: input.position ?? current.position,
      description: input.description ?? current.description,
      protected: input.protected ?? current.protected,
      gates: { ...current.gates, ...input.gates },
      webhookGates: input.webhookGates ? await sealGates(deps, input.webhookGates, current.webhookGates ?? []) : (current.webhookGates ?? []),
      concurrency: input.concurrency ?? current.concurrency ?? 'queue',
      autoPromotionPaused: input.autoPromotionPaused ?? current.autoPromotionPaused ?? false,
      bakeSeconds: input.bakeSeconds ?? current.bakeSeconds ?? 0,
      cacheMaxAgeSeconds: input.cacheMaxAgeSeconds ?? current.cacheMaxAgeSeconds ?? 0,
      registries: input.registries ?? current.registries ?? [],
      monitors: input.monitors ?? current.monitors ?? [],
      verification: input.verification ?? current.verification ?? 'digest_match',
      // Left out: kept; null: none (what GET answers for an environment without one, so a read can be sent back).
      ...((input.signingKey === undefined ? current.signingKey : input.signingKey) ? { signingKey: (input.signingKey ?? current.signingKey)! } : {}),
      version: current.version + 1,
      updatedAt: now,
      updatedBy: actorName,
    };
    if ([input.analysis, input.preAnalysis, input.targets, input.rollout, input.bakeSeconds].some((f) => f !== undefined))
      await assertAnalyses(deps, tenant, next);
    if (next.verification === 'signature_match' && !next.signingKey) {
      throw new ValidationFailed([
        { path: 'body.signingKey', message: 'signature_match needs signingKey (the public key promotions into this environment must be signed with)' },
      ]);
    }
    const audit = auditEntry(
      tenant,
      {
        actor,
        actorName,
        action: 'environment.update',
        entityType: 'environment',
        entityId: name,
        reason: input.reason,
        before: settingsDigest(current),
        after: settingsDigest(next),
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    await deps.store.updateEnvironment(next, current, audit);
    return next;
  });
}

export async function deleteEnvironment(deps: Deps, ctx: Ctx, name: string, reason?: string): Promise<void> {
  const { tenant, id: actor, name: actorName } = ctx.principal;
  await retryOnConflict(deps.tunables, async () => {
    const current = await deps.store.getEnvironment(tenant, name);
    if (!current) throw new EnvironmentNotFound(name);
    if (current.protected) {
      throw new EnvironmentNotEmpty(`Environment '${name}' is protected; set protected=false before deleting it`);
    }
    const envs = await deps.store.listEnvironments(tenant);
    const dependents = namedAfter(envs, name);
    const requiring = requiringAttestationFrom(envs, name);
    if (requiring.length) {
      throw new EnvironmentNotEmpty(
        `${requiring.map((d) => `'${d}'`).join(', ')} ${requiring.length > 1 ? 'require' : 'requires'} an attestation from '${name}'; take '${name}' out of their requireAttestationFrom first`,
        { requiredBy: requiring },
      );
    }
    if (dependents.length) {
      throw new EnvironmentNotEmpty(
        `${dependents.map((d) => `'${d}'`).join(', ')} ${dependents.length > 1 ? 'come' : 'comes'} after '${name}'; take '${name}' out of their after first`,
        { namedBy: dependents },
      );
    }
    if (current.itemCount > 0) {
      throw new EnvironmentNotEmpty(`Environment '${name}' holds ${current.itemCount} configs and flags; delete them (or move them on) first`, {
        itemCount: current.itemCount,
      });
    }
    const audit = auditEntry(
      tenant,
      {
        actor,
        actorName,
        action: 'environment.delete',
        entityType: 'environment',
        entityId: name,
        reason,
        before: settingsDigest(current),
        after: null,
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    await deps.store.deleteEnvironment(current, audit);
  });
}

/** An environment as the API shows it, with the line read now (its position may just have changed). */
export async function environmentAnswer(deps: Deps, ctx: Ctx, env: Environment) {
  return environmentView(env, await deps.store.listEnvironments(ctx.principal.tenant));
}
