import { changeRequestResponse } from './change.ts';
import * as z from '#domain/kernel/zod';
import { STATUSES } from '#domain/kernel/lifecycle';
import { actedVia, digest, occurrence, open, time } from './common.ts';
import { measurementRow, rolloutResponse } from './rollout.ts';

export { analysisRunRow, rolloutPageResponse, rolloutResponse, rolloutTargetRow, targetConfirmResponse } from './rollout.ts';

/** What the promotion routes answer. */
const gateResult = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    gate: z.string(),
    verdict: z.enum(['PASS', 'FAIL', 'WARN', 'SKIPPED']),
    blocking: z.boolean(),
    reason: z.string(),
    evidenceRefs: z.array(z.string()),
    measurements: z.optional(z.array(measurementRow).check(z.describe('an analysis gate (analysis:<template>): what it measured on the source environment'))),
  }),
);
/** Why a SCHEDULED promotion waits to execute: a freeze window over the target, another promotion executing into it (concurrency `queue`), or its release's soak in the source environment. */
const soakHold = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      soak: z.strictObject({
        environment: z.string().check(z.describe('the source environment the release soaks in')),
        seconds: z.number().check(z.int(), z.describe('the soak asked for')),
        since: z
          .nullable(time)
          .check(z.describe('when the clock started: the release went live there, or its last alarm there after that (null: it has not run there)')),
        from: z.enum(['environment', 'rule']).check(z.describe("whose soak: the target environment's, or the pair's rule's")),
      }),
      reason: z.string(),
      until: time,
    })
    .check(
      z.describe(
        'the release has not run long enough in the source environment: the promotion goes on when it has (`until`), unless an alarm there restarts the soak',
      ),
    ),
);
const heldBy = /* @__PURE__ */ z.schema(() =>
  z.union([
    z
      .strictObject({ window: z.string(), reason: z.string(), until: time })
      .check(z.describe('a freeze window over the target: the promotion goes on when it ends (`until`)')),
    z
      .strictObject({ promotion: z.string(), reason: z.string(), until: time })
      .check(
        z.describe(
          'another promotion holds the target (a rollout through its waves, or a bake): this one goes on when that one ends, and checks again by `until`',
        ),
      ),
    soakHold,
    z
      .strictObject({ hours: z.strictObject({ environment: z.string(), summary: z.string() }), reason: z.string(), until: time })
      .check(
        z.describe(
          "outside the target's allowed hours (summary: its windows as people read them, e.g. Mon–Fri 09:00–17:00 Europe/Berlin): the promotion goes on at the next opening (`until`)",
        ),
      ),
    z
      .strictObject({ change: z.strictObject({ number: z.string(), state: z.string() }), reason: z.string(), until: time })
      .check(
        z.describe(
          "the environment's change request is not approved yet, or its planned window is not open: the promotion goes on when it is (looked at again by `until`, or at once with POST …/change-request/check)",
        ),
      ),
    z
      .strictObject({ ci: z.strictObject({ run: z.nullable(z.string()), status: z.string(), url: z.nullable(z.string()) }), reason: z.string(), until: time })
      .check(
        z.describe(
          "the target's CI gate is running (run: the host's run id, url: its page): the promotion goes on when it succeeds, looked at again by `until`",
        ),
      ),
  ]),
);
/** A bundle's configuration part: an environment's snapshot, all of it or the keys matching `keyPatterns`. */
export const bundleConfig = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ environment: z.string(), seq: z.number().check(z.int()), digest, keyPatterns: z.array(z.string()) }),
);
export const subject = /* @__PURE__ */ z.schema(() =>
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('artifact'), name: z.string(), version: z.string(), digest }),
    z.strictObject({
      type: z.literal('config'),
      sourceSnapshot: z.strictObject({ seq: z.number().check(z.int()), digest }),
      promotionType: z.enum(['FULL', 'SELECTIVE', 'PATTERN']),
      configIds: z.array(z.string()),
      flagIds: z.array(z.string()),
      keyPatterns: z.array(z.string()),
    }),
    z.strictObject({
      type: z.literal('bundle'),
      name: z.string(),
      digest: digest.check(z.describe("the bundle's content digest: approvals are bound to it")),
      members: z.array(z.strictObject({ name: z.string(), version: z.string(), digest })),
      config: z.optional(bundleConfig),
    }),
  ]),
);

const monitorBlock = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    at: time,
    reason: z.string(),
    alarms: z
      .array(z.strictObject({ arn: z.string(), name: z.string(), reason: z.string(), at: z.optional(z.string()) }))
      .check(z.describe('the monitors in ALARM (none when the check could not be made: fail closed)')),
  }),
);

const promotionFields = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    id: z.string(),
    status: z.enum(STATUSES),
    waitingFor: z
      .nullable(z.enum(['approval', 'execution', 'merge']))
      .check(z.describe('what the flow waits for now: approvers, the go signal, or the merge of its pull request (merge request)')),
    sourceEnvironment: z.string(),
    targetEnvironment: z.string(),
    subject,
    releaseDigest: digest.check(z.describe('approvals are bound to it')),
    notes: z.string(),
    requestedBy: z.strictObject({ id: z.string(), name: z.string() }),
    requestedAt: time,
    rebasedBy: z
      .nullable(z.strictObject({ id: z.string(), name: z.string(), at: time }))
      .check(z.describe('who rebased it onto its current release: chose its content, cannot approve under separation of duties')),
    trigger: z.enum(['on_approval', 'manual', 'scheduled']),
    scheduledAt: z.nullable(time),
    whenFrozen: z.enum(['wait', 'fail']),
    heldBy: z.nullable(heldBy),
    changeRequest: z
      .nullable(changeRequestResponse)
      .check(z.describe("the change request opened in the environment's change management tool (change control), its state when last read")),
    ciRun: z
      .nullable(
        z.strictObject({
          host: z.enum(['github', 'gitlab']),
          repository: z.string(),
          workflow: z.nullable(z.string()),
          run: z.nullable(z.strictObject({ id: z.string(), url: z.string() })),
          status: z.nullable(z.string()),
          conclusion: z.nullable(z.string()),
          startedAt: time,
          deadline: time,
          checkedAt: z.nullable(time),
          looks: z.number().check(z.int()),
          reason: z.nullable(z.string()),
        }),
      )
      .check(z.describe("the target's CI gate's run for this release: its page, its state as last read, how it ended")),
    freezeOverride: z.nullable(open),
    monitorAlarm: z
      .nullable(z.strictObject({ arn: z.string(), name: z.string(), reason: z.string(), at: z.string() }))
      .check(z.describe('the monitored CloudWatch alarm that rolled it back while it baked')),
    monitorBlock: z.nullable(monitorBlock).check(z.describe("the target's monitors refused the execution (nothing changed)")),
    policy: z.strictObject({
      ruleId: z.nullable(z.string()),
      requiresApproval: z.boolean(),
      requiredApprovers: z.number().check(z.int()),
      approverGroups: z.array(z.string()),
      separationOfDuties: z.boolean(),
      approvalExpirySeconds: z.number(),
      evidenceFrom: z.optional(z.string()),
      soakSeconds: z.optional(z.number().check(z.int(), z.describe("the pair's rule's soak (overrides the target environment's)"))),
      requireAttestationFrom: z.optional(z.array(z.string()).check(z.describe("the pair's rule's required attestations (with the target environment's own)"))),
    }),
    policyDigest: digest,
    gates: z.nullable(z.array(gateResult)),
    approvedBy: z.array(z.string()),
    rejection: z.nullable(z.strictObject({ by: z.string(), reason: z.string(), at: time })),
    result: z.nullable(
      z.strictObject({
        snapshotSeq: z.optional(z.number().check(z.int())),
        digest,
        deploymentId: z.string(),
        deployedAt: time,
        previous: open,
        replaced: z.optional(z.nullable(open)),
        synced: z.optional(
          z.array(
            z.strictObject({
              registry: z.string(),
              digest: z.nullable(digest),
              bytesCopied: z.number(),
              tags: z.optional(z.array(z.string())),
              attached: z.optional(z.array(z.string())),
              signature: z.optional(z.string()),
            }),
          ),
        ),
        recorded: z.optional(z.array(z.strictObject({ registry: z.string(), digest: z.nullable(digest), reason: z.optional(z.string()) }))),
        members: z
          .optional(
            z.array(
              z.strictObject({
                name: z.string(),
                version: z.string(),
                digest,
                previous: z.strictObject({ version: z.optional(z.string()), digest: z.nullable(digest) }),
              }),
            ),
          )
          .check(z.describe('a bundle: each member it moved and what the target ran of it before')),
        git: z
          .optional(
            z.strictObject({
              repository: z.string(),
              branch: z.string(),
              file: z.string(),
              path: z.string(),
              value: z.string(),
              commit: z.string(),
              changed: z.boolean(),
              attempts: z.number().check(z.int()),
              pullRequest: z.optional(z.strictObject({ number: z.number().check(z.int()), url: z.string() })),
              members: z
                .optional(z.array(z.strictObject({ artifact: z.string(), file: z.string(), path: z.string(), value: z.string() })))
                .check(z.describe("a bundle: every member's file, path and value, all in the one commit (file, path and value above are the first member's)")),
              perTarget: z.optional(
                z
                  .boolean()
                  .check(
                    z.describe(
                      "true: the file names one per target ({target}); each target's apply committed its own (see the rollout's rows), the completion committed nothing",
                    ),
                  ),
              ),
            }),
          )
          .check(
            z.describe(
              "the commit in the target's git target (changed false: the file already held the value); pull-request mode: the merge commit and its pull request",
            ),
          ),
        gitRevert: z
          .optional(
            z.strictObject({
              repository: z.string(),
              branch: z.string(),
              file: z.string(),
              path: z.string(),
              value: z.string(),
              commit: z.nullable(z.string()),
              changed: z.boolean(),
              attempts: z.number().check(z.int()),
              error: z.optional(z.string()),
              pullRequest: z
                .optional(z.strictObject({ number: z.number().check(z.int()), url: z.string() }))
                .check(z.describe('pull-request mode: the revert is proposed as a pull request (merge request) of its own')),
              members: z
                .optional(z.array(z.strictObject({ artifact: z.string(), file: z.string(), path: z.string(), value: z.string() })))
                .check(z.describe("a bundle: every member's file, path and value, all in the one commit (file, path and value above are the first member's)")),
            }),
          )
          .check(
            z.describe(
              "an automatic rollback (ROLLED_BACK while baking): the restored version's commit in the target's git target, or why it could not be made (error; commit null)",
            ),
          ),
      }),
    ),
    pullRequest: z
      .nullable(
        z.strictObject({
          host: z.enum(['github', 'gitlab']),
          number: z.number().check(z.int(), z.describe('the pull request number (GitHub) or merge request iid (GitLab)')),
          url: z.string(),
          state: z.enum(['open', 'merged', 'closed']),
          draft: z.boolean(),
          headBranch: z.string(),
          baseBranch: z.string(),
          headSha: z.string(),
          fromFork: z.optional(z.boolean().check(z.describe('the head branch is in another repository (a fork): never adopted as a delivery'))),
          author: z.optional(z.nullable(z.string()).check(z.describe("who opened it (the host's login)"))),
          pushed: z.optional(
            z.string().check(z.describe('the commit Stageline pushed to the head branch: the pull request is the delivery only while its head is this commit')),
          ),
          mergeState: z
            .enum(['clean', 'blocked', 'behind', 'dirty', 'draft', 'unknown'])
            .check(z.describe('what merging waits for: clean (mergeable), blocked (checks or reviews), behind (base moved), dirty (conflict), draft')),
          mergeCommit: z.nullable(z.string()),
          checks: z
            .array(z.strictObject({ name: z.string(), state: z.enum(['pending', 'success', 'failure', 'neutral']), url: z.nullable(z.string()) }))
            .check(z.describe("the head commit's check runs and statuses (GitHub) or pipeline and statuses (GitLab)")),
          openedAt: time,
          checkedAt: time,
          reason: z.nullable(z.string()).check(z.describe('closed: why (the promotion failed with it)')),
        }),
      )
      .check(z.describe('pull-request delivery (a git target in pull-request mode): the pull request or merge request the delivery waits on')),
    error: z.nullable(z.strictObject({ code: z.string(), message: z.string() })),
    autoPromoted: z.boolean(),
    changeSummary: z.nullable(
      z.strictObject({
        added: z.number().check(z.int()),
        modified: z.number().check(z.int()),
        removed: z.number().check(z.int()),
        keys: z.array(z.string()),
        unmatchedIds: z.array(z.string()),
      }),
    ),
    sourceDeploymentId: z.nullable(z.string()),
    targetGateway: z.nullable(z.string()),
    rollback: z.nullable(open),
    version: z.number().check(z.int()),
    updatedAt: time,
    completedAt: z.nullable(time),
    transitions: z.array(z.strictObject({ status: z.enum(STATUSES), at: time, by: z.string() })),
  }),
);
export const promotionResponse = /* @__PURE__ */ z.schema(() => promotionFields.check(z.meta({ id: 'Promotion' })));

/** A promotion as an approver sees it: the view, the approvals so far and the notifications sent. */
export const promotionDetailResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject(
      z.extend(promotionFields, {
        approvals: z.strictObject({
          given: z.array(z.strictObject({ by: z.string(), at: time, comment: z.nullable(z.string()), counts: z.boolean(), why: z.optional(z.string()) })),
          required: z.number().check(z.int()),
          remaining: z.number().check(z.int()),
          approverGroups: z.array(z.string()),
          separationOfDuties: z.boolean(),
          expiresAt: z.nullable(time),
        }),
        notifications: z.array(
          z.strictObject({ channel: z.string(), target: z.string(), kind: z.string(), status: z.string(), at: time, error: z.optional(z.string()) }),
        ),
        rollout: z.optional(rolloutResponse).check(z.describe("present when the target environment has targets: its waves, each target's state")),
      }).shape,
    )
    .check(z.meta({ id: 'PromotionDetail' })),
);

/** POST /promotions: the created promotion, or with dryRun what it would do (nothing is written). */
export const promotionCreateResponse = /* @__PURE__ */ z.schema(() => z.union([promotionResponse, z.looseObject({ dryRun: z.literal(true) })]));

export const evidence = /* @__PURE__ */ z.schema(() =>
  z
    .looseObject({
      id: z.string(),
      type: z.enum(['test_results', 'security_scan', 'cost_estimate', 'benchmark', 'policy', 'metrics', 'alarm']),
      payload: open,
      submittedBy: z.string(),
      submittedAt: time,
      source: z.optional(z.strictObject({ id: z.string(), kind: z.enum(['user', 'machine']), groups: z.array(z.string()) })),
      releaseDigest: z.optional(
        digest.check(z.describe('On a promotion: the release it was posted for; after a rebase onto other content it no longer counts')),
      ),
    })
    .check(z.meta({ id: 'Evidence' })),
);

/** The decision record: everything a promotion was decided on, and its digest (what an auditor re-computes). */
export const decision = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      promotionId: z.string(),
      releaseDigest: digest,
      subject,
      sourceEnvironment: z.string(),
      targetEnvironment: z.string(),
      policy: open,
      policyDigest: digest,
      gates: z.array(gateResult),
      evidence: z.array(
        z.strictObject({
          id: z.string(),
          type: z.string(),
          submittedBy: z.string(),
          source: z.nullable(z.strictObject({ kind: z.enum(['user', 'machine']), id: z.string() })),
          accepted: z.boolean(),
          member: z.optional(z.string()).check(z.describe("a bundle's: the member (name@version) whose artifact version carries this evidence")),
        }),
      ),
      approvals: z.array(
        z.strictObject({
          by: z.string(),
          digest,
          counted: z.boolean(),
          via: z.optional(actedVia),
          grantedBy: z.optional(
            z
              .strictObject({
                source: z.literal('binding'),
                role: z.string(),
                environments: z.array(z.string()),
                user: z.optional(z.string()),
                group: z.optional(z.string()),
              })
              .check(z.describe("the role binding the approver approved under (naming them or their group); absent: their token's tenant-wide role let them")),
          ),
        }),
      ),
      approvalsRequired: z.number().check(z.int()),
      outcome: z.enum(['PENDING_VALIDATION', 'BLOCKED_BY_GATES', 'BLOCKED_BY_MONITORS', 'REJECTED', 'AWAITING_APPROVAL', 'ALLOWED']),
      freeze: z.strictObject({ whenFrozen: z.enum(['wait', 'fail']), heldBy: z.nullable(open), override: z.nullable(open) }),
      soak: z.optional(soakHold).check(z.describe('present when the promotion waited for its release to soak in the source environment (the last such hold)')),
      monitorAlarm: z
        .optional(z.strictObject({ arn: z.string(), name: z.string(), reason: z.string(), at: z.string() }))
        .check(z.describe('present when a monitored CloudWatch alarm rolled it back while it baked')),
      monitorBlock: z.optional(monitorBlock).check(z.describe("present when the target's monitors refused the execution (outcome BLOCKED_BY_MONITORS)")),
      rollout: z.optional(rolloutResponse).check(z.describe('a rollout through targets: per target its confirmation, bake window, alarm evidence and outcome')),
      decisionDigest: digest.check(z.describe('digest of the record above (without status and the freeze outlook)')),
      status: z.enum(STATUSES),
      frozenNow: z.nullable(occurrence),
      nextFreeze: z.nullable(occurrence),
    })
    .check(z.meta({ id: 'DecisionRecord' })),
);

/** GET /promotions/{id}/changes: what moves, as the review page, the console and the CLI show it. */
export const promotionChangesResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      promotionId: z.string(),
      subject,
      sourceEnvironment: z.string(),
      targetEnvironment: z.string(),
      artifact: z
        .nullable(z.strictObject({ name: z.string(), from: z.nullable(z.string()), fromDigest: z.nullable(z.string()), to: z.string(), toDigest: digest }))
        .check(z.describe('an artifact promotion: the version the target ran before it (or runs now, until it executes) and the one it brings')),
      bundle: z
        .optional(
          z.strictObject({
            name: z.string(),
            digest,
            members: z.array(
              z.strictObject({
                name: z.string(),
                from: z.nullable(z.string()),
                fromDigest: z.nullable(z.string()),
                to: z.string(),
                toDigest: digest,
                moves: z.boolean(),
              }),
            ),
          }),
        )
        .check(
          z.describe(
            'a bundle promotion: each member, the version the target ran before (or runs now) and the one it brings; `changes` holds its configuration part',
          ),
        ),
      changes: z
        .array(
          z.strictObject({
            key: z.string(),
            kind: z.enum(['config', 'flag']),
            change: z.enum(['added', 'modified', 'removed']),
            before: z.optional(z.string().check(z.describe('JSON, cut at 500 characters; keys that look secret are masked'))),
            after: z.optional(z.string()),
          }),
        )
        .check(z.describe('a config promotion: the first 200 changed keys, by kind then key')),
      total: z.number().check(z.int(), z.describe('how many keys change (changes holds the first 200)')),
      unchanged: z.nullable(z.number().check(z.int())),
    })
    .check(z.meta({ id: 'PromotionChanges' })),
);

export const promotionsListResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ items: z.array(promotionResponse), nextCursor: z.optional(z.nullable(z.string())) }),
);
export const promotionExecuteResponse = /* @__PURE__ */ z.schema(() =>
  z.union([z.strictObject({ accepted: z.literal(true), promotion: promotionResponse }), z.looseObject({ dryRun: z.literal(true) })]),
);
export const promotionRollbackResponse = /* @__PURE__ */ z.schema(() =>
  z.union([z.strictObject({ promotion: promotionResponse, reverts: z.array(open), impact: z.optional(open) }), z.looseObject({ dryRun: z.literal(true) })]),
);
export const autoCheckResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ checks: z.array(open).check(z.describe('per auto-promotion rule: whether it would promote, and why (not)')) }),
);

/** The safe order of pending promotions (domain/promotion/request/safe-order.ts). */
const planBreak = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    consumer: z.string().check(z.describe('the consumer that would break (an artifact, or a consumer registered under that name)')),
    artifact: z.string().check(z.describe('the artifact it pins')),
    constraint: z.string(),
    reason: z.string(),
  }),
);
export const promotionsPlanResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    order: z
      .array(
        z.strictObject({
          id: z.string(),
          targetEnvironment: z.string(),
          subject: z.string().check(z.describe("'<artifact>@<version>', or 'config'")),
          after: z
            .array(z.string())
            .check(z.describe('the promotions earlier in the order it needs to have run (a consumer re-pinned, a pinned provider moved)')),
        }),
      )
      .check(z.describe('the promotions in an order in which each breaks no pinned consumer')),
    blocked: z
      .array(
        z.strictObject({
          id: z.string(),
          targetEnvironment: z.string(),
          subject: z.string(),
          kind: z.enum(['break', 'cycle']).check(z.describe('break: no pending promotion resolves it; cycle: those that would wait on it in turn')),
          breaks: z.array(planBreak),
          waitsOn: z.array(z.string()).check(z.describe('the pending promotions that would resolve its breaks')),
          together: z
            .optional(z.array(z.strictObject({ id: z.string(), artifact: z.string(), version: z.string() })))
            .check(
              z.describe(
                'a cycle: the versions that must move together, as one bundle (this promotion and every one its cycle reaches), in the order requested',
              ),
            ),
          message: z.string(),
        }),
      )
      .check(z.describe('the promotions no order lets run without breaking a pinned consumer, each with why')),
  }),
);
