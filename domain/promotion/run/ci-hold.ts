import { Frozen } from '../../kernel/errors.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import type { Environment } from '../../kernel/model.ts';
import { ciInputs, type CiGate } from '../../kernel/ci-gate.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import { heldByCi, type CiRunRecord, type Promotion } from '../../kernel/promotion-model.ts';
import { ENGINE, patched, subjectLabel, waitsToExecute } from '../aggregate.ts';
import { loadPromotion, writePromotion } from '../write.ts';
import { CiRefused, type CiRunState } from '../ports.ts';
import { rejectHeld, writeHold } from './hold.ts';
import { scheduleName } from './schedule-name.ts';
import { ciGateResult, ciRunName, ciVerdict, nextLook } from './ci-run.ts';

/**
 * The CI gate (domain/kernel/ci-gate.ts), where a promotion is about to execute (step/steps.ts executeStep and
 * rollout/begin.ts rolloutStartStep, after the freeze, soak and hours holds and before the change request's): the
 * target's pipeline is started once for the promotion's release — claimed on the promotion first, so two looks
 * never start two runs; its id recorded as soon as the host answered — and the promotion waits SCHEDULED
 * (`heldBy.ci`) while it runs, a one-time schedule waking the flow every `pollSeconds` to look again. A run that
 * succeeded lets the promotion go on (its `ci_run` gate PASS, the run's page as evidence); one that ended otherwise,
 * that the host refused to start, or that has not ended by the gate's deadline ends the promotion REJECTED by the
 * CI gate (nothing was changed). A new release digest (a rebase) starts a new run. A rollback is never gated: it
 * returns to what ran before.
 */

/** A claim whose start was never recorded (its function gone mid-call) may be taken again after this long. */
const CLAIM_SECONDS = 120;

/** Texts from a host are bounded before they are kept. */
const brief = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export async function ciHold(deps: With<'scheduler' | 'ciRuns'>, p: Promotion, env: Environment | null): Promise<Promotion | null> {
  const gate = env?.ciGate;
  if (!gate || p.rollback || !waitsToExecute(p)) return p;
  const now = deps.clock();
  let cur = p;
  const own = (r: CiRunRecord | null | undefined) => !!r && r.digest === cur.releaseDigest;
  // Concluded for this release: a success goes on (both hosts name it `success`), anything else ended it.
  if (own(cur.ciRun) && cur.ciRun!.conclusion !== null)
    return cur.ciRun!.conclusion === 'success' ? cur : reject(deps, cur, cur.ciRun!.reason ?? `${ciRunName(cur.ciRun!)} ended ${cur.ciRun!.conclusion}`);
  const claimable = (r: CiRunRecord | null | undefined) => !own(r) || (!r!.run && now.getTime() - Date.parse(r!.claimedAt) > CLAIM_SECONDS * 1000);
  if (claimable(cur.ciRun)) {
    const { after } = await writePromotion(
      deps,
      cur.tenant,
      cur.id,
      (x) => {
        if (isTerminal(x.status) || !claimable(x.ciRun)) return null;
        const fresh: CiRunRecord = {
          host: gate.host,
          repository: gate.repository,
          workflow: gate.workflow,
          digest: x.releaseDigest,
          claimedAt: now.toISOString(),
          deadline: new Date(now.getTime() + gate.timeoutMinutes * 60_000).toISOString(),
          run: null,
          status: null,
          conclusion: null,
          checkedAt: null,
          looks: 0,
          reason: 'starting',
        };
        return { next: patched(x, now, { ciRun: fresh }), action: null, by: ENGINE };
      },
      { read: cur },
    );
    if (!after) return ciHold(deps, await loadPromotion(deps, cur.tenant, cur.id), env);
    cur = after;
    try {
      const run = await deps.ciRuns.start({ tenant: cur.tenant, gate, inputs: ciInputs(gate, placeholders(cur)) });
      cur = await recordStart(deps, cur, run, now);
    } catch (err) {
      if (err instanceof CiRefused)
        return reject(deps, cur, `${gate.host === 'github' ? 'GitHub' : 'GitLab'} refused to start the CI gate's run: ${brief(err.message)}`);
      // Down or slow: the next look starts it (the claim is taken again once it is stale).
      return wait(deps, gate, cur, `the CI gate's run could not be started yet: ${brief((err as Error).message)}`);
    }
  }
  const r = cur.ciRun!;
  if (!r.run) {
    if (now.getTime() >= Date.parse(r.deadline)) return reject(deps, cur, `the CI gate's run did not start within ${gate.timeoutMinutes} min`);
    return wait(deps, gate, cur, "the CI gate's run is being started");
  }
  let state: CiRunState;
  try {
    state = await deps.ciRuns.read({ tenant: cur.tenant, gate, runId: r.run.id });
  } catch (err) {
    if (now.getTime() >= Date.parse(r.deadline))
      return reject(deps, cur, `${ciRunName(r)} could not be read before the gate's deadline: ${brief((err as Error).message)}`);
    return wait(deps, gate, cur, `${ciRunName(r)} could not be read: ${brief((err as Error).message)}`);
  }
  const verdict = ciVerdict(gate.host, state);
  const reason = lookText(r, state, verdict);
  cur = await recordLook(deps, cur, r, state, verdict, reason, now);
  if (verdict === 'passed') return cur;
  if (verdict === 'failed') return reject(deps, cur, reason);
  if (now.getTime() >= Date.parse(r.deadline)) return reject(deps, cur, `${ciRunName(r)} did not end within ${gate.timeoutMinutes} min (${state.url})`);
  return wait(deps, gate, cur, reason);
}

/** What a look found, as the hold's reason and the gate's: "… is queued (page)", "… succeeded: page", "… ended failure: page". */
const lookText = (r: CiRunRecord, state: CiRunState, verdict: 'passed' | 'failed' | 'running') =>
  verdict === 'running'
    ? `${ciRunName(r)} is ${brief(state.status, 40)} (${state.url})`
    : `${ciRunName(r)} ${verdict === 'passed' ? 'succeeded' : `ended ${brief(state.conclusion ?? state.status, 40)}`}: ${state.url}`;

/** What an input's placeholders are filled with. */
const placeholders = (p: Promotion) => ({
  release: subjectLabel(p.subject),
  promotion: p.id,
  environment: p.targetEnvironment,
  source: p.sourceEnvironment,
  digest: p.releaseDigest,
});

/** The run's id and page, recorded as soon as the host answered (audited: the run is the gate's evidence). */
async function recordStart(deps: Deps, p: Promotion, run: { id: string; url: string }, now: Date): Promise<Promotion> {
  const claimedAt = p.ciRun!.claimedAt;
  const { after } = await writePromotion(
    deps,
    p.tenant,
    p.id,
    (x) =>
      x.ciRun && x.ciRun.claimedAt === claimedAt && !x.ciRun.run
        ? {
            next: patched(x, now, { ciRun: { ...x.ciRun, run: { id: run.id, url: run.url }, reason: 'started' } }),
            action: 'promotion.ci.start',
            by: ENGINE,
            reason: `${ciRunName({ ...x.ciRun, run })} started for ${subjectLabel(x.subject)}: ${run.url}`,
          }
        : null,
    { read: p },
  );
  return after ?? (await loadPromotion(deps, p.tenant, p.id));
}

/** The run's state as read; once it concluded, the decision record's `ci_run` gate (audited once). */
async function recordLook(
  deps: Deps,
  p: Promotion,
  r: CiRunRecord,
  state: CiRunState,
  verdict: 'passed' | 'failed' | 'running',
  reason: string,
  now: Date,
): Promise<Promotion> {
  const { after } = await writePromotion(
    deps,
    p.tenant,
    p.id,
    (x) => {
      if (!x.ciRun || x.ciRun.claimedAt !== r.claimedAt || x.ciRun.conclusion !== null) return null;
      const ciRun: CiRunRecord = {
        ...x.ciRun,
        status: brief(state.status, 40),
        conclusion: verdict === 'running' ? null : brief(state.conclusion ?? state.status, 40),
        checkedAt: now.toISOString(),
        looks: x.ciRun.looks + 1,
        reason,
      };
      if (verdict === 'running') return { next: patched(x, now, { ciRun }), action: null, by: ENGINE };
      const gates = [...(x.gates ?? []).filter((g) => g.gate !== 'ci_run'), ciGateResult(ciRun, verdict === 'passed' ? 'PASS' : 'FAIL', reason)];
      return { next: patched(x, now, { ciRun, gates }), action: verdict === 'passed' ? 'promotion.ci.pass' : 'promotion.ci.fail', by: ENGINE, reason };
    },
    { read: p },
  );
  return after ?? (await loadPromotion(deps, p.tenant, p.id));
}

/** Held SCHEDULED to the next look (a look that finds it as it was is not news: no audit entry); the flow parks in its go task. */
async function wait(deps: With<'scheduler'>, gate: CiGate, p: Promotion, why: string): Promise<never> {
  const now = deps.clock();
  const r = p.ciRun!;
  const until = nextLook(now, gate.pollSeconds, r.deadline).toISOString();
  const heldBy = { ci: { run: r.run?.id ?? null, status: r.status ?? 'starting', url: r.run?.url ?? null }, reason: why, until };
  await writeHold(deps, p, now, heldBy, {
    action: 'promotion.ci.wait',
    reason: `${why}; it looks again at ${until}`,
    sameHold: (cur) => heldByCi(cur.heldBy) && cur.heldBy.ci.run === heldBy.ci.run && cur.heldBy.ci.status === heldBy.ci.status,
  });
  await deps.scheduler.scheduleOnce(scheduleName(p), new Date(until), { tenant: p.tenant, promotionId: p.id });
  throw new Frozen(`${why}: held until ${until}`);
}

/** Ends the promotion REJECTED by the CI gate, with why (it was waiting: nothing changed); null, as the gate answers then. */
async function reject(deps: Deps, p: Promotion, why: string): Promise<null> {
  await rejectHeld(deps, p, why, {
    by: 'CI gate',
    code: 'CI_RUN_FAILED',
    more: (cur) => ({
      gates:
        cur.ciRun && !(cur.gates ?? []).some((g) => g.gate === 'ci_run' && g.verdict === 'FAIL')
          ? [...(cur.gates ?? []).filter((g) => g.gate !== 'ci_run'), ciGateResult(cur.ciRun, 'FAIL', why)]
          : cur.gates,
      ...(cur.ciRun ? { ciRun: { ...cur.ciRun, reason: why } } : {}),
    }),
  });
  return null;
}

/**
 * A look at a CI-held promotion's run without waking the flow (its schedule fired: fire.ts), as change control's look
 * does: a run still going before its deadline (or a host that could not be read) is recorded and the next look armed,
 * the flow left parked with its go token; `waiting: false` once the run has ended or the deadline passed (what it
 * found recorded), and the caller wakes the flow, whose execute step goes on or rejects it.
 */
export async function recheckCi(deps: With<'scheduler' | 'ciRuns'>, p: Promotion): Promise<{ waiting: boolean }> {
  const gate = (await deps.store.getEnvironment(p.tenant, p.targetEnvironment))?.ciGate;
  const r = p.ciRun;
  const now = deps.clock();
  if (!gate || !r?.run || r.digest !== p.releaseDigest || r.conclusion !== null || now.getTime() >= Date.parse(r.deadline)) return { waiting: false };
  let state: CiRunState | null = null;
  let why: string;
  try {
    state = await deps.ciRuns.read({ tenant: p.tenant, gate, runId: r.run.id });
    const verdict = ciVerdict(gate.host, state);
    why = lookText(r, state, verdict);
    await recordLook(deps, p, r, state, verdict, why, now);
    if (verdict !== 'running') return { waiting: false };
  } catch (err) {
    why = `${ciRunName(r)} could not be read: ${brief((err as Error).message)}`;
  }
  const until = nextLook(now, gate.pollSeconds, r.deadline).toISOString();
  const status = state ? brief(state.status, 40) : (r.status ?? 'starting');
  await writePromotion(deps, p.tenant, p.id, (cur) =>
    cur.status === 'SCHEDULED' && heldByCi(cur.heldBy)
      ? { next: patched(cur, now, { scheduledAt: until, heldBy: { ci: { ...cur.heldBy.ci, status }, reason: why, until } }), action: null, by: ENGINE }
      : null,
  );
  await deps.scheduler.scheduleOnce(scheduleName(p), new Date(until), { tenant: p.tenant, promotionId: p.id });
  return { waiting: true };
}
