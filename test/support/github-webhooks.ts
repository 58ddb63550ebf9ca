import { createHmac, randomUUID } from 'node:crypto';
import { sample, webhookViolations } from './github-contract.ts';
import { overlay, type CheckRun, type GitHubRepos } from './github-repos.ts';
import { now } from './standin-git.ts';
import { postHook } from './standin-server.ts';

// The webhook deliveries of the GitHub stand-in: payloads built from the contract's `x-webhooks` schemas, signed as GitHub signs them.

/** a pull_request.closed payload for a pull request */
export function closedPayload(h: GitHubRepos, fullName: string, number: number) {
  const p = h.find(fullName, number)!;
  const prSchema = '/x-webhooks/pull-request-closed/post/requestBody/content/application~1json/schema';
  const payload = overlay(sample(prSchema), {
    action: 'closed',
    number,
    pull_request: { ...h.pullJson(fullName, p), merged: p.merged, state: 'closed', closed_at: p.closedAt ?? now() },
    repository: h.repository(fullName),
    sender: h.user('someone'),
  });
  return payload;
}

/** a check_run.completed payload for a run on `sha` (the pull request at that head, if any, named in its check suite) */
export function checkRunPayload(h: GitHubRepos, fullName: string, sha: string, run: CheckRun, pullHead: string | null) {
  return overlay(sample('/x-webhooks/check-run-completed/post/requestBody/content/application~1json/schema'), {
    action: 'completed',
    check_run: {
      id: run.id,
      name: run.name,
      head_sha: sha,
      status: 'completed',
      conclusion: run.conclusion,
      check_suite: { head_branch: pullHead, head_sha: sha },
    },
    repository: h.repository(fullName),
    sender: h.user('ci'),
  });
}

/** Sends a delivery to the repository's webhook, signed with its secret (or `secret`): the receiver's status, 0 without a webhook. */
export async function deliver(h: GitHubRepos, fullName: string, event: string, payload: unknown, secret?: string): Promise<number> {
  const hook = h.hooks.get(fullName);
  if (!hook) return 0;
  const text = JSON.stringify(payload);
  return postHook(
    hook.url,
    {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret ?? hook.secret)
        .update(text)
        .digest('hex')}`,
      'user-agent': 'GitHub-Hookshot/standin',
    },
    text,
  );
}

/** Sends pull_request.closed (contract-checked into `violations`) when the repository has a webhook: its status, else null. */
export async function sendClosed(h: GitHubRepos, violations: string[], fullName: string, number: number) {
  const payload = closedPayload(h, fullName, number);
  violations.push(...webhookViolations('pull-request-closed', payload));
  return h.hooks.has(fullName) ? deliver(h, fullName, 'pull_request', payload) : null;
}
