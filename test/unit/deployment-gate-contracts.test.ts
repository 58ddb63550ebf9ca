import { describe, expect, it } from 'vitest';
import { requestViolations, sample, webhookViolations } from '../support/github-contract.ts';
import { contractViolations, deploymentHook } from '../support/gitlab-contract.ts';
import * as z from '../../domain/kernel/zod.ts';
import { gitlabDeploymentEvent, protectionRuleEvent } from '../../domain/gitops/deployment-gate.ts';

/**
 * The stand-ins' checks for the deployment-gate calls hold: GitHub's published description (the review endpoint, the
 * installation token, the deployment_protection_rule webhook) and GitLab's documented shapes (the deployment approval,
 * the Deployment Hook) accept what the hosts send and refuse a wrong field; and what Stageline reads of each event is
 * what the hosts document.
 */
const GH = 'https://api.github.com';

describe("the deployment gates' calls against the hosts' published descriptions", () => {
  it("GitHub's review endpoint: environment_name, state and comment pass; without the environment's name it does not", () => {
    const url = new URL(`${GH}/repos/acme/shop/actions/runs/42/deployment_protection_rule`);
    expect(requestViolations('POST', url, { environment_name: 'production', state: 'approved', comment: 'ok' })).toEqual([]);
    expect(requestViolations('POST', url, { state: 'approved', comment: 'ok' })).not.toEqual([]);
    expect(requestViolations('POST', new URL(`${GH}/app/installations/7/access_tokens`), {})).toEqual([]);
  });

  it('the deployment_protection_rule webhook: a full payload passes, a wrong type fails; Stageline reads what GitHub documents', () => {
    const payload = {
      ...sample('/x-webhooks/deployment-protection-rule-requested/post/requestBody/content/application~1json/schema'),
      action: 'requested',
      environment: 'production',
      sha: 'a'.repeat(40),
      deployment_callback_url: `${GH}/repos/acme/shop/actions/runs/42/deployment_protection_rule`,
      repository: { ...sample('/components/schemas/repository-webhooks'), full_name: 'acme/shop' },
      installation: { id: 7, node_id: 'x' },
    };
    expect(webhookViolations('deployment-protection-rule-requested', payload)).toEqual([]);
    expect(webhookViolations('deployment-protection-rule-requested', { ...payload, environment: 42 })).not.toEqual([]);
    expect(protectionRuleEvent.safeParse(payload).success).toBe(true);
  });

  it("GitLab's deployment approval: status approved or rejected with a comment; a wrong status or an unknown field fails", () => {
    const url = new URL('https://gitlab.example.com/projects/platform%2Fapi/deployments/9/approval');
    const answer = {
      user: { id: 1, username: 'bot', name: 'bot', state: 'active', web_url: 'x' },
      status: 'approved',
      created_at: '2026-11-29T00:00:00Z',
      comment: null,
    };
    expect(contractViolations('POST', url, { status: 'approved', comment: 'ok' }, 201, answer)).toEqual([]);
    expect(contractViolations('POST', url, { status: 'approve' }, 201, answer)).not.toEqual([]);
    expect(contractViolations('POST', url, { status: 'approved', state: 'x' }, 201, answer)).not.toEqual([]);
  });

  it("GitLab's Deployment Hook as documented; Stageline reads its status, deployment, environment, project and commit", () => {
    const hook = {
      object_kind: 'deployment',
      status: 'blocked',
      status_changed_at: '2026-11-29 00:00:00 +0000',
      deployment_id: 9,
      deployable_id: 109,
      deployable_url: 'https://gitlab.example.com/platform/api/-/jobs/109',
      environment: 'production',
      environment_tier: 'production',
      environment_slug: 'production',
      environment_external_url: null,
      project: { id: 1, name: 'api', web_url: 'x', path_with_namespace: 'platform/api', default_branch: 'main' },
      short_sha: 'eeeeeeee',
      user: { id: 7, name: 'someone', username: 'someone' },
      user_url: 'x',
      commit_url: `https://gitlab.example.com/platform/api/-/commit/${'e'.repeat(40)}`,
      commit_title: 'Release',
      ref: 'main',
    };
    expect(z.safeParse(deploymentHook, hook).success).toBe(true);
    expect(z.safeParse(deploymentHook, { ...hook, status: 'waiting' }).success).toBe(false);
    expect(gitlabDeploymentEvent.safeParse(hook).success).toBe(true);
  });
});
