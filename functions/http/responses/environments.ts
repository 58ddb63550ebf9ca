import * as z from '#domain/kernel/zod';
import { STATUSES } from '#domain/kernel/lifecycle';
import { digest, occurrence, open, stampFields, time } from './common.ts';
import { promotionResponse } from './promotions.ts';

/** What the environment, rule, freeze-window and status routes answer. */
const int = () => z.number().check(z.int());

/** Analyses attached to a bake: templates by name with their arguments' values. */
export const analysisRefsResponse = /* @__PURE__ */ z.schema(() =>
  z
    .array(z.strictObject({ template: z.string(), args: z.array(z.strictObject({ name: z.string(), value: z.string() })) }))
    .check(z.describe('analysis templates by name (GET /analysis-templates), with the values of their arguments')),
);

const compareResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      template: z.string(),
      args: z.array(z.strictObject({ name: z.string(), value: z.string() })),
      minSamples: z.number().check(z.int()),
      maxRegression: z.number(),
      alpha: z.number(),
      direction: z.enum(['increase-is-bad', 'decrease-is-bad']),
      tooFewSamples: z.enum(['fail', 'proceed']),
      maxWaitSeconds: z.number().check(z.int()),
    })
    .check(z.describe("a guarded wave: its changed targets compared with the targets not yet changed, on the template's query per target")),
);

export const targetResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      name: z.string(),
      labels: z.record(z.string(), z.string()),
      wave: z
        .optional(int())
        .check(z.describe('the wave the target names (absent: a wave by share or selector takes it; GET …/targets lists it under the wave it is in)')),
      region: z.optional(z.string()),
      account: z.optional(z.string()).check(z.describe('the AWS account CloudWatch analysis reads for this target')),
      registry: z.optional(z.string()).check(z.describe("the environment's registry this target pulls from")),
      parameters: z.array(z.strictObject({ kind: z.enum(['config', 'flag']), key: z.string(), value: z.json() })),
      monitors: z.array(z.string()),
      confirm: z.union([
        z.strictObject({ mode: z.literal('immediate') }),
        z.strictObject({ mode: z.literal('callback'), timeoutSeconds: int() }),
        z.strictObject({ mode: z.literal('health'), url: z.string(), timeoutSeconds: int(), intervalSeconds: int(), expectStatus: int() }),
        z.strictObject({
          mode: z.literal('argocd'),
          server: z.string(),
          application: z.string(),
          tokenSecret: z.string().check(z.describe('the name of the secret (purpose gitops-health), never its value')),
          project: z.optional(z.string()),
          timeoutSeconds: int(),
          intervalSeconds: int(),
        }),
        z.strictObject({
          mode: z.literal('flux'),
          apiServer: z.string(),
          namespace: z.string(),
          kustomization: z.string(),
          tokenSecret: z.string().check(z.describe('the name of the secret (purpose gitops-health), never its value')),
          caSecret: z.optional(z.string()),
          timeoutSeconds: int(),
          intervalSeconds: int(),
        }),
        z.strictObject({
          mode: z.literal('fleet'),
          minShare: z.number(),
          windowSeconds: int(),
          minInstances: int(),
          timeoutSeconds: int(),
          intervalSeconds: int(),
        }),
      ]),
      analysis: z.optional(analysisRefsResponse).check(z.describe('present when the target measures its own analyses during its bake')),
    })
    .check(z.meta({ id: 'Target' })),
);

/** Where an environment is, target by target (GET …/environments/{env}/targets). */
/** The bundle a rollout put on a target (its name and digest), while the target is ahead of its environment. */
const bundleRef = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ name: z.string(), digest: z.string() }).check(z.describe('the release bundle that put it there (a rollout of a bundle)')),
);

export const environmentTargetsResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      environment: z.string(),
      head: z.strictObject({ seq: int(), digest: z.string() }).check(z.describe("the environment's config head: what every target has reached")),
      total: z.optional(int()).check(z.describe('a page: how many targets match the filter in all (the page holds at most limit of them)')),
      nextCursor: z.optional(z.string()).check(z.describe('a page: pass as cursor for the next one; absent on the last')),
      waves: z.array(
        z.strictObject({
          wave: int(),
          count: z.optional(int()).check(z.describe("a page: how many of the wave's targets match the filter in all")),
          bakeSeconds: int(),
          maxParallel: z.optional(int()).check(z.describe("how many of the wave's targets change at once")),
          pause: z.optional(z.literal(true)).check(z.describe('the rollout halts before this wave starts, until a release manager resumes it')),
          targets: z.array(
            z.strictObject({
              ...targetResponse.shape,
              labels: z.optional(targetResponse.shape.labels),
              parameters: z.optional(targetResponse.shape.parameters),
              monitors: z.optional(targetResponse.shape.monitors),
              confirm: z.optional(targetResponse.shape.confirm),
              analysis: z.optional(targetResponse.shape.analysis),
              implicit: z.optional(z.literal(true)).check(z.describe("the one target of an environment that declares none ('default')")),
              config: z
                .strictObject({ seq: int(), digest: z.string(), own: z.boolean(), promotionId: z.optional(z.string()), bundle: z.optional(bundleRef) })
                .check(z.describe("the config snapshot the target runs; own: a rollout's (promotionId), ahead of the environment's head")),
              artifacts: z
                .array(
                  z.strictObject({
                    name: z.string(),
                    version: z.string(),
                    digest: z.string(),
                    own: z.boolean(),
                    promotionId: z.optional(z.string()),
                    bundle: z.optional(bundleRef),
                  }),
                )
                .check(z.describe('the artifact versions the target runs, by name')),
            }),
          ),
        }),
      ),
    })
    .check(z.meta({ id: 'EnvironmentTargets' })),
);

export const rolloutResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    maxParallel: int(),
    minBakeSeconds: int(),
    waves: z.array(
      z.strictObject({
        wave: int(),
        bakeSeconds: z.optional(int()),
        maxParallel: z.optional(int()),
        share: z.optional(z.string()).check(z.describe('a wave by share: a count, a percentage of the fleet (rounded down) or rest')),
        selector: z.optional(z.string()).check(z.describe('a wave by label selector: key=glob')),
        pause: z.optional(z.boolean()),
        analysis: z.optional(analysisRefsResponse),
        compare: z.optional(compareResponse),
      }),
    ),
    startWindows: z.array(z.strictObject({ days: z.array(z.string()), start: z.string(), end: z.string(), timezone: z.string() })),
  }),
);

export const environmentResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      name: z.string(),
      displayName: z.string(),
      position: z.number().check(z.int()),
      description: z.string(),
      protected: z.boolean(),
      gates: open.check(z.describe('gate name → on/off')),
      webhookGates: z.array(open).check(z.describe('the environment’s webhook gates (secrets never returned)')),
      concurrency: z.enum(['queue', 'reject', 'supersede']),
      autoPromotionPaused: z.boolean(),
      bakeSeconds: z.number().check(z.int()),
      soakSeconds: z
        .number()
        .check(
          z.int(),
          z.describe('seconds a release must have run in the source environment, without an alarm, before it is promoted into this one (0: none)'),
        ),
      allowedHours: z
        .nullable(
          z.strictObject({
            timeZone: z.string(),
            windows: z.array(z.strictObject({ cron: z.string(), durationMinutes: z.number().check(z.int()) })),
          }),
        )
        .check(
          z.describe(
            'when a promotion into it may start executing: windows that open when their cron fires in timeZone and stay open durationMinutes; outside them a promotion waits SCHEDULED until the next opening. null: at any time',
          ),
        ),
      ciGate: z
        .nullable(
          z.strictObject({
            host: z.enum(['github', 'gitlab']),
            repository: z.string(),
            workflow: z.nullable(z.string()),
            ref: z.string(),
            inputs: z.array(z.strictObject({ name: z.string(), value: z.string() })),
            app: z.nullable(z.strictObject({ id: z.string(), apiUrl: z.nullable(z.string()), privateKeySecret: z.string() })),
            gitlab: z.nullable(z.strictObject({ apiUrl: z.nullable(z.string()), tokenSecret: z.string() })),
            timeoutMinutes: z.number().check(z.int()),
            pollSeconds: z.number().check(z.int()),
          }),
        )
        .check(
          z.describe(
            'a CI run that must pass before a promotion into it executes: a GitHub Actions workflow (workflow_dispatch) or a GitLab pipeline, started with inputs naming the release and looked at every pollSeconds until it ends or timeoutMinutes pass; secrets by name only. null: none',
          ),
        ),
      after: z
        .array(z.string())
        .check(z.describe('the environments this one comes after (promoted into from them); []: the one before it by position, as a chain')),
      afterMode: z.enum(['all', 'any']).check(z.describe('with several in after: the release must have reached all of them or any one')),
      requireAttestationFrom: z
        .array(z.string())
        .check(z.describe('environments whose signed verification summary a release must carry before it is promoted into this one ([]: none)')),
      autoPromote: z.boolean().check(z.describe('takes releases automatically from the environments it comes after (a join waits for all of them)')),
      cacheMaxAgeSeconds: z.number().check(z.int(), z.describe('how long services may cache the effective config')),
      registries: z.array(z.strictObject({ name: z.string(), url: z.string() })),
      monitors: z.array(z.string()).check(z.describe('CloudWatch alarm ARNs: checked before executing into it, watched while a promotion bakes')),
      verification: z.enum(['digest_match', 'signature_match']),
      signingKey: z.nullable(z.string()),
      lastAlarm: z
        .nullable(z.strictObject({ arn: z.string(), name: z.string(), reason: z.string(), at: z.string() }))
        .check(
          z.describe(
            'the newest alarm of its monitors that went to ALARM while nothing it hit was baking here (a soak out of this environment starts again from it); null: none',
          ),
        ),
      targets: z
        .optional(z.array(targetResponse))
        .check(z.describe('where the environment runs, in waves; absent when it declares none (one implicit target)')),
      rollout: z.optional(rolloutResponse),
      analysis: analysisRefsResponse.check(z.describe("analyses every target's bake in this environment runs")),
      preAnalysis: z
        .array(
          z.strictObject({
            template: z.string(),
            args: z.array(z.strictObject({ name: z.string(), value: z.string() })),
            lookbackSeconds: z.optional(z.number().check(z.int())),
          }),
        )
        .check(z.describe('checks of the source environment before a promotion into this one')),
      snapshot: z.strictObject({ seq: z.number().check(z.int()), digest }),
      itemCount: z.number().check(z.int()),
      ...stampFields,
    })
    .check(z.meta({ id: 'Environment' })),
);

/** What put the version (or the config) back, when a rollback did: the rollback and why (null: a promotion or a change put it there). */
const restored = /* @__PURE__ */ z.schema(() =>
  z
    .nullable(
      z.strictObject({
        promotionId: z.string().check(z.describe('the rollback: a rollback record, or the promotion an alarm rolled back')),
        reason: z.string(),
      }),
    )
    .check(z.describe('set when a rollback restored it: which rollback, and why')),
);

export const statusResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      environments: z.array(
        z.strictObject({
          name: z.string(),
          displayName: z.string(),
          position: z.number().check(z.int()),
          artifacts: z.array(
            z.strictObject({
              artifact: z.string(),
              version: z.string(),
              tag: z.string(),
              digest,
              promotedAt: time,
              promotedBy: z.string(),
              restored,
              bundle: z.optional(bundleRef),
            }),
          ),
          config: z.strictObject({ snapshot: z.string(), digest, items: z.number().check(z.int()), changedAt: time, changedBy: z.string(), restored }),
          gates: z.strictObject({
            marks: z.string().check(z.describe('one mark per gate: ✓ pass, ✗ fail, ! warn, - off')),
            legend: z.string(),
            promotionId: z.nullable(z.string()),
          }),
          lastPromotion: z.nullable(
            z.strictObject({ id: z.string(), subject: z.string(), completedAt: z.nullable(time), requestedBy: z.string(), status: z.enum(STATUSES) }),
          ),
          lastOutcome: z
            .nullable(
              z.strictObject({
                id: z.string(),
                subject: z.string(),
                status: z.enum(STATUSES),
                at: time,
                requestedBy: z.string(),
                reason: z.nullable(z.string()),
              }),
            )
            .check(z.describe('the newest promotion into it that ended (completed, failed, rolled back, rejected or expired) and why')),
          autoPromotionPaused: z.boolean(),
          protected: z.boolean(),
          lastBreakGlass: z.nullable(open),
          targets: z
            .optional(z.number().check(z.int()))
            .check(z.describe('how many targets it declares (only when it does; GET …/environments/{env}/targets shows where each is)')),
          after: z
            .optional(z.array(z.string()))
            .check(z.describe('the environments it comes after (only when it names them: a branch or a join of the line; otherwise the one before it)')),
          afterMode: z.optional(z.enum(['all', 'any'])),
          requireAttestationFrom: z
            .optional(z.array(z.string()))
            .check(z.describe('the environments whose signed verification summary a release must carry to enter it (only when it names some)')),
          freeze: z.strictObject({ current: z.nullable(occurrence), next: z.nullable(occurrence) }),
        }),
      ),
      pending: z.array(
        z.strictObject({
          id: z.string(),
          subject: z.string(),
          from: z.string(),
          to: z.string(),
          status: z.enum(STATUSES),
          requestedBy: z.string(),
          requestedAt: time,
          why: z.string(),
          behind: z
            .optional(z.string())
            .check(z.describe('queued behind this promotion, which executes into the environment now (it goes on when that one ends)')),
          changeRequest: z
            .optional(z.strictObject({ number: z.nullable(z.string()), url: z.nullable(z.string()), state: z.nullable(z.string()) }))
            .check(z.describe("change control: the change request it is bound to in the tenant's tool (its number, link and state when last read)")),
        }),
      ),
    })
    .check(z.meta({ id: 'Status' })),
);

export const freezeWindow = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string(),
      scope: z.string().check(z.describe("an environment, or '*' for every environment")),
      reason: z.string(),
      kind: z.enum(['once', 'recurring']),
      start: z.optional(time),
      end: z.optional(time),
      cron: z.optional(z.string()),
      endCron: z.optional(z.string()),
      timezone: z.optional(z.string()),
      createdBy: z.string(),
      createdAt: time,
      open: z.nullable(occurrence),
      next: z.nullable(occurrence),
    })
    .check(z.meta({ id: 'FreezeWindow' })),
);

export const freezeListResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ items: z.array(freezeWindow), current: z.optional(z.nullable(occurrence)), next: z.optional(z.nullable(occurrence)) }),
);

/** GET /calendar: per environment, over the range, when it is open, the freezes over it and what is scheduled into it. */
export const calendarResponse = /* @__PURE__ */ z.schema(() => {
  const span = z.strictObject({ start: time, end: time });
  return z.strictObject({
    from: time,
    to: time,
    days: int(),
    environments: z.array(
      z.strictObject({
        environment: z.string(),
        open: z.array(span).check(z.describe('when promotions may start executing here (its allowed hours; the whole range without them), merged')),
        frozen: z.array(
          z
            .strictObject({ start: time, end: time, windowId: z.string(), reason: z.string() })
            .check(z.describe('a freeze window over it, clipped to the range')),
        ),
        scheduled: z.array(
          z.strictObject({
            promotionId: z.string(),
            at: z.nullable(time).check(z.describe('when it goes (or is looked at again, when held)')),
            heldBy: z.optional(z.strictObject({ kind: z.enum(['freeze', 'promotion', 'soak', 'change', 'hours']), reason: z.string() })),
          }),
        ),
        leftOff: z.strictObject({ open: int(), frozen: int() }).check(z.describe('intervals past the cap per list, not shown')),
        complete: z.boolean().check(z.describe('false when a window fired more often over the range than was read')),
      }),
    ),
  });
});

export const rule = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string(),
      name: z.string(),
      sourceEnvironment: z.string(),
      targetEnvironment: z.string(),
      requiresApproval: z.boolean(),
      requiredApprovers: z.number().check(z.int()),
      approverGroups: z.array(z.string()),
      separationOfDuties: z.boolean(),
      approvalExpirySeconds: z.number().check(z.int()),
      autoPromote: z.boolean(),
      conditions: z.unknown().check(z.describe('all/any/leaf condition tree, or null')),
      evidenceFrom: z.optional(z.string()),
      allowSkip: z.boolean(),
      soakSeconds: z.optional(z.nullable(z.number().check(z.int()))).check(z.describe("this pair's soak, overriding the target environment's")),
      requireAttestationFrom: z
        .optional(z.array(z.string()))
        .check(z.describe("environments whose signed verification summary the release must carry for this pair (on top of the target environment's)")),
      status: z.enum(['active', 'disabled']),
      ...stampFields,
    })
    .check(z.meta({ id: 'Rule' })),
);

export const environmentsListResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(environmentResponse) }));
export const rulesListResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(rule) }));
export const environmentRollbackResponse = /* @__PURE__ */ z.schema(() =>
  z.union([z.strictObject({ dryRun: z.literal(false), impact: open, promotion: promotionResponse }), z.looseObject({ dryRun: z.literal(true), impact: open })]),
);
