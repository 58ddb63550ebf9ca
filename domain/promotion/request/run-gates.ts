import { bundleDigest } from '../../artifacts/bundles.ts';
import { bundleBrokenText, bundleChanges, bundleConsumersBroken } from '../terms/release.ts';
import { freezeOverridden } from '../../freeze/break-glass.ts';
import { activeWindowOf } from '../../freeze/windows.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import { forCurrentRelease } from '../aggregate.ts';
import { everyEvidence, readEvidence, type PromotionEvidence } from '../terms/evidence.ts';
import { evaluateGates, type WebhookOutcome } from '../terms/gate-verdicts.ts';
import type { Evidence, GateResult, Promotion } from '../../kernel/promotion-model.ts';
import { contentChoosers, evidenceAccepted } from '../terms/policy.ts';
import { consumersBroken, consumersBrokenText } from '../../artifacts/consumers-broken.ts';
import { isJoin, joinMissing, joinText } from './join.ts';
import { attestationsRequired, checkedByValidation, type AttestationCheck } from '../../attestation/require.ts';
import { utcTime } from '../../kernel/display.ts';

/** Running a promotion's gates against the store: the target's gates and webhooks, the release as published, the freeze windows. */

/** When validation finds the target frozen: a non-blocking result naming the window (execution waits or fails then). */
export async function freezeGate(deps: Deps, p: Promotion): Promise<GateResult[]> {
  const open = await activeWindowOf(await deps.store.listFreezeWindows(p.tenant), p.targetEnvironment, deps.clock());
  if (!open) return [];
  const then = freezeOverridden(p)
    ? `${p.freezeOverride!.by} broke glass past it (${p.freezeOverride!.reason})`
    : p.whenFrozen === 'wait'
      ? 'execution waits for its end'
      : 'execution is refused while it lasts (whenFrozen: fail)';
  return [
    {
      gate: 'freeze_window',
      verdict: 'WARN',
      blocking: false,
      reason: `'${p.targetEnvironment}' is frozen by ${open.window.id} (${open.window.reason}) until ${utcTime(open.end, { date: true })}, and ${then}`,
      evidenceRefs: [],
    },
  ];
}

/**
 * Evaluates every gate of the target for a promotion's release (fixed order; webhooks fail closed). `targetRead`: the
 * target, when the caller reads it already. `attested`: how the attestations the target requires are checked (the flow's
 * validation, which holds the audit key, passes attestationsMissing); without it they are left to that validation.
 */
export async function runGates(
  deps: With<'gates'>,
  p: Promotion,
  targetRead?: Promise<Environment | null>,
  attested?: AttestationCheck,
): Promise<GateResult[]> {
  // Independent reads at once: the target, the release as published, the evidence (what a rollback does not need is not read).
  const [target, released, evidenceFound] = await Promise.all([
    targetRead ?? deps.store.getEnvironment(p.tenant, p.targetEnvironment),
    verifyRelease(deps, p),
    p.rollback ? Promise.resolve<PromotionEvidence>({ own: [], members: [] }) : readEvidence(deps, p),
  ]);
  // A join (an environment after several, all) still waits for every one of them: one rolled back since the request holds the release again.
  const [join, unattested] = await Promise.all([
    target && !p.rollback && isJoin(target) ? joinMissing(deps, p.tenant, p.sourceEnvironment, target, p.subject, await sourceRoots(deps, p)) : [],
    // Signed verification summaries the target (or the pair's rule) requires from other environments: fail closed.
    ((required) => (!required.length ? [] : attested ? attested(p, required) : checkedByValidation(required)))(attestationsRequired(target, p)),
  ]);
  const violations = [
    ...(target ? [] : [`the target environment '${p.targetEnvironment}' no longer exists`]),
    ...released,
    ...(join.length ? [joinText(target!, join)] : []),
    ...unattested,
  ];
  if (p.rollback) {
    // A rollback returns to a release that already ran here: its gate is the impact analysis.
    const { impact, override } = p.rollback;
    return [
      {
        gate: 'policy_compliance',
        verdict: violations.length ? 'FAIL' : 'PASS',
        blocking: true,
        reason: violations.join('; ') || 'the release is exactly the one that ran here before',
        evidenceRefs: [],
      },
      {
        gate: 'rollback_impact',
        verdict: impact.recommendation === 'SAFE' ? 'PASS' : impact.recommendation === 'BLOCKED' && !override ? 'FAIL' : 'WARN',
        blocking: true,
        reason: `the impact analysis says ${impact.recommendation}${impact.reasons.length ? ` (${impact.reasons.join('; ')})` : ''}${override ? `, and ${override.by} overrode it: ${override.reason}` : ''}`,
        evidenceRefs: [],
      },
    ];
  }
  // Only evidence about this release, from sources the policy accepts, counts (e.g. a machine principal, not the requester).
  // A bundle's members' evidence (on each member's version) is judged member by member.
  const counts = (e: Evidence) => forCurrentRelease(e, p) && evidenceAccepted(e, p.policy, contentChoosers(p));
  const own = evidenceFound.own.filter(counts);
  const members = evidenceFound.members.map((m) => ({ member: m.member, evidence: m.evidence.filter(counts) }));
  const evidence = everyEvidence({ own, members });
  const hooks = target?.webhookGates ?? [];
  const outcomes: WebhookOutcome[] = await Promise.all(
    hooks.map((h) =>
      deps.gates.call(h, {
        promotionId: p.id,
        tenant: p.tenant,
        sourceEnvironment: p.sourceEnvironment,
        targetEnvironment: p.targetEnvironment,
        subject: p.subject,
        releaseDigest: p.releaseDigest,
        evidence,
      }),
    ),
  );
  const configured = target?.gates ?? { policy_compliance: true, tests: false, security_scan: false, cost_analysis: false, performance_baseline: false };
  return evaluateGates(configured, own, { violations }, outcomes, new Set(hooks.filter((h) => h.blocking).map((h) => h.name)), members);
}

/** policy_compliance's own checks: the release still is exactly what was requested. */
async function verifyRelease(deps: Deps, p: Promotion): Promise<string[]> {
  const out: string[] = [];
  if (p.subject.type === 'artifact') {
    const v = await deps.store.getArtifactVersion(p.tenant, p.subject.name, p.subject.version);
    if (!v || v.digest !== p.subject.digest) out.push("the artifact's digest no longer matches the published version");
    // A consumer pinned (or re-pinned) since the request still holds the release back (a rollback's consumers are its impact analysis's).
    const broken = p.rollback ? [] : await consumersBroken(deps, p.tenant, p.subject.name, p.subject.version, p.targetEnvironment);
    if (broken.length) out.push(`${p.subject.name}@${p.subject.version} would break ${consumersBrokenText(p.subject.name, p.targetEnvironment, broken)}`);
  } else if (p.subject.type === 'bundle') {
    // Each member still is the version it pins (a digest never changes under a published version), and the bundle its digest.
    const b = p.subject;
    const versions = await Promise.all(b.members.map((m) => deps.store.getArtifactVersion(p.tenant, m.name, m.version)));
    const changed = b.members.filter((m, i) => versions[i]?.digest !== m.digest);
    if (changed.length) out.push(`the digest of ${changed.map((m) => `${m.name}@${m.version}`).join(', ')} no longer matches the published version`);
    if (bundleDigest(b.members, b.config) !== b.digest) out.push("the bundle's members no longer give its digest");
    if (!p.rollback) {
      const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
      const moving = env ? (await bundleChanges(deps, p.tenant, b, env.name, env.head.roots)).members.filter((m) => m.moves).map((m) => m.member) : [];
      const broken = await bundleConsumersBroken(deps, p.tenant, b, moving, p.targetEnvironment);
      if (broken.length) out.push(`bundle ${b.name} would break ${bundleBrokenText(p.targetEnvironment, broken)}`);
    }
  } else {
    const s = await deps.store.getSnapshot(p.tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq);
    if (!s || s.digest !== p.subject.sourceSnapshot.digest) out.push("the source snapshot's digest no longer matches what was requested");
  }
  return out;
}

/** What a config release brings: its pinned source snapshot's roots (read only for a join). */
async function sourceRoots(deps: Deps, p: Promotion) {
  if (p.subject.type !== 'config') return undefined;
  return (await deps.store.getSnapshot(p.tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq))?.roots;
}
