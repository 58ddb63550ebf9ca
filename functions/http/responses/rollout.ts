import * as z from '#domain/kernel/zod';
import { time } from './common.ts';

/**
 * What the promotion routes answer about a rollout through targets (re-exported by promotions.ts): each
 * target's state, confirmation, bake and analyses, the waves, a target's confirmation; and the analyses' measurements.
 */

/** One measurement of an analysis: when, how it was judged, the value (the first series) and the values (bounded). */
export const measurementRow = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    at: time,
    phase: z.enum(['Successful', 'Failed', 'Inconclusive', 'Error']),
    value: z.nullable(z.number()),
    values: z.optional(z.array(z.number())),
    error: z.optional(z.string()),
    target: z.optional(z.string().check(z.describe('a pre-promotion analysis: the target of the source environment measured'))),
  }),
);

/** One analysis of a target's bake (or a guarded wave's comparison): its measurements and its answer. */
export const analysisRunRow = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    template: z.string(),
    scope: z
      .enum(['bake', 'canary'])
      .check(z.describe("bake: the template's conditions judge each measurement; canary: the target compared with the targets not changed yet")),
    phase: z
      .enum(['Running', 'Successful', 'Failed', 'Inconclusive', 'Error', 'Stopped'])
      .check(z.describe('Stopped: the rollout ended (a rollback, another target failed) before this analysis had its answer')),
    measurements: z.array(measurementRow).check(z.describe('the last 50 measurements (`dropped`: how many earlier ones are not kept)')),
    dropped: z.number().check(z.int()),
    nextAt: z.nullable(time),
    message: z.nullable(z.string()),
    thresholds: z.nullable(z.strictObject({ success: z.optional(z.string()), failure: z.optional(z.string()) })),
    controls: z.optional(z.array(z.string()).check(z.describe('a comparison: the targets not changed yet it was compared with'))),
    comparison: z.optional(
      z
        .strictObject({
          verdict: z.enum(['pass', 'regression', 'too-few-samples']),
          relativeDifference: z.number(),
          p: z.number(),
          canaryMedian: z.number(),
          controlMedian: z.number(),
          samples: z.strictObject({ canary: z.number().check(z.int()), control: z.number().check(z.int()) }),
        })
        .check(z.describe('Mann-Whitney U over the samples and the relative difference of the medians')),
    ),
  }),
);

/** One target of a rollout: its state, confirmation, bake window and alarm (domain/promotion/terms/rollout-view.ts rolloutView). */
export const rolloutTargetRow = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: z.string(),
    state: z.enum(['PENDING', 'CONFIRMING', 'BAKING', 'DONE', 'FAILED', 'ROLLED_BACK', 'SKIPPED']),
    appliedAt: z.nullable(time),
    confirmation: z.nullable(
      z.strictObject({
        mode: z.enum(['immediate', 'callback', 'health', 'argocd', 'flux', 'fleet']),
        deadline: z.nullable(time),
        at: z.nullable(time),
        by: z.nullable(z.string()),
        fleet: z
          .optional(
            z.nullable(
              z.strictObject({
                seen: z.number(),
                took: z.number(),
                share: z.number(),
                minShare: z.number(),
                over: z.optional(z.number()).check(z.describe('instances over the cap that were not counted (only when there are any)')),
                cap: z
                  .optional(z.number())
                  .check(z.describe('the most instances of one target counted (STAGELINE_FLEET_MAX_INSTANCES), when some were over it')),
              }),
            ),
          )
          .check(
            z.describe(
              'a fleet target: instances counted, those running the release, their share and the share it needs, and how many were over the cap and not counted (null before the first poll)',
            ),
          ),
        detail: z
          .optional(z.nullable(z.string()))
          .check(
            z.describe(
              "what confirmed it (or, while it waits, what was last seen): the HTTP status, the Argo CD sync and health at the delivered commit, the Flux Ready condition, a fleet's convergence (`9/10 instances (90 %) run …`); a note",
            ),
          ),
      }),
    ),
    bake: z.nullable(z.strictObject({ from: time, until: time, monitors: z.array(z.string()) })),
    alarm: z.nullable(z.strictObject({ arn: z.string(), name: z.string(), reason: z.string(), at: z.string() })),
    error: z.nullable(z.string()),
    rolledBackAt: z.nullable(time),
    analysis: z
      .optional(z.array(analysisRunRow))
      .check(z.describe("the analyses measured while it baked (its environment's, its wave's, its own) and a guarded wave's comparison")),
    git: z
      .optional(
        z.strictObject({
          file: z.string(),
          commit: z.nullable(z.string()),
          changed: z.boolean(),
          revert: z.optional(z.strictObject({ commit: z.nullable(z.string()), changed: z.boolean(), error: z.optional(z.string()) })),
        }),
      )
      .check(z.describe("the commit of the target's own file (a git target file with {target}); revert: the rollback's commit, or why there is none")),
    registry: z
      .optional(
        z.strictObject({
          registry: z.string(),
          tag: z.string(),
          digest: z.string(),
          revert: z.optional(z.strictObject({ digest: z.nullable(z.string()), reason: z.optional(z.string()) })),
        }),
      )
      .check(
        z.describe("the per-target tag (latest-<env>-<target>) in the target's registry; revert: the digest a rollback moved it back to, or why it stayed"),
      ),
    registries: z
      .optional(
        z.array(
          z.strictObject({
            artifact: z.string(),
            registry: z.string(),
            tag: z.string(),
            digest: z.string(),
            revert: z.optional(z.strictObject({ digest: z.nullable(z.string()), reason: z.optional(z.string()) })),
          }),
        ),
      )
      .check(
        z.describe(
          "a bundle: each member's per-target tag (latest-<env>-<target>) in the target's registry, in the member's repository; revert: the digest a rollback moved it back to, or why it stayed",
        ),
      ),
  }),
);

/** A promotion's rollout through its environment's targets, wave by wave. */
const stateCounts = /* @__PURE__ */ z.schema(() =>
  z.partialRecord(z.enum(['PENDING', 'CONFIRMING', 'BAKING', 'DONE', 'FAILED', 'ROLLED_BACK', 'SKIPPED']), z.number().check(z.int())),
);

export const rolloutResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      phase: z.enum(['NOT_STARTED', 'ROLLING_OUT', 'WAITING', 'HALTED', 'COMPLETED', 'ROLLED_BACK', 'FAILED']),
      wave: z.number().check(z.int(), z.describe('the wave running (0: none started yet)')),
      halted: z.nullable(z.strictObject({ by: z.string(), at: time, reason: z.string() })),
      waiting: z.nullable(z.strictObject({ reason: z.string(), until: time, for: z.optional(z.enum(['start-window', 'freeze'])) })),
      totals: z
        .strictObject({
          targets: z.number().check(z.int(), z.describe("every wave's targets")),
          changed: z.number().check(z.int(), z.describe('how many the rollout changed (put back since or not)')),
          putBack: z.number().check(z.int(), z.describe('how many a rollback put back to what they ran before')),
        })
        .check(z.describe("the whole rollout's counts (a paged plan lists only some rows: count from these, never from the rows)")),
      waves: z.array(
        z.strictObject({
          wave: z.number().check(z.int()),
          bakeSeconds: z.number().check(z.int()),
          maxParallel: z.number().check(z.int()),
          count: z.optional(z.number().check(z.int())).check(z.describe("a plan of more than 100 targets: the wave's targets in all")),
          states: z.optional(stateCounts).check(z.describe('a plan of more than 100 targets: how many of the wave are in each state')),
          targets: z
            .array(rolloutTargetRow)
            .check(z.describe('every target of the wave; a plan of more than 100 targets: at most 20 (changing or failed first): GET …/rollout pages them')),
        }),
      ),
    })
    .check(z.meta({ id: 'Rollout' })),
);

/** GET /promotions/{id}/rollout: one wave, a page of its targets. */
export const rolloutPageResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    promotionId: z.string(),
    wave: z.number().check(z.int()),
    waves: z.array(z.strictObject({ wave: z.number().check(z.int()), count: z.number().check(z.int()) })),
    count: z.number().check(z.int()).check(z.describe("the wave's targets in all")),
    states: stateCounts,
    total: z.number().check(z.int()).check(z.describe('how many match the state filter')),
    targets: z.array(rolloutTargetRow),
    nextCursor: z.optional(z.string()),
  }),
);

/** POST /promotions/{id}/targets/{target}/confirm: the target, now baking. */
export const targetConfirmResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ promotionId: z.string(), target: z.string(), state: z.string(), confirmedAt: time, confirmedBy: z.string() }),
);
