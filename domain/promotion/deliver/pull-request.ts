import { DomainError } from '../../kernel/errors.ts';
import type { With } from '../../kernel/deps.ts';
import type { FileChange, GitTarget } from '../../gitops/ports.ts';
import type { Promotion, PullRequestRecord, PullRequestState } from '../../kernel/promotion-model.ts';
import { gitChangeOf, releaseMessage, writtenOf, type GitPromotion } from './git-delivery.ts';
import { ENGINE, patched, waitsToExecute } from '../aggregate.ts';
import { flowDecision, PULL_REQUEST_WAIT_SECONDS } from '../terms/deadlines.ts';
import { gitFailure, PromotionFailed } from './target-change.ts';
import { notOurs, ourAuthor, unknownAuthor } from '../../gitops/pull-request-owner.ts';
import { decisionRecord } from '../terms/decision-record.ts';
import { loadPromotion, writePromotion } from '../write.ts';

/**
 * Pull-request delivery: a git target in pull-request mode (`pullRequest` on the target) is not
 * committed to. The execute step pushes the change as a branch of its own, opens a pull request
 * (GitHub) or merge request (GitLab) into the target's branch and parks the flow in AwaitMerge (a task
 * token, statemachines/promotion.asl.json). The host's webhook (functions/http/routes/gitops.ts) and a
 * bounded poll (a one-time schedule) read the pull request from the host; merged, the token is answered
 * and Execute runs again: the merge commit is the delivery and the one transaction moves the pointer.
 * Closed without merge, the promotion fails with the reason and the link. The webhook's payload only
 * says which pull request to look at: its state is always read from the host's API.
 */

/** The flow waits for the merge: the execute step's answer while a pull request is open (ASL Catch → AwaitMerge). */
export class AwaitingMerge extends DomainError {
  readonly code = 'AWAITING_MERGE';
  override readonly name = 'AwaitingMerge';
}

/** How often the fallback poll reads an open pull request (the host's webhook normally comes first). */
export const PULL_REQUEST_POLL_SECONDS = 120;

/** The branch a promotion's change is pushed to: it names the promotion, so a retried step (or a webhook) finds its pull request by it. */
export const headBranchOf = (p: Pick<Promotion, 'id'>) => `stageline/${p.id}`;
/** The promotion a head branch belongs to (null: not one of Stageline's). */
export const promotionOfHead = (head: string): string | null => /^stageline\/(prm_[a-z0-9]{9,20})$/.exec(head)?.[1] ?? null;

type Artifact = Promotion & { subject: { type: 'artifact' } };

/** What a person reads on the pull request: what moves (the diff), the gates, the approvals, and where the decision record is. */
export function pullRequestText(
  p: Artifact,
  target: Pick<GitTarget, 'file' | 'path' | 'branch'>,
  value: string,
  previous: { version?: string } | null,
  decision: { decisionDigest: string; approvals: { by: string; counted: boolean }[]; approvalsRequired: number },
  links: { decision: string; promotion: string },
  change?: FileChange,
): { title: string; body: string } {
  // What the environment runs now: the file's own value (it is what a merge replaces); Stageline's record
  // alongside when it says something else (the file was changed outside Stageline since).
  const recorded = previous?.version ?? null;
  const inFile = change?.previous ?? null;
  const from =
    inFile === null
      ? (recorded ?? 'nothing yet')
      : recorded === null || inFile === recorded || inFile === value
        ? inFile
        : `${inFile} (in the file; Stageline last delivered ${recorded})`;
  const body = [
    `Stageline ${p.rollback ? 'rolls back' : 'promotes'} **${p.subject.name}** to **${p.targetEnvironment}** (promotion \`${p.id}\`, requested by ${p.requestedBy.name}).`,
    '',
    '### What moves',
    '',
    `| | ${p.targetEnvironment} now | after merge |`,
    '| --- | --- | --- |',
    `| ${p.subject.name} | ${from} | ${p.subject.version} |`,
    '',
    '```diff',
    ...(change ? [change.diff] : [`--- a/${target.file} (${target.branch})`, `+++ b/${target.file}`, `+ ${target.path}: ${value}`]),
    '```',
    '',
    `Digest: \`${p.subject.digest}\``,
    '',
    ...decisionSections(p, decision, links),
  ].join('\n');
  return { title: `${p.rollback ? 'Roll back' : 'Promote'} ${p.subject.name} ${p.subject.version} to ${p.targetEnvironment}`, body: body.slice(0, 60_000) };
}

/**
 * What a person reads on a bundle's pull request: every member's move (one row each, the file's value before), the one
 * diff of every file, and the same gates, approvals and decision record as an artifact's.
 */
export function bundlePullRequestText(
  p: Promotion & { subject: { type: 'bundle' } },
  decision: { decisionDigest: string; approvals: { by: string; counted: boolean }[]; approvalsRequired: number },
  links: { decision: string; promotion: string },
  change?: FileChange,
): { title: string; body: string } {
  const b = p.subject;
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = b.members.map((m) => {
    const e = change?.each?.find((x) => x.artifact === m.name);
    return `| ${m.name} | ${e ? `${cell(e.file)} ${cell(e.path)}` : ''} | ${e?.previous ?? 'nothing yet'} | ${m.version} |`;
  });
  const body = [
    `Stageline ${p.rollback ? 'rolls back' : 'promotes'} bundle **${b.name}** to **${p.targetEnvironment}** (promotion \`${p.id}\`, requested by ${p.requestedBy.name}): every member in this one pull request.`,
    '',
    '### What moves',
    '',
    `| member | where | ${p.targetEnvironment} now | after merge |`,
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '```diff',
    ...(change ? [change.diff] : []),
    '```',
    '',
    `Bundle digest: \`${b.digest}\``,
    '',
    ...decisionSections(p, decision, links),
  ].join('\n');
  return { title: `${p.rollback ? 'Roll back' : 'Promote'} bundle ${b.name} to ${p.targetEnvironment}`.slice(0, 250), body: body.slice(0, 60_000) };
}

/** The gates, approvals and decision record sections of a pull request's text. */
function decisionSections(
  p: Promotion,
  decision: { decisionDigest: string; approvals: { by: string; counted: boolean }[]; approvalsRequired: number },
  links: { decision: string; promotion: string },
): string[] {
  const gates = (p.gates ?? []).map(
    (g) => `| ${g.gate} | ${g.verdict}${g.blocking ? ' (blocking)' : ''} | ${g.reason.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200)} |`,
  );
  const approvals = decision.approvals.filter((a) => a.counted).map((a) => a.by);
  return [
    '### Gates',
    '',
    ...(gates.length ? ['| gate | verdict | reason |', '| --- | --- | --- |', ...gates] : ['No gates ran.']),
    '',
    '### Approvals',
    '',
    p.policy.requiresApproval
      ? `${approvals.length} of ${decision.approvalsRequired} required: ${approvals.length ? approvals.join(', ') : 'none'}`
      : 'No approval required by the policy.',
    '',
    '### Decision record',
    '',
    `[Decision record](${links.decision}) (digest \`${decision.decisionDigest}\`) · [Promotion](${links.promotion})`,
    '',
    `Merging this completes the promotion; closing it without merging fails the promotion.`,
    '',
    `<!-- stageline-promotion: ${p.id} -->`,
  ];
}

/** Why a promotion fails when its pull request was closed without merge. */
export const closedReason = (pr: Pick<PullRequestRecord, 'host' | 'number' | 'url' | 'reason'>) =>
  pr.reason ?? `${pr.host === 'gitlab' ? `merge request !${pr.number}` : `pull request #${pr.number}`} was closed without merge: ${pr.url}`;

const failed = (err: unknown) => gitFailure('pull-request delivery', err);

/** The pull request of a promotion as the record keeps it. */
const recordOf = (s: PullRequestState, now: Date, prev: PullRequestRecord | null | undefined, reason: string | null = null): PullRequestRecord => ({
  ...s,
  openedAt: prev?.openedAt ?? now.toISOString(),
  checkedAt: now.toISOString(),
  reason: s.state === 'closed' ? (reason ?? prev?.reason ?? null) : null,
});

/** The audit action of a pull request's change of state (none when only its checks or merge state changed). */
const auditAction = (before: PullRequestRecord | null | undefined, after: PullRequestRecord): string | null =>
  !before ? 'promotion.pull-request.open' : before.state !== after.state ? `promotion.pull-request.${after.state}` : null;

/** Writes the pull request on the promotion (while it waits to execute), with an audit entry when its state changed. */
async function record(deps: With<'git'>, tenant: string, id: string, next: (cur: PullRequestRecord | null | undefined) => PullRequestRecord | null) {
  return writePromotion(deps, tenant, id, (cur) => {
    if (!waitsToExecute(cur)) return null;
    const pr = next(cur.pullRequest);
    if (!pr) return null;
    const action = auditAction(cur.pullRequest, pr);
    const endsWait = pr.state !== 'open';
    return {
      next: patched(cur, deps.clock(), { pullRequest: pr, ...(endsWait ? { taskToken: null } : {}) }),
      action,
      by: ENGINE,
      reason: pr.state === 'closed' ? closedReason(pr) : pr.url,
    };
  });
}

/**
 * The execute step's pull-request gate: returns when the delivery may go on (no pull-request target, a
 * config release, a merged pull request, or a base branch that already holds the value); throws
 * AwaitingMerge while a pull request is open (opening it first), PromotionFailed when it was closed
 * or could not be opened (nothing is left behind: a branch pushed for a pull request that could not
 * be opened is deleted).
 */
export async function pullRequestGate(deps: With<'git' | 'scheduler'>, p: Promotion): Promise<void> {
  if ((p.subject.type !== 'artifact' && p.subject.type !== 'bundle') || !waitsToExecute(p)) return;
  const target = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!target?.pullRequest) return;
  let pr = p.pullRequest;
  if (pr?.state === 'open') pr = (await refreshPullRequest(deps, p.tenant, p.id)).pullRequest;
  if (pr?.state === 'merged') return;
  if (pr?.state === 'closed') throw new PromotionFailed(closedReason(pr));
  if (pr?.state === 'open') throw new AwaitingMerge(`waiting for ${pr.url} to be merged`);
  const opened = await openPullRequest(deps, p as GitPromotion, target);
  if (!opened) return;
  if (opened.state === 'merged') return;
  if (opened.state === 'closed') throw new PromotionFailed(closedReason(opened));
  throw new AwaitingMerge(`waiting for ${opened.url} to be merged`);
}

/** Pushes the branch and opens the pull request, or finds the one a retried step opened before. Null: the base already holds the value. */
async function openPullRequest(deps: With<'git'>, p: GitPromotion, target: GitTarget): Promise<PullRequestRecord | null> {
  const { tenant } = p;
  const head = headBranchOf(p);
  const hosts = deps.git.hosts;
  let state: PullRequestState | null = null;
  let pushed: string;
  try {
    await hosts.check({ tenant, target });
    const [me, candidates] = await Promise.all([ourAuthor(hosts, tenant, target), hosts.find({ tenant, target, head })]);
    // Who opened a pull request must be checkable before anything is pushed: else none could be told from Stageline's.
    if (!me) throw new Error(unknownAuthor(target));
    // A retried step finds the pull request it opened before: from the configured repository into the configured
    // base, opened by Stageline's token (notOurs). One of the same branch name opened by anyone else is ignored.
    state = candidates.find((c) => !notOurs(c, target, null, me)) ?? null;
    pushed = state?.headSha ?? '';
  } catch (err) {
    throw failed(err);
  }
  if (!state) {
    const ctx = { principal: { tenant, id: 'stageline', name: 'stageline', roles: ['viewer' as const], kind: 'machine' as const } };
    const [decision, pointer] = await Promise.all([
      decisionRecord(deps, ctx, p.id),
      p.subject.type === 'artifact' ? deps.store.getPointer(tenant, p.targetEnvironment, p.subject.name) : null,
    ]);
    const approvers = decision.approvals.filter((a) => a.counted).map((a) => a.by);
    let commit, change;
    try {
      // An artifact at its place (its mapped one, if any); a bundle's members each at theirs, all in the one head commit.
      change = gitChangeOf(p.targetEnvironment, target, writtenOf(p));
      commit = await deps.git.pushBranch({
        tenant,
        target: change.target,
        head,
        ...change.write,
        message: releaseMessage(p, approvers, decision.decisionDigest),
        author: { name: p.requestedBy.name, email: p.requestedBy.name.includes('@') ? p.requestedBy.name : 'stageline@localhost' },
        at: new Date(p.requestedAt),
      });
    } catch (err) {
      throw failed(err);
    }
    if (!commit.changed) return null;
    pushed = commit.commit;
    const base = deps.publicUrl ?? '';
    const links = { decision: `${base}/api/v1/promotions/${p.id}/decision`, promotion: `${base}/dashboard#/promotions/${p.id}` };
    const text =
      p.subject.type === 'bundle'
        ? bundlePullRequestText(p as Promotion & { subject: { type: 'bundle' } }, decision, links, commit.change)
        : pullRequestText(p as Artifact, change.target, change.where.value, pointer ? { version: pointer.version } : null, decision, links, commit.change);
    try {
      state = await hosts.open({ tenant, target, head, ...text });
    } catch (err) {
      // Nothing half-done: the branch pushed for it goes too, but only when the host said no. When its answer
      // left it unknown whether the pull request was opened, nothing is deleted (that would close it): a
      // retried step finds it by its branch.
      if (!(err as { outcomeUnknown?: boolean }).outcomeUnknown) await hosts.deleteBranch({ tenant, target, head }).catch(() => undefined);
      throw failed(err);
    }
  }
  const found = state;
  const { after, before } = await record(deps, tenant, p.id, (cur) => ({ ...recordOf(found, deps.clock(), cur), pushed }));
  return (after ?? before).pullRequest ?? recordOf(found, deps.clock(), null);
}

/**
 * Reads a promotion's open pull request from its host and writes what it finds (state, checks, merge
 * state); the webhook, the poll, the await-merge step and the execute step all come here. Merged or
 * closed: the flow's token (if it waits) is answered. Open and behind or in conflict with its base:
 * the branch is pushed again onto the new base (a rebase); a change that no longer applies closes it
 * and fails the promotion with what to fix. Open, clean and `autoMerge`: merged by Stageline (GitHub).
 */
export async function refreshPullRequest(deps: With<'git'>, tenant: string, id: string): Promise<{ pullRequest: PullRequestRecord | null; status: string }> {
  const p = await loadPromotion(deps, tenant, id);
  const pr = p.pullRequest;
  if (!pr || pr.state !== 'open' || !waitsToExecute(p)) return { pullRequest: pr ?? null, status: p.status };
  const target = await deps.store.getGitTarget(tenant, p.targetEnvironment);
  if (!target?.pullRequest) return { pullRequest: pr, status: p.status };
  let state: PullRequestState;
  let reason: string | null = null;
  let pushed = pr.pushed;
  try {
    state = await deps.git.hosts.get({ tenant, target, number: pr.number });
    // Still the promotion's delivery? (Retargeted to another base, or its head moved by someone else: not any more.)
    const foreign = notOurs(state, target, pushed, await ourAuthor(deps.git.hosts, tenant, target));
    if (foreign) {
      reason = `Stageline no longer trusts this delivery: ${foreign}`;
      if (state.state === 'open')
        await deps.git.hosts.close({ tenant, target, number: pr.number, comment: `Stageline closed this: ${foreign}` }).catch(() => undefined);
      state = { ...state, state: 'closed' };
    } else if (state.state === 'open' && (state.mergeState === 'behind' || state.mergeState === 'dirty')) {
      ({ state, pushed } = await rebase(deps, p as GitPromotion, target, state));
    } else if (state.state === 'open' && target.pullRequest.autoMerge && target.pullRequest.host === 'github' && state.mergeState === 'clean') {
      if (await deps.git.hosts.merge({ tenant, target, number: state.number, sha: state.headSha }))
        state = await deps.git.hosts.get({ tenant, target, number: pr.number });
    }
  } catch (err) {
    if (!(err instanceof RebaseConflict)) throw err;
    // The change no longer applies to the base: the pull request is closed with why, and the promotion fails with it.
    reason = `merge conflict: ${err.message} (${pr.url})`;
    await deps.git.hosts.close({ tenant, target, number: pr.number, comment: `Stageline closed this: ${err.message}` }).catch(() => undefined);
    await deps.git.hosts.deleteBranch({ tenant, target, head: pr.headBranch }).catch(() => undefined);
    state = { ...pr, state: 'closed' };
  }
  const fresh = state;
  const { before, after } = await record(deps, tenant, id, (cur) =>
    cur?.state === 'open' && cur.number === fresh.number ? { ...recordOf(fresh, deps.clock(), cur, reason), ...(pushed ? { pushed } : {}) } : null,
  );
  const now = after ?? before;
  // The token the flow waits with, taken in the same write that ended the wait (never answered twice).
  if (after && after.pullRequest?.state !== 'open' && before.taskToken) await answerMerge(deps, after, before.taskToken);
  return { pullRequest: now.pullRequest ?? null, status: now.status };
}

class RebaseConflict extends Error {
  override readonly name = 'RebaseConflict';
}

/** Pushes the change again onto the base as it is now (force: the head branch is Stageline's own). */
async function rebase(deps: With<'git'>, p: GitPromotion, target: GitTarget, state: PullRequestState): Promise<{ state: PullRequestState; pushed: string }> {
  const ctx = { principal: { tenant: p.tenant, id: 'stageline', name: 'stageline', roles: ['viewer' as const], kind: 'machine' as const } };
  const decision = await decisionRecord(deps, ctx, p.id);
  let commit: string;
  try {
    const change = gitChangeOf(p.targetEnvironment, target, writtenOf(p));
    ({ commit } = await deps.git.pushBranch({
      tenant: p.tenant,
      target: change.target,
      head: state.headBranch,
      ...change.write,
      message: releaseMessage(
        p,
        decision.approvals.filter((a) => a.counted).map((a) => a.by),
        decision.decisionDigest,
      ),
      author: { name: p.requestedBy.name, email: p.requestedBy.name.includes('@') ? p.requestedBy.name : 'stageline@localhost' },
      at: new Date(p.requestedAt),
    }));
  } catch (err) {
    throw new RebaseConflict((err as Error).message);
  }
  return { state: await deps.git.hosts.get({ tenant: p.tenant, target, number: state.number }), pushed: commit };
}

/** Answers the AwaitMerge token: merged → on to Execute; closed → the flow fails the promotion with the reason. */
async function answerMerge(deps: With<'git'>, p: Promotion, token: string): Promise<void> {
  const workflow = deps.workflow;
  // Only the flow's own steps run without a workflow, and they never hold a token while they run.
  if (!workflow) return;
  const pr = p.pullRequest!;
  if (pr.state === 'merged') await workflow.sendTaskSuccess(token, { ...flowDecision(p, 'execute', deps.clock()) });
  else await workflow.sendTaskFailure(token, 'PromotionFailed', closedReason(pr));
}

/**
 * The AwaitMerge task: reads the pull request once, then keeps the token for the webhook or the poll
 * to answer (and arms the poll), unless it is merged or closed already (then answers it at once).
 */
export async function awaitMergeStep(deps: With<'git' | 'workflow' | 'scheduler'>, tenant: string, id: string, token: string): Promise<void> {
  await refreshPullRequest(deps, tenant, id).catch(() => undefined);
  const { before: p, after } = await writePromotion(deps, tenant, id, (cur) =>
    waitsToExecute(cur) && cur.pullRequest?.state === 'open' ? { next: { ...cur, taskToken: token }, action: null, by: ENGINE } : null,
  );
  if (after) {
    await armPoll(deps, after, new Date(deps.clock().getTime() + PULL_REQUEST_POLL_SECONDS * 1000));
    return;
  }
  if (p.status === 'CANCELLED' || p.status === 'REJECTED') await deps.workflow.sendTaskFailure(token, 'Cancelled', `promotion is ${p.status}`);
  else if (p.pullRequest?.state === 'closed') await deps.workflow.sendTaskFailure(token, 'PromotionFailed', closedReason(p.pullRequest));
  else await deps.workflow.sendTaskSuccess(token, { ...flowDecision(p, 'execute', deps.clock()) });
}

/** One schedule per promotion and poll time (a poll re-arms from inside its own firing). */
const pollName = (p: Pick<Promotion, 'id'>, at: Date) => `stageline-prp-${p.id.slice(4, 24)}-${Math.floor(at.getTime() / 1000).toString(36)}`;

function armPoll(deps: With<'scheduler'>, p: Pick<Promotion, 'tenant' | 'id'>, at: Date): Promise<void> {
  return deps.scheduler.scheduleOnce(pollName(p, at), at, { tenant: p.tenant, pullRequestPoll: p.id });
}

/** The bounded poll (the fallback to the webhook): reads the pull request, and while it is open and the wait lasts, polls again. */
export async function pollPullRequest(deps: With<'git' | 'workflow' | 'scheduler'>, tenant: string, id: string) {
  const r = await refreshPullRequest(deps, tenant, id).catch((err: Error) => ({ pullRequest: null, status: 'ERROR', error: err.message }));
  const p = await deps.store.getPromotion(tenant, id);
  const pr = p?.pullRequest;
  if (p && pr?.state === 'open' && waitsToExecute(p)) {
    const next = new Date(deps.clock().getTime() + PULL_REQUEST_POLL_SECONDS * 1000);
    if (next.getTime() < new Date(pr.openedAt).getTime() + PULL_REQUEST_WAIT_SECONDS * 1000) await armPoll(deps, p, next);
  }
  return { state: pr?.state ?? null, status: p?.status ?? 'GONE', ...('error' in r ? { error: r.error } : {}) };
}
