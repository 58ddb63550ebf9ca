import { randomBytes } from 'node:crypto';
import { Frozen, PromotionNotFound, TransitionNotAllowed } from '../../kernel/errors.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import type { ChangeControl, Environment } from '../../kernel/model.ts';
import { heldByChange, type ChangeRecord, type Promotion } from '../../kernel/promotion-model.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import { gateSentence } from '../../kernel/display.ts';
import { ENGINE, moved, patched, subjectLabel, waitsToExecute } from '../aggregate.ts';
import { loadPromotion, writePromotion } from '../write.ts';
import { rejectHeld, writeHold } from './hold.ts';
import { scheduleName } from './schedule-name.ts';
import { flowDecision } from '../terms/deadlines.ts';
import { ChangeRefused, ChangeUnavailable, type ChangeFound, type ChangeProvider, type ChangeRef, type ChangeRequestDraft } from '../../change/ports.ts';
import { changeRequestView, changeVerdict, foreignText, nextCheck, toolText, trustFound, type ChangeVerdict } from '../../change/rule.ts';

/**
 * Change control's gate (DESIGN.md §9: a change request is a gate that waits, like a start window). When a promotion
 * into a change-controlled environment is about to execute, its change request is opened once (claimed on the
 * promotion first, with a random correlation token the request carries; its id recorded as soon as the tool answers;
 * after a lost answer the tool is asked for the request carrying the token), bound to the release digest (a new digest
 * voids it and opens another), and read. A request found by correlation that Stageline did not open (no token, or opened
 * by another account than the integration user) is never adopted: it is audited (promotion.change.spoof) and Stageline
 * opens its own. Read: approved and inside its planned
 * window, the promotion goes on; rejected or cancelled in the tool, it ends REJECTED with the tool's reason; otherwise it
 * is held SCHEDULED (heldBy.change) and a one-time schedule looks again with a backoff (rule.ts nextCheck) without
 * waking the flow (fireSchedule → recheckChange), so the flow takes the same transitions however long the board takes.
 */

/** A claim not answered for this long (its create's answer lost, its function gone) may be taken again. */
const CLAIM_SECONDS = 120;

const refOf = (r: ChangeRecord): ChangeRef => ({ provider: r.provider, ...r.ref! });

/** The request's name in the tool: the promotion's id; a request opened again after a void gets `<id>.<n>` (a voided one is never found again). */
const correlationOf = (p: Promotion) => (p.changeRequest?.voided?.length ? `${p.id}.${p.changeRequest.voided.length}` : p.id);

/** The correlation value the request is opened with and found by: its name, `.` and the promotion's correlation token. */
const boundCorrelation = (p: Promotion, token: string) => `${correlationOf(p)}.${token}`;

/** A new correlation token: 128 random bits, base64url (22 characters). */
const correlationToken = () => randomBytes(16).toString('base64url');

/** Requests refused by correlation remembered on the promotion (each audited once), at most. */
const REFUSED_KEPT = 20;

/** What the request is opened with: the release and its digest, what changes, the gates' verdicts, the decision record. */
export function changeDraft(deps: Deps, p: Promotion): ChangeRequestDraft {
  const token = p.changeRequest?.token;
  if (!token) throw new Error(`promotion ${p.id}: a change request is opened only once its correlation token is kept`);
  const decisionUrl = `${(deps.publicUrl ?? '').replace(/\/+$/, '')}/api/v1/promotions/${p.id}/decision`;
  const release = subjectLabel(p.subject);
  const gates = (p.gates ?? []).map((g) => `- ${gateSentence(g)}`).join('\n') || '- none';
  return {
    title: toolText(`Promote ${release} to ${p.targetEnvironment}`, 160),
    description: [
      `Stageline promotion ${p.id}: ${release} from ${p.sourceEnvironment} to ${p.targetEnvironment}.`,
      `Release digest: ${p.releaseDigest}`,
      `Requested by ${p.requestedBy.name} at ${p.requestedAt}${p.notes ? `: ${toolText(p.notes, 500)}` : ''}.`,
      `Approved by: ${p.approvedBy.join(', ') || 'no approval required'}.`,
      `Gates:\n${gates}`,
      `Decision record: ${decisionUrl}`,
    ].join('\n'),
    correlationId: boundCorrelation(p, token),
    decisionUrl,
    release: { id: release, digest: p.releaseDigest },
    environment: p.targetEnvironment,
  };
}

type Looked = { verdict: ChangeVerdict; read: Promotion } | { verdict: null; read: Promotion; why: string };

/**
 * Opens (once) and reads the promotion's change request; records what the tool said on the promotion (and the
 * request's ref, in the audit, when it was opened). Never throws for the tool: an unavailable tool is a wait.
 */
async function lookAt(deps: With<'changes'>, p: Promotion, rule: ChangeControl): Promise<Looked> {
  const now = deps.clock();
  let tool: ChangeProvider & { cancel?(ref: ChangeRef, text: string): Promise<void> };
  try {
    tool = await deps.changes.open(rule);
  } catch (err) {
    return { verdict: null, read: p, why: toolText((err as Error).message) };
  }
  let cur = p;
  const record = cur.changeRequest;
  // A request opened for another digest (a rebase, a bundle member changed) no longer speaks for this release: voided.
  if (record?.ref && record.digest !== cur.releaseDigest) {
    const text = `Stageline: the release of promotion ${cur.id} changed (now ${cur.releaseDigest}); this request is void and a new one is opened.`;
    try {
      await tool.note(refOf(record), text);
      if (tool.cancel) await tool.cancel(refOf(record), text);
      else await tool.close(refOf(record), 'unsuccessful', text);
    } catch (err) {
      if (!(err instanceof ChangeUnavailable || err instanceof ChangeRefused)) throw err;
    }
  }
  // A record without a ref and without a token (claimed before tokens) is claimed again: a token first, then a search, then a create.
  const claimable = (r: ChangeRecord | null | undefined) =>
    !r || (r.ref && r.digest !== cur.releaseDigest) || (!r.ref && (!r.token || now.getTime() - Date.parse(r.claimedAt) > CLAIM_SECONDS * 1000));
  let claimed = false;
  if (claimable(record)) {
    const { after } = await writePromotion(
      deps,
      cur.tenant,
      cur.id,
      (x) => {
        if (isTerminal(x.status) || !claimable(x.changeRequest)) return null;
        const old = x.changeRequest;
        const voided =
          old?.ref && old.digest !== x.releaseDigest ? [...(old.voided ?? []), { number: old.ref.number, digest: old.digest }] : (old?.voided ?? []);
        // A claim taken again for the same release keeps its token: a create sent under it may still land, and is found by it.
        const token = old && !old.ref && old.token && old.digest === x.releaseDigest ? old.token : correlationToken();
        const fresh: ChangeRecord = {
          provider: rule.provider,
          digest: x.releaseDigest,
          claimedAt: now.toISOString(),
          token,
          ref: null,
          state: null,
          checkedAt: null,
          looks: 0,
          reason: null,
          ...(voided.length ? { voided } : {}),
          ...(old?.refused?.length ? { refused: old.refused } : {}),
        };
        const action = old?.ref ? 'promotion.change.void' : null;
        return {
          next: patched(x, now, { changeRequest: fresh }),
          action,
          by: ENGINE,
          ...(action ? { reason: `change request ${old!.ref!.number} voided: the release changed` } : {}),
        };
      },
      { read: cur },
    );
    if (after) {
      cur = after;
      claimed = true;
    } else cur = await loadPromotion(deps, cur.tenant, cur.id); // another look claimed it meanwhile: its token
  }
  const r = cur.changeRequest!;
  let ref: ChangeRef | null = r.ref ? refOf(r) : null;
  if (!ref) {
    if (!r.token) return { verdict: null, read: cur, why: 'its change request is being opened' };
    const bound = boundCorrelation(cur, r.token);
    let adopted = false;
    try {
      // The tool is asked first (a create whose answer was lost, another look's create): only a request carrying this
      // promotion's token (and opened by the integration user, where the tool says) is its own. Its bare name is asked
      // too: a request someone opened under it is refused and audited, never adopted.
      const { own, foreign } = trustFound(await tool.find([bound, correlationOf(cur)]), bound);
      if (foreign.length) cur = await refuse(deps, cur, rule, foreign, bound, now);
      if (own) {
        ref = own.ref;
        adopted = true;
      } else if (claimed) ref = await tool.create(changeDraft(deps, cur));
    } catch (err) {
      if (err instanceof ChangeUnavailable) return { verdict: null, read: cur, why: `the change request could not be opened yet: ${toolText(err.message)}` };
      if (err instanceof ChangeRefused)
        return { verdict: { go: false, ended: true, why: `the change request could not be opened: ${toolText(err.message)}` }, read: cur };
      throw err;
    }
    if (!ref) return { verdict: null, read: cur, why: 'its change request is being opened' };
    // Its id is recorded as soon as the tool answered, before anything else is asked of it.
    cur = await recordRef(deps, cur, rule, r.token, ref, adopted, now);
    if (cur.changeRequest?.ref?.id !== ref.id) return { verdict: null, read: cur, why: 'its change request is being opened' };
  }
  let status;
  try {
    status = await tool.read(ref);
  } catch (err) {
    if (err instanceof ChangeUnavailable || err instanceof ChangeRefused)
      return { verdict: null, read: cur, why: `change request ${ref.number} could not be read: ${toolText(err.message)}` };
    throw err;
  }
  const verdict = changeVerdict(rule, ref, status, now);
  const { after } = await writePromotion(
    deps,
    cur.tenant,
    cur.id,
    (x) => {
      if (!x.changeRequest || x.changeRequest.digest !== r.digest || x.changeRequest.ref?.id !== ref.id) return null;
      const next = patched(x, now, {
        changeRequest: {
          ...x.changeRequest,
          state: toolText(status.state, 40),
          approval: status.approval ? toolText(status.approval, 40) : null,
          window: status.window ?? null,
          checkedAt: now.toISOString(),
          looks: x.changeRequest.looks + 1,
          reason: verdict.why,
        },
      });
      return { next, action: null, by: ENGINE };
    },
    { read: cur },
  );
  return { verdict, read: after ?? (await loadPromotion(deps, cur.tenant, cur.id)) };
}

/**
 * Records the request's id on the promotion (with its opening in the audit), for the claim that opened or found it (the
 * same token): the promotion as it is after (another look's ref, when one was recorded first).
 */
async function recordRef(deps: Deps, p: Promotion, rule: ChangeControl, token: string, ref: ChangeRef, adopted: boolean, now: Date): Promise<Promotion> {
  const { after } = await writePromotion(
    deps,
    p.tenant,
    p.id,
    (x) =>
      x.changeRequest && !x.changeRequest.ref && x.changeRequest.token === token
        ? {
            next: patched(x, now, { changeRequest: { ...x.changeRequest, ref: { id: ref.id, number: ref.number, url: ref.url } } }),
            action: 'promotion.change.open',
            by: ENGINE,
            reason: `change request ${ref.number} ${adopted ? 'found again by its correlation token' : 'opened'} in ${rule.provider}: ${ref.url}`,
          }
        : null,
    { read: p },
  );
  return after ?? (await loadPromotion(deps, p.tenant, p.id));
}

/**
 * Requests found by the promotion's correlation values that Stageline did not open: never adopted nor written to; each is
 * audited once (promotion.change.spoof, naming its number and id and what is wrong, never a credential nor the token).
 */
async function refuse(deps: Deps, p: Promotion, rule: ChangeControl, foreign: ChangeFound[], bound: string, now: Date): Promise<Promotion> {
  const { after } = await writePromotion(
    deps,
    p.tenant,
    p.id,
    (x) => {
      const known = x.changeRequest?.refused ?? [];
      const fresh = foreign.filter((f) => !known.includes(f.ref.id));
      if (!x.changeRequest || !fresh.length) return null;
      const refused = [...known, ...fresh.map((f) => f.ref.id)].slice(-REFUSED_KEPT);
      const what = fresh.map((f) => foreignText(f, bound)).join('; ');
      return {
        next: patched(x, now, { changeRequest: { ...x.changeRequest, refused } }),
        action: 'promotion.change.spoof',
        by: ENGINE,
        reason: toolText(
          `not adopted: ${fresh.length === 1 ? 'a change request' : `${fresh.length} change requests`} in ${rule.provider} found by the promotion's correlation value that Stageline did not open: ${what}`,
          2000,
        ),
      };
    },
    { read: p },
  );
  return after ?? p;
}

/**
 * Opens the request when the gates passed (decideStep), best effort: a request the tool could not open yet is opened at
 * the first look before the promotion executes. A request rejected meanwhile is found then too.
 */
export async function openChange(deps: With<'changes'>, tenant: string, id: string): Promise<void> {
  const p = await loadPromotion(deps, tenant, id);
  const rule = (await deps.store.getEnvironment(tenant, p.targetEnvironment))?.changeControl;
  if (!rule || isTerminal(p.status) || (p.changeRequest?.ref && p.changeRequest.digest === p.releaseDigest)) return;
  await lookAt(deps, p, rule);
}

/** Ends the promotion REJECTED with the tool's reason (it was waiting: nothing changed). */
const rejectFor = (deps: Deps, p: Promotion, why: string): Promise<Promotion | null> =>
  rejectHeld(deps, p, why, {
    by: 'change control',
    code: 'CHANGE_REJECTED',
    more: (cur) => (cur.changeRequest ? { changeRequest: { ...cur.changeRequest, reason: why } } : {}),
  });

async function hold(deps: With<'scheduler'>, p: Promotion, why: string, opensAt: Date | undefined, parked: boolean): Promise<string> {
  const now = deps.clock();
  const until = nextCheck(now, p.changeRequest?.looks ?? 0, opensAt).toISOString();
  const number = p.changeRequest?.ref?.number ?? 'pending';
  const heldBy = { change: { number, state: p.changeRequest?.state ?? 'not opened' }, reason: why, until };
  const sameHold = (cur: Promotion) => heldByChange(cur.heldBy) && cur.heldBy.change.number === number && cur.heldBy.change.state === heldBy.change.state;
  if (parked) {
    // A look while the flow stays parked in its go task: its token is kept (the look that lets it go answers it).
    await writePromotion(
      deps,
      p.tenant,
      p.id,
      (cur) => {
        if (cur.status !== 'SCHEDULED') return null;
        const next = patched(cur, now, { scheduledAt: until, heldBy });
        return sameHold(cur)
          ? { next, action: null, by: ENGINE }
          : { next, action: 'promotion.change.wait', by: ENGINE, reason: `${why}; it looks again at ${until}` };
      },
      { read: p },
    );
  } else {
    await writeHold(deps, p, now, heldBy, { action: 'promotion.change.wait', reason: `${why}; it looks again at ${until}`, sameHold });
  }
  await deps.scheduler.scheduleOnce(scheduleName(p), new Date(until), { tenant: p.tenant, promotionId: p.id });
  return until;
}

/**
 * The gate, where a promotion is about to execute (step/steps.ts executeStep, after the soak): answers the promotion
 * when it may go on (no change control, or its request approved inside its window), `null` when it ended REJECTED,
 * and throws `Frozen` (the flow parks in its go task) while it waits.
 */
export async function changeHold(deps: With<'scheduler' | 'changes'>, p: Promotion, env: Environment | null): Promise<Promotion | null> {
  const rule = env?.changeControl;
  if (!rule || !waitsToExecute(p)) return p;
  const looked = await lookAt(deps, p, rule);
  if (looked.verdict?.go) {
    await noteOnce(
      deps,
      looked.read,
      'started',
      `Stageline: promotion ${p.id} starts executing ${subjectLabel(p.subject)} into ${p.targetEnvironment} (digest ${p.releaseDigest}).`,
    );
    return loadPromotion(deps, p.tenant, p.id);
  }
  if (looked.verdict?.ended) {
    await rejectFor(deps, looked.read, looked.verdict.why);
    return null;
  }
  const why = looked.verdict ? looked.verdict.why : looked.why;
  const until = await hold(deps, looked.read, why, looked.verdict && !looked.verdict.go && !looked.verdict.ended ? looked.verdict.opensAt : undefined, false);
  throw new Frozen(`${why}: held until ${until}`);
}

/**
 * A look at a held promotion's request without waking the flow (its schedule fired, or someone asked:
 * POST …/promotions/{id}/change-request/check): answers the flow's go token only when it may go on, fails it when the
 * tool rejected the request, and otherwise re-arms the next look.
 */
export async function recheckChange(
  deps: With<'scheduler' | 'changes' | 'workflow'>,
  p: Promotion,
): Promise<{ status: string; waiting: boolean; reason: string }> {
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  const rule = env?.changeControl;
  if (!rule || p.status !== 'SCHEDULED' || !heldByChange(p.heldBy)) return { status: p.status, waiting: false, reason: 'not waiting for a change request' };
  const looked = await lookAt(deps, p, rule);
  const token = looked.read.taskToken;
  if (looked.verdict?.go) {
    // The flow's Execute looks once more and notes the start.
    if (token) await deps.workflow.sendTaskSuccess(token, { ...flowDecision(looked.read, 'execute', deps.clock()) });
    // The flow is not parked yet (between Execute's hold and its go task): the scheduler retries, as any resume.
    else throw new Error(`promotion ${p.id} is not waiting for its go signal yet`);
    return { status: looked.read.status, waiting: false, reason: looked.verdict.why };
  }
  if (looked.verdict?.ended) {
    const ended = await rejectFor(deps, looked.read, looked.verdict.why);
    if (ended && token) await deps.workflow.sendTaskFailure(token, 'Rejected', looked.verdict.why);
    return { status: ended?.status ?? looked.read.status, waiting: false, reason: looked.verdict.why };
  }
  const why = looked.verdict ? looked.verdict.why : looked.why;
  await hold(deps, looked.read, why, looked.verdict && !looked.verdict.go && !looked.verdict.ended ? looked.verdict.opensAt : undefined, true);
  return { status: 'SCHEDULED', waiting: true, reason: why };
}

async function noteOnce(deps: With<'changes'>, p: Promotion, what: 'started' | 'ended', text: string): Promise<void> {
  const r = p.changeRequest;
  if (!r?.ref || r.noted?.includes(what)) return;
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  if (!env?.changeControl) return;
  try {
    await (await deps.changes.open(env.changeControl)).note(refOf(r), text);
  } catch (err) {
    if (!(err instanceof ChangeUnavailable || err instanceof ChangeRefused)) throw err;
    return;
  }
  await writePromotion(deps, p.tenant, p.id, (x) =>
    x.changeRequest && !x.changeRequest.noted?.includes(what)
      ? { next: patched(x, deps.clock(), { changeRequest: { ...x.changeRequest, noted: [...(x.changeRequest.noted ?? []), what] } }), action: null, by: ENGINE }
      : null,
  );
}

/** Why it ended, for the request's note: its error, or the rejection by Stageline's approvers and its reason. */
const endedWhy = (p: Promotion) =>
  p.error?.message
    ? `: ${toolText(p.error.message, 500)}`
    : p.status === 'REJECTED' && p.rejection
      ? `: rejected by ${toolText(p.rejection.by, 100)}: ${toolText(p.rejection.reason, 500)}`
      : '';

/**
 * When the promotion has ended, its request is noted and closed: successful when it completed, unsuccessful when it
 * failed or was rolled back; a request of a promotion that never executed (cancelled, expired) is cancelled. Once
 * (recorded on the promotion); an unavailable tool is tried again at the promotion's next step or look.
 */
export async function closeChange(deps: With<'changes'>, tenant: string, id: string): Promise<void> {
  const p = await loadPromotion(deps, tenant, id);
  const r = p.changeRequest;
  // A request the tool itself rejected or cancelled is not closed again.
  if (!r?.ref || r.closed || !isTerminal(p.status) || (p.status === 'REJECTED' && p.rejection?.by === 'change control')) return;
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  if (!env?.changeControl) return;
  const executed = p.transitions.some((t) => t.status === 'EXECUTING');
  const outcome = p.status === 'COMPLETED' ? 'successful' : executed ? 'unsuccessful' : 'cancelled';
  const text =
    outcome === 'successful'
      ? `Stageline: promotion ${p.id} completed: ${subjectLabel(p.subject)} runs in ${p.targetEnvironment} (digest ${p.releaseDigest}).`
      : `Stageline: promotion ${p.id} ended ${p.status}${endedWhy(p)}.`;
  try {
    const tool = (await deps.changes.open(env.changeControl)) as ChangeProvider & { cancel?(ref: ChangeRef, text: string): Promise<void> };
    if (outcome === 'cancelled' && tool.cancel) await tool.cancel(refOf(r), text);
    else await tool.close(refOf(r), outcome === 'successful' ? 'successful' : 'unsuccessful', text);
  } catch (err) {
    if (!(err instanceof ChangeUnavailable || err instanceof ChangeRefused)) throw err;
    return;
  }
  await writePromotion(deps, tenant, id, (x) =>
    x.changeRequest && !x.changeRequest.closed
      ? {
          next: patched(x, deps.clock(), { changeRequest: { ...x.changeRequest, closed: outcome, noted: [...(x.changeRequest.noted ?? []), 'ended'] } }),
          action: 'promotion.change.close',
          by: ENGINE,
          reason: `change request ${r.ref!.number} closed ${outcome}`,
        }
      : null,
  );
}

/**
 * POST …/promotions/{id}/change-request/check: the held promotion's look, now. Its own schedule is moved to now (as a
 * freeze window that ends early wakes what it held), so the look runs where the credential's key is (schedule-fire)
 * and answers the flow as any look does: the promotion goes on at once when its request is approved inside its window.
 */
export async function lookAtChangeSoon(deps: With<'scheduler'>, ctx: Ctx, id: string) {
  const p = await deps.store.getPromotion(ctx.principal.tenant, id);
  if (!p) throw new PromotionNotFound(id);
  if (p.status !== 'SCHEDULED' || !heldByChange(p.heldBy))
    throw new TransitionNotAllowed(`Promotion ${id} is not waiting for a change request (it is ${p.status})`, { status: p.status });
  await deps.scheduler.scheduleOnce(scheduleName(p), deps.clock(), { tenant: p.tenant, promotionId: p.id });
  return { id, status: p.status, checking: true, changeRequest: changeRequestView(p.changeRequest) };
}
