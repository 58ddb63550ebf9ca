import { describe, expect, it } from 'vitest';
import { closedReason, headBranchOf, promotionOfHead, pullRequestText } from '../../domain/promotion/deliver/pull-request.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import { fileDiff } from '../../domain/gitops/edit.ts';

/** What a person reads on a pull request Stageline opens: built from data, tested as data. */
const p = {
  id: 'prm_0mwvd425934ccb542ab',
  subject: { type: 'artifact', name: 'platform', version: 'v1.2.3', digest: `sha256:${'a'.repeat(64)}` },
  targetEnvironment: 'production',
  requestedBy: { id: 'u-bob', name: 'bob@acme.example' },
  rollback: null,
  policy: { requiresApproval: true, requiredApprovers: 2 },
  gates: [
    { gate: 'tests', verdict: 'PASS', blocking: true, reason: '412 passed | 0 failed', evidenceRefs: [] },
    { gate: 'cost_analysis', verdict: 'WARN', blocking: false, reason: 'monthly +4%\nover budget', evidenceRefs: [] },
  ],
} as unknown as Promotion & { subject: { type: 'artifact' } };

describe('pull-request text', () => {
  it('says what moves (before, after, the diff), the gates, the approvals, and links the decision record', () => {
    const { title, body } = pullRequestText(
      p,
      { file: 'envs/production/values.yaml', path: 'image.tag', branch: 'main' },
      'v1.2.3',
      { version: 'v1.2.0' },
      {
        decisionDigest: 'sha256:dd',
        approvals: [
          { by: 'carol@acme.example', counted: true },
          { by: 'bob@acme.example', counted: false },
        ],
        approvalsRequired: 2,
      },
      {
        decision: 'https://stageline.example/api/v1/promotions/prm_0mwvd425934ccb542ab/decision',
        promotion: 'https://stageline.example/dashboard#/promotions/x',
      },
    );
    expect(title).toBe('Promote platform v1.2.3 to production');
    expect(body).toContain('| platform | v1.2.0 | v1.2.3 |');
    // Without the file's change (never so on a pull request Stageline opens): what is set, never a placeholder.
    expect(body).toContain('--- a/envs/production/values.yaml (main)\n+++ b/envs/production/values.yaml\n+ image.tag: v1.2.3');
    expect(body).not.toContain('<current>');
    // A reason's table separator and line break cannot break the table.
    expect(body).toContain('| tests | PASS (blocking) | 412 passed \\| 0 failed |');
    expect(body).toContain('| cost_analysis | WARN | monthly +4% over budget |');
    expect(body).toContain('1 of 2 required: carol@acme.example');
    expect(body).toContain('[Decision record](https://stageline.example/api/v1/promotions/prm_0mwvd425934ccb542ab/decision) (digest `sha256:dd`)');
    expect(body).toContain('<!-- stageline-promotion: prm_0mwvd425934ccb542ab -->');
  });

  it('shows the file’s real diff, and what the file holds now when Stageline’s record is older', () => {
    const before = '# production values\nimage:\n  tag: "1.0.0"\nreplicas: 3\n';
    const after = '# production values\nimage:\n  tag: "v1.2.3"\nreplicas: 3\n';
    const file = 'envs/production/values.yaml';
    const decision = { decisionDigest: 'sha256:dd', approvals: [], approvalsRequired: 0 };
    const links = { decision: 'd', promotion: 'p' };
    const target = { file, path: 'image.tag', branch: 'main' };
    const change = { previous: '1.0.0', diff: fileDiff(file, before, after) };
    const { body } = pullRequestText(p, target, 'v1.2.3', { version: 'v0.9.0' }, decision, links, change);
    expect(body).toContain('| platform | 1.0.0 (in the file; Stageline last delivered v0.9.0) | v1.2.3 |');
    expect(body).toContain('-  tag: "1.0.0"\n+  tag: "v1.2.3"');
    expect(body).toContain('--- a/envs/production/values.yaml\n+++ b/envs/production/values.yaml\n@@ -1,4 +1,4 @@');
    // The record and the file agree: said once.
    expect(pullRequestText(p, target, 'v1.2.3', { version: '1.0.0' }, decision, links, change).body).toContain('| platform | 1.0.0 | v1.2.3 |');
    // A long file: the diff is bounded.
    const big = Array.from({ length: 400 }, (_, i) => `k${i}: ${i}`).join('\n');
    expect(fileDiff(file, big, big.replace(/: (\d+)/g, ': x$1')).split('\n').length).toBeLessThanOrEqual(81);
  });

  it('names its branch after the promotion and finds the promotion of a branch (only its own)', () => {
    expect(headBranchOf(p)).toBe('stageline/prm_0mwvd425934ccb542ab');
    expect(promotionOfHead(headBranchOf(p))).toBe(p.id);
    for (const other of ['main', 'stageline/prm_x', 'feature/prm_0mwvd425934ccb542ab', 'stageline/prm_0mwvd425934ccb542ab-revert', 'stageline/__proto__'])
      expect(promotionOfHead(other), other).toBeNull();
  });

  it('says why a closed one fails the promotion, with the link, in the host’s words', () => {
    expect(closedReason({ host: 'github', number: 7, url: 'https://github.com/acme/deploy/pull/7', reason: null })).toBe(
      'pull request #7 was closed without merge: https://github.com/acme/deploy/pull/7',
    );
    expect(closedReason({ host: 'gitlab', number: 3, url: 'https://gitlab.example/acme/deploy/-/merge_requests/3', reason: null })).toBe(
      'merge request !3 was closed without merge: https://gitlab.example/acme/deploy/-/merge_requests/3',
    );
  });
});
