import type { CiRunRecord, GateResult } from '../../kernel/promotion-model.ts';
import type { CiRunState } from '../ports.ts';

/**
 * The CI gate's pure rules (the use case is ci-hold.ts): what a run's state means for the promotion, the gate result
 * its decision record keeps, and what a viewer sees of the run.
 */

/** GitLab's statuses of a pipeline that is still going (`manual`: waiting for someone to play a job; it is waited for until the deadline). */
const GITLAB_GOING = new Set(['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'scheduled', 'manual']);

/** How a run stands: `passed` (it succeeded), `failed` (it ended otherwise), `running`. */
export function ciVerdict(host: 'github' | 'gitlab', s: CiRunState): 'passed' | 'failed' | 'running' {
  if (host === 'github') {
    if (s.status !== 'completed') return 'running';
    return s.conclusion === 'success' ? 'passed' : 'failed';
  }
  if (GITLAB_GOING.has(s.status)) return 'running';
  return s.status === 'success' ? 'passed' : 'failed';
}

/** The run as people name it: "GitHub Actions run 123 of e2e.yml" or "GitLab pipeline 45". */
export const ciRunName = (r: Pick<CiRunRecord, 'host' | 'workflow' | 'run'>) =>
  r.host === 'github'
    ? `GitHub Actions run ${r.run?.id ?? '(starting)'}${r.workflow ? ` of ${r.workflow}` : ''}`
    : `GitLab pipeline ${r.run?.id ?? '(starting)'}`;

/** The decision record's gate: PASS or FAIL, the run's page as its evidence. */
export function ciGateResult(r: CiRunRecord, verdict: 'PASS' | 'FAIL', reason: string): GateResult {
  return { gate: 'ci_run', verdict, blocking: true, reason, evidenceRefs: r.run ? [r.run.url] : [] };
}

/** The next look: every `pollSeconds`, never past the deadline. */
export function nextLook(now: Date, pollSeconds: number, deadline: string): Date {
  return new Date(Math.min(now.getTime() + pollSeconds * 1000, Date.parse(deadline)));
}

/** What the API answers of the run (the claim's time as when it started). */
export function ciRunView(r: CiRunRecord | null | undefined) {
  if (!r) return null;
  return {
    host: r.host,
    repository: r.repository,
    workflow: r.workflow,
    run: r.run,
    status: r.status,
    conclusion: r.conclusion,
    startedAt: r.claimedAt,
    deadline: r.deadline,
    checkedAt: r.checkedAt,
    looks: r.looks,
    reason: r.reason,
  };
}
