import { unmappedMembers, unmappedText } from '../../gitops/path-map.ts';
import { requestedBreakGlass } from '../../freeze/break-glass.ts';
import { AlreadyExists, ArtifactNotFound, DeploymentNotFound, RuleViolation, TargetBusy } from '../../kernel/errors.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { memoSource } from '../../config/tree.ts';
import { consumersBroken, consumersBrokenText } from '../../artifacts/consumers-broken.ts';
import { actorOf, configReleaseDigest, newPromotion, newPromotionId } from '../aggregate.ts';
import { cancelPromotion } from '../decide/cancel.ts';
import { validationDeadline } from '../terms/deadlines.ts';
import { flowSweepAt, startFlow } from '../run/flow.ts';
import { freezeGlassOps, hasFreezeWindows } from '../run/freeze-override.ts';
import { evaluateGates } from '../terms/gate-verdicts.ts';
import type { Promotion, Subject } from '../../kernel/promotion-model.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import { checkForward, lineOf, policyDigest, resolvePolicy } from '../terms/policy.ts';
import { bundleBrokenText, bundleChanges, bundleConsumersBroken, changeSummary, changeView, configChanges } from '../terms/release.ts';
import { bundleLabel, findBundle } from '../../artifacts/bundles.ts';
import { joinMissing, joinText } from './join.ts';
import type { CreateAgentPromotion, CreatePromotion } from '../../kernel/promotion-schemas.ts';
import { armSweep } from '../terms/stuck.ts';
import { promotionEvent, writeNewPromotion } from '../write.ts';

/**
 * Who the release's claim is taken from (ReleaseClaim): the promotion that last took this release into
 * this target from this source (from any of them, into an environment that comes after several: it takes
 * a release once, whichever branch asks first), if it has ended (null: nobody took it yet). One still on
 * its way refuses the request; two requests at once both read the same holder, and the second write loses
 * and reads again.
 */
async function claimRelease(deps: Deps, p: Promotion, target: Environment): Promise<{ source: string; previous: string | null }> {
  const source = (target.after?.length ?? 0) > 1 ? ANY_SOURCE : p.sourceEnvironment;
  const holder = await deps.store.getReleaseClaim(p.tenant, p.targetEnvironment, source, p.releaseDigest);
  if (holder === null) return { source, previous: null };
  const held = await deps.store.getPromotion(p.tenant, holder);
  if (held && !isTerminal(held.status))
    throw new AlreadyExists(
      `The same release is already on its way to '${p.targetEnvironment}' as ${held.id} (${held.status}, from '${held.sourceEnvironment}')`,
      {
        promotionId: held.id,
      },
    );
  return { source, previous: holder };
}
/** The claim's source for an environment that comes after several: any of them. */
const ANY_SOURCE = '*';

/**
 * Requesting a promotion: the release is prepared (what it would change, bound to its digest),
 * the policy resolved, the promotion written PENDING with its event and audit entry, and its flow
 * started (or its validation deadline armed). A dry run answers the preview and writes nothing.
 */

export interface Prepared {
  source: Environment;
  target: Environment;
  subject: Subject;
  releaseDigest: string;
  preview: Record<string, unknown>;
  changeSummary?: Promotion['changeSummary'];
}

async function prepare(
  deps: Deps,
  tenant: string,
  input: CreatePromotion,
  line: Environment[],
  rules: Awaited<ReturnType<Deps['store']['listRules']>>,
): Promise<Prepared> {
  const { source, target } = checkForward(line, rules, input.sourceEnvironment, input.targetEnvironment);
  if ('artifact' in input) {
    const [version, inSource, inTarget] = await Promise.all([
      deps.store.getArtifactVersion(tenant, input.artifact, input.version),
      deps.store.getPointer(tenant, source.name, input.artifact),
      deps.store.getPointer(tenant, target.name, input.artifact),
    ]);
    if (!version) throw new ArtifactNotFound(`${input.artifact}@${input.version} has not been published`, { artifact: input.artifact, version: input.version });
    if (!inSource || inSource.version !== input.version) {
      throw new RuleViolation(
        `${input.artifact}@${input.version} is not what '${source.name}' runs (it runs ${inSource ? inSource.version : 'nothing'}); a release is promoted from where it runs`,
      );
    }
    if (inTarget?.version === input.version) throw new RuleViolation(`'${target.name}' already runs ${input.artifact}@${input.version}`);
    // Pinned consumers gate promotion forward as they gate a rollback: a version one of them refuses never reaches their environment.
    const broken = await consumersBroken(deps, tenant, input.artifact, input.version, target.name);
    if (broken.length)
      throw new RuleViolation(`${input.artifact}@${input.version} would break ${consumersBrokenText(input.artifact, target.name, broken)}`, {
        consumers: broken,
      });
    const subject: Subject = { type: 'artifact', name: input.artifact, version: input.version, digest: version.digest };
    const join = await joinMissing(deps, tenant, source.name, target, subject);
    if (join.length) throw new RuleViolation(joinText(target, join), { after: target.after, missing: join });
    return {
      source,
      target,
      subject,
      releaseDigest: version.digest,
      preview: { artifact: input.artifact, from: inTarget?.version ?? null, to: input.version, digest: version.digest },
    };
  }
  if ('bundle' in input) return prepareBundle(deps, tenant, input, source, target);
  const subject: Subject = {
    type: 'config',
    sourceSnapshot: { seq: source.head.seq, digest: source.head.digest },
    promotionType: input.promotionType,
    configIds: [...input.configIds].sort(),
    flagIds: [...input.flagIds].sort(),
    keyPatterns: [...input.keyPatterns].sort(),
  };
  const { changes, unchanged } = await configChanges(memoSource(deps.store.nodes(tenant)), target.head.roots, source.head.roots, subject);
  if (changes.length === 0)
    throw new RuleViolation(`Nothing to promote: '${target.name}' already has what this ${subject.promotionType} promotion would bring from '${source.name}'`);
  const join = await joinMissing(deps, tenant, source.name, target, subject, source.head.roots);
  if (join.length) throw new RuleViolation(joinText(target, join), { after: target.after, missing: join });
  const releaseDigest = configReleaseDigest(subject);
  return { source, target, subject, releaseDigest, preview: { changes: changes.map(changeView), unchanged }, changeSummary: changeSummary(changes, subject) };
}

/**
 * A bundle is promoted from where it runs entirely (every member's version, its configuration part's keys as its
 * snapshot has them) into an environment it changes; the consumers it would break refuse it, as for one artifact.
 */
export async function prepareBundle(
  deps: Deps,
  tenant: string,
  input: { bundle: string; bundleDigest?: string },
  source: Environment,
  target: Environment,
): Promise<Prepared> {
  const b = await findBundle(deps, tenant, input.bundle, input.bundleDigest);
  const label = bundleLabel(b);
  // A git target writes a bundle in one commit (or one pull request), each member to its mapped place: a member without
  // one is refused here, naming it, rather than half-delivered.
  const gitTarget = b.members.length ? await deps.store.getGitTarget(tenant, target.name) : null;
  const unmapped = gitTarget ? unmappedMembers(gitTarget, b.members) : [];
  if (unmapped.length) throw new RuleViolation(unmappedText(target.name, b.name, unmapped), { missing: unmapped.map((m) => `paths.${m}`) });
  const [inSource, inTarget] = await Promise.all([
    bundleChanges(deps, tenant, b, source.name, source.head.roots),
    bundleChanges(deps, tenant, b, target.name, target.head.roots),
  ]);
  const elsewhere = inSource.members.filter((m) => m.moves);
  if (elsewhere.length || inSource.config?.changes.length)
    throw new RuleViolation(
      `'${source.name}' does not run all of ${label}: ${[
        ...elsewhere.map((m) => `it runs ${m.from ? `${m.member.name}@${m.from.version}` : `no ${m.member.name}`}, the bundle pins ${m.member.version}`),
        ...(inSource.config?.changes.length ? [`${inSource.config.changes.length} of its configuration keys differ from the bundle's snapshot`] : []),
      ].join('; ')}; a bundle is promoted from where it runs`,
    );
  const moving = inTarget.members.filter((m) => m.moves).map((m) => m.member);
  if (moving.length === 0 && !inTarget.config?.changes.length) throw new RuleViolation(`'${target.name}' already runs all of ${label}`);
  const broken = await bundleConsumersBroken(deps, tenant, b, moving, target.name);
  if (broken.length) throw new RuleViolation(`${label} would break ${bundleBrokenText(target.name, broken)}`, { consumers: broken });
  const subject: Subject = { type: 'bundle', name: b.name, digest: b.digest, members: b.members, ...(b.config ? { config: b.config } : {}) };
  const join = await joinMissing(deps, tenant, source.name, target, subject);
  if (join.length) throw new RuleViolation(joinText(target, join), { after: target.after, missing: join });
  const members = inTarget.members.map((m) => ({
    artifact: m.member.name,
    from: m.from?.version ?? null,
    to: m.member.version,
    digest: m.member.digest,
    moves: m.moves,
  }));
  return {
    source,
    target,
    subject,
    releaseDigest: b.digest,
    preview: {
      bundle: { name: b.name, digest: b.digest },
      members,
      ...(inTarget.config ? { changes: inTarget.config.changes.map(changeView), unchanged: inTarget.config.unchanged } : {}),
    },
  };
}

/** An agent promotion as the artifact promotion it is: the source deployment names release and source environment. */
async function fromAgent(
  deps: Deps,
  tenant: string,
  input: CreateAgentPromotion,
): Promise<CreatePromotion & { sourceDeploymentId: string; targetGateway: string }> {
  const dep = await deps.store.findDeployment(tenant, input.sourceDeploymentId);
  if (!dep)
    throw new DeploymentNotFound(
      `Deployment '${input.sourceDeploymentId}' does not exist; source_deployment_id names a deployment record (see /platform/deployments/history)`,
    );
  if (dep.artifact && dep.artifact !== input.agentId) {
    throw new RuleViolation(`Deployment '${dep.id}' deployed '${dep.artifact}', not '${input.agentId}'`);
  }
  if (dep.status !== 'DEPLOYED') throw new RuleViolation(`Deployment '${dep.id}' is ${dep.status}; only a DEPLOYED release is promoted`);
  const { agentId, sourceDeploymentId, targetGatewayId, ...rest } = input;
  return { ...rest, sourceEnvironment: dep.environment, artifact: agentId, version: dep.imageTag, sourceDeploymentId, targetGateway: targetGatewayId };
}

export async function createPromotion(
  deps: With<'scheduler' | 'workflow'>,
  ctx: Ctx,
  given: CreatePromotion | CreateAgentPromotion,
  opts: { autoPromoted?: boolean } = {},
) {
  const asked = requestedBreakGlass(ctx, 'freeze-window', 'promotion.create', deps.clock());
  const { tenant } = ctx.principal;
  const input = 'agentId' in given ? await fromAgent(deps, tenant, given) : given;
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(tenant), deps.store.listRules(tenant)]);
  const line = lineOf(envs);
  // What is already on its way to the target is read beside the preparation (a dry run needs neither).
  const [prepared, active] = await Promise.all([
    prepare(deps, tenant, input, line, rules),
    input.dryRun ? Promise.resolve([]) : deps.store.activePromotions(tenant, input.targetEnvironment),
  ]);
  const policy = resolvePolicy(rules, line, prepared.source, prepared.target);
  const now = deps.clock();
  if (input.dryRun) {
    const gates = evaluateGates(prepared.target.gates, [], { violations: [] }, [], new Set());
    return {
      dryRun: true as const,
      sourceEnvironment: prepared.source.name,
      targetEnvironment: prepared.target.name,
      releaseDigest: prepared.releaseDigest,
      ...prepared.preview,
      ...(prepared.changeSummary ? { changeSummary: prepared.changeSummary } : {}),
      gates: gates.map((g) => ({ gate: g.gate, enabled: g.verdict !== 'SKIPPED', blocking: g.blocking })),
      webhookGates: (prepared.target.webhookGates ?? []).map((h) => ({ name: h.name, blocking: h.blocking })),
      approval: {
        required: policy.requiresApproval,
        approvers: policy.requiredApprovers,
        groups: policy.approverGroups,
        separationOfDuties: policy.separationOfDuties,
        expirySeconds: policy.approvalExpirySeconds,
      },
      policyDigest: policyDigest(policy),
    };
  }
  // The claim (claimRelease, in the write) is what refuses a twin; this earlier look at the active index also
  // covers promotions requested before claims were written, which hold none.
  const twin = active.find((a) => a.releaseDigest === prepared.releaseDigest && a.sourceEnvironment === prepared.source.name);
  if (twin)
    throw new AlreadyExists(`The same release is already on its way to '${prepared.target.name}' as ${twin.id} (${twin.status})`, { promotionId: twin.id });
  const mode = prepared.target.concurrency ?? 'queue';
  if (mode === 'reject' && active.length > 0) {
    throw new TargetBusy(`'${prepared.target.name}' accepts one promotion at a time and ${active[0]!.id} is ${active[0]!.status}; wait for it or cancel it`, {
      blockedBy: active[0]!.id,
    });
  }
  const id = newPromotionId(now);
  const at = now.toISOString();
  const requester = actorOf(ctx.principal);
  const promotion = newPromotion({
    tenant,
    id,
    subject: prepared.subject,
    sourceEnvironment: prepared.source.name,
    targetEnvironment: prepared.target.name,
    releaseDigest: prepared.releaseDigest,
    notes: input.notes,
    requestedBy: requester,
    at,
    policy,
    trigger: input.trigger,
    autoPromoted: opts.autoPromoted ?? false,
  });
  if (prepared.changeSummary) promotion.changeSummary = prepared.changeSummary;
  if ('agentId' in given) Object.assign(promotion, { sourceDeploymentId: given.sourceDeploymentId, targetGateway: given.targetGatewayId });
  const autoStart = input.autoStart ?? true;
  if (autoStart) promotion.flowStartedAt = promotion.requestedAt;
  promotion.whenFrozen = input.whenFrozen ?? 'fail';
  // Break-glass past freeze windows: an admin's reason, bound to this release, recorded on the promotion and the environment, audited as break-glass and evented.
  const glass = asked && (await hasFreezeWindows(deps, tenant, prepared.target.name)) ? { ...asked, releaseDigest: prepared.releaseDigest } : null;
  if (glass) promotion.freezeOverride = glass;
  // Its deadline schedule first: the request may end between the write and the flow's start (a timeout, a
  // lost answer), and then that schedule starts the flow (sweep.ts). Never a promotion no one will move.
  if (autoStart) await armSweep(deps, promotion, flowSweepAt(deps));
  await writeNewPromotion(deps, promotion, async () => ({
    action: glass ? 'breakglass.promotion.create' : 'promotion.create',
    by: requester,
    claim: await claimRelease(deps, promotion, prepared.target),
    ops: [
      promotionEvent(deps, 'Promotion Requested', promotion, { actor: requester.name }),
      ...(glass ? await freezeGlassOps(deps, tenant, prepared.target.name, glass, id) : []),
    ],
    reason: glass ? `break-glass (freeze-window): ${glass.reason}` : input.notes || undefined,
    requestId: ctx.requestId,
  }));
  if (mode === 'supersede') {
    for (const older of active.filter((p) => p.status !== 'EXECUTING')) {
      await cancelPromotion(deps, ctx, older.id, `superseded by ${id}`).catch(() => undefined);
    }
  }
  if (autoStart) await startFlow(deps, promotion, true);
  // Waiting for `validate`: its deadline schedule expires it if nobody validates it in time.
  else await armSweep(deps, promotion, validationDeadline(promotion, deps.tunables));
  return deps.store.getPromotion(tenant, id) as Promise<Promotion>;
}
