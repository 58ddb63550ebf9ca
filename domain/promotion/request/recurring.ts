import type { Principal } from '../../access/auth.ts';
import { auditEntry } from '../../audit/audit.ts';
import { activeWindowOf } from '../../freeze/windows.ts';
import { awsName } from '../../kernel/aws-names.ts';
import { digestOf } from '../../kernel/canonical.ts';
import type { Ctx, Deps, With, WriteOp } from '../../kernel/deps.ts';
import { AlreadyExists, DomainError, RecurringPromotionNotFound, RuleViolation, ValidationFailed, VersionConflict } from '../../kernel/errors.ts';
import type { Environment } from '../../kernel/model.ts';
import { RECURRING_NAME, type Promotion, type RecurringPromotion, type RecurringRun, type Subject } from '../../kernel/promotion-model.ts';
import { envName } from '../../kernel/schemas.ts';
import { retryOnConflict } from '../../kernel/retry.ts';
import { timeZone } from '../../kernel/time-zone.ts';
import * as z from '../../kernel/zod.ts';
import { checkForward, lineOf, resolvePolicy } from '../terms/policy.ts';
import { createPromotion } from './request.ts';
import { checkCalendar } from '../run/recurring-cron.ts';
import { soakHoldOf, soakState } from '../run/soak.ts';

/**
 * Promotions on a calendar: "every weekday at 09:00 Europe/Berlin, staging → production". A recurring
 * promotion is a resource of its own, named, beside the promotion rules rather than a field of them: a rule
 * says how any promotion of its pair is decided (approvers, conditions, soak) and there is one per pair, while
 * a calendar says when to ask for one; a pair may have several calendars (a weekday morning one and a
 * month-end one) or none, and a calendar has a life the rule has not (its schedule, paused and resumed, its
 * runs). Each run asks through the normal request path, so the pair's rule, the target's gates and its
 * approvals apply to what it requests exactly as to a person's request; the requester is a system actor
 * naming the calendar.
 *
 * One EventBridge Scheduler schedule per recurring promotion (a cron expression with its time zone; disabled
 * while paused, gone with it: deleteRecurringPromotion) fires schedule-fire, which runs `fireRecurring`: nothing new in the source, a
 * freeze window over the target or a soak not done in the source skips the run with its reason; otherwise the
 * promotion is requested. Every run is recorded on the item (`lastRuns`, the newest RECURRING_RUNS_KEPT).
 */

/** How many runs a recurring promotion keeps (the newest). */
export const RECURRING_RUNS_KEPT = 20;

/** A recurring promotion's name (declared with the model, which the route's parameters read without this use case). */
export { RECURRING_NAME };

/** PUT /recurring-promotions/{name}: the calendar, its name left out or the same as the path's; `version` the one read. */
export const recurringPromotionBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: z.optional(
      z.string().check(z.regex(RECURRING_NAME, 'must be lower-case letters, digits and dashes'), z.describe("left out, or the same as the path's")),
    ),
    source: envName.check(z.describe('the environment the release is taken from')),
    target: envName.check(z.describe('the next environment in the line (or one a rule for the pair lets it skip to)')),
    artifact: z
      .optional(z.nullable(z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be an artifact name'))))
      .check(
        z.describe(
          "the artifact whose version the source runs is promoted; null (or left out on a new one): the source's configuration (a FULL promotion); left out: kept",
        ),
      ),
    cron: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(100),
        z.describe(
          'A 5-field cron expression (minute hour day-of-month month day-of-week) read in timeZone, e.g. "0 9 * * 1-5"; at most every 5 minutes, and not both day fields restricted',
        ),
      ),
    timeZone,
    paused: z
      .optional(z.boolean())
      .check(z.describe('true: its schedule is disabled and nothing runs until it is false again; left out: kept (false for a new one)')),
    notes: z.optional(z.nullable(z.string().check(z.maxLength(500)))).check(z.describe('left out: kept; null: none')),
    version: z
      .optional(z.number().check(z.int(), z.minimum(1)))
      .check(z.describe('the version you read (GET answers it): 409 when it changed since; left out: replace whatever there is')),
  }),
);
export type RecurringPromotionBody = z.infer<typeof recurringPromotionBody>;

/** The schedule of a recurring promotion: one per tenant and name, within the scheduler's limits. */
export const recurringScheduleName = (tenant: string, name: string): string => awsName('stageline-recur-', [tenant, name]);

/** The system actor a recurring promotion's runs request as (shown in audit and the promotion's history). */
export const recurringActor = (name: string) => ({ id: `recurring:${name}`, name: `recurring promotion '${name}'` });
const recurringPrincipal = (tenant: string, name: string): Principal => ({ tenant, ...recurringActor(name), roles: ['deployer'], kind: 'machine' });

/** What the API answers: the stored calendar without its write revision, and its next times (none while paused). */
export async function recurringView(r: RecurringPromotion, now: Date) {
  const { rev: _rev, ...rest } = r;
  const next = r.paused ? [] : (await checkCalendar(r.cron, r.timeZone, now)).next.slice(0, 3);
  return { ...rest, next };
}

async function write(deps: Deps, ctx: Ctx, ops: WriteOp[], action: string, name: string, before: unknown, after: unknown, reason?: string) {
  const { tenant } = ctx.principal;
  const entry = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'recurring-promotion',
      entityId: name,
      before: before ? digestOf(before) : null,
      after: after ? digestOf(after) : null,
      ...(reason ? { reason } : {}),
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  await deps.store.commit(tenant, [...ops, { kind: 'audit', entry }]);
}

/** Source and target must be environments of the line, the target the next one (or one a rule lets it skip to): 422 naming what to fix. */
async function checkPair(deps: Deps, tenant: string, source: string, target: string): Promise<void> {
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(tenant), deps.store.listRules(tenant)]);
  const line = lineOf(envs);
  const known = line.map((e) => e.name);
  const unknown = [source, target].filter((n) => !known.includes(n));
  if (unknown.length) {
    throw new RuleViolation(
      `Unknown environment${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(' and ')}; the line is ${known.join(' → ') || '(empty: create environments first)'}`,
      { unknown, known },
    );
  }
  checkForward(line, rules, source, target);
}

/**
 * The quota of recurring promotions per tenant (tunables.maxRecurringPromotions, STAGELINE_MAX_RECURRING_PROMOTIONS;
 * 20 by default): each may request a promotion every 5 minutes, so their number bounds what one tenant's
 * calendars ask of the flow. `have`: how many the tenant has, `wanted`: how many it would have; fewer than it
 * has is never refused (a quota an operator lowered). 422 saying what to do, with the limit and the count.
 */
export function assertRecurringQuota(tunables: Pick<Deps['tunables'], 'maxRecurringPromotions'>, have: number, wanted: number): void {
  const limit = tunables.maxRecurringPromotions;
  if (wanted <= limit || wanted <= have) return;
  throw new RuleViolation(
    `A tenant has at most ${limit} recurring promotions (this would make ${wanted}): delete one you no longer need, or combine calendars of one pair; an operator raises the quota with STAGELINE_MAX_RECURRING_PROMOTIONS`,
    { limit, count: have },
  );
}

/** Creates or replaces the calendar's schedule: its cron in its time zone, enabled unless paused. */
export const armSchedule = (deps: With<'scheduler'>, r: RecurringPromotion, tenant: string) =>
  deps.scheduler.scheduleRecurring(
    recurringScheduleName(tenant, r.name),
    { cron: r.cron, timeZone: r.timeZone, enabled: !r.paused },
    { tenant, recurring: r.name },
  );

/** Creates or replaces a recurring promotion and its schedule (enabled unless paused). */
export async function putRecurringPromotion(deps: With<'scheduler'>, ctx: Ctx, name: string, body: RecurringPromotionBody) {
  const { tenant } = ctx.principal;
  if (body.name !== undefined && body.name !== name)
    throw new ValidationFailed([{ path: 'body.name', message: `must be left out or '${name}' (the path's)` }], `name must be left out or '${name}'`);
  const now = deps.clock();
  const calendar = await checkCalendar(body.cron, body.timeZone, now);
  if (calendar.issues.length)
    throw new ValidationFailed(calendar.issues, `cron ${JSON.stringify(body.cron)} in ${body.timeZone}: ${calendar.issues[0]!.message}`);
  await checkPair(deps, tenant, body.source, body.target);
  const written = await retryOnConflict(deps.tunables, async () => {
    const cur = await deps.store.getRecurringPromotion(tenant, name);
    if (body.version !== undefined && cur?.version !== body.version) {
      throw new VersionConflict(
        cur
          ? `Recurring promotion '${name}' is at version ${cur.version}, not ${body.version}`
          : `Recurring promotion '${name}' does not exist yet: leave version out to create it`,
        { currentVersion: cur?.version ?? null },
      );
    }
    if (!cur) {
      const have = (await deps.store.listRecurringPromotions(tenant)).length;
      assertRecurringQuota(deps.tunables, have, have + 1);
    }
    const at = deps.clock().toISOString();
    const next: RecurringPromotion = {
      name,
      source: body.source,
      target: body.target,
      // A field left out keeps what is stored (a paused calendar is never resumed by omission); null clears artifact and notes.
      ...((body.artifact === undefined ? cur?.artifact : body.artifact) ? { artifact: (body.artifact ?? cur?.artifact)! } : {}),
      cron: body.cron.trim().split(/\s+/).join(' '),
      timeZone: body.timeZone,
      paused: body.paused ?? cur?.paused ?? false,
      ...((body.notes === undefined ? cur?.notes : body.notes) ? { notes: (body.notes ?? cur?.notes)! } : {}),
      lastRuns: cur?.lastRuns ?? [],
      version: (cur?.version ?? 0) + 1,
      rev: (cur?.rev ?? 0) + 1,
      createdAt: cur?.createdAt ?? at,
      createdBy: cur?.createdBy ?? ctx.principal.name,
      updatedAt: at,
      updatedBy: ctx.principal.name,
    };
    const action = !cur ? 'recurring.create' : cur.paused !== next.paused ? (next.paused ? 'recurring.pause' : 'recurring.resume') : 'recurring.update';
    const definition = (r: RecurringPromotion | null) => r && { ...r, lastRuns: undefined, rev: undefined };
    await write(deps, ctx, [{ kind: 'recurringPromotion', recurring: next, expectedRev: cur?.rev ?? null }], action, name, definition(cur), definition(next));
    return next;
  });
  // After the write: a schedule never fires for a calendar that is not stored. A failure here answers 500 and the
  // same PUT puts the schedule right (the item is the same, the schedule created or replaced).
  await armSchedule(deps, written, tenant);
  return recurringView(written, now);
}

export async function getRecurringPromotion(deps: Deps, ctx: Ctx, name: string) {
  const r = await deps.store.getRecurringPromotion(ctx.principal.tenant, name);
  if (!r) throw new RecurringPromotionNotFound(name);
  return recurringView(r, deps.clock());
}

export async function listRecurringPromotions(deps: Deps, ctx: Ctx) {
  const now = deps.clock();
  const all = await deps.store.listRecurringPromotions(ctx.principal.tenant);
  return { items: await Promise.all(all.sort((a, b) => a.name.localeCompare(b.name)).map((r) => recurringView(r, now))) };
}

/** How soon after a delete the calendar's schedule fires once more (a no-op) and is gone. */
const RETIRE_AFTER_MS = 60_000;

/**
 * Removes a recurring promotion and its schedule (its runs go with it; the promotions it requested stay).
 * The schedule is retired, not deleted from here: it is replaced by a one-time schedule of the same name that
 * deletes itself after it ran, and whose firing finds the calendar gone (fireRecurring: it deletes the schedule
 * and runs nothing). So the DELETE function needs what the PUT function needs (create and update a schedule)
 * and shares its execution role: a function of its own grants (DeleteSchedule alone) would be one more role
 * the tenant write role trusts, over IAM's trust-policy quota (infra/store.ts checkTrustSize).
 */
export async function deleteRecurringPromotion(deps: With<'scheduler'>, ctx: Ctx, name: string): Promise<void> {
  const { tenant } = ctx.principal;
  await retryOnConflict(deps.tunables, async () => {
    const cur = await deps.store.getRecurringPromotion(tenant, name);
    if (!cur) throw new RecurringPromotionNotFound(name);
    await write(deps, ctx, [{ kind: 'deleteRecurringPromotion', name, expectedRev: cur.rev }], 'recurring.delete', name, { ...cur, lastRuns: undefined }, null);
  });
  await retireSchedule(deps, tenant, name, deps.clock());
}

/** A removed calendar's schedule replaced by a one-time one that fires a no-op and deletes itself (see deleteRecurringPromotion). */
export const retireSchedule = (deps: With<'scheduler'>, tenant: string, name: string, now: Date) =>
  deps.scheduler.scheduleOnce(recurringScheduleName(tenant, name), new Date(now.getTime() + RETIRE_AFTER_MS), { tenant, recurring: name });

type Decision = Omit<RecurringRun, 'at'>;
const skip = (code: NonNullable<RecurringRun['code']>, reason: string): Decision => ({ outcome: 'skipped', code, reason });

/** The release the source runs that the target does not, or why there is none. */
async function releaseOf(
  deps: Deps,
  r: RecurringPromotion,
  source: Environment,
  target: Environment,
): Promise<{ subject: Subject; label: string } | { none: Decision }> {
  const { tenant } = source;
  if (!r.artifact) {
    if (source.head.digest === target.head.digest) {
      return { none: skip('nothing-new', `'${target.name}' already has the configuration '${source.name}' has (snapshot ${source.head.seq})`) };
    }
    return {
      subject: {
        type: 'config',
        sourceSnapshot: { seq: source.head.seq, digest: source.head.digest },
        promotionType: 'FULL',
        configIds: [],
        flagIds: [],
        keyPatterns: [],
      },
      label: `the configuration of '${source.name}' (snapshot ${source.head.seq})`,
    };
  }
  const [inSource, inTarget] = await Promise.all([
    deps.store.getPointer(tenant, source.name, r.artifact),
    deps.store.getPointer(tenant, target.name, r.artifact),
  ]);
  if (!inSource) return { none: skip('nothing-new', `'${source.name}' runs no version of ${r.artifact}`) };
  if (inTarget?.version === inSource.version) {
    return { none: skip('nothing-new', `'${target.name}' already runs ${r.artifact}@${inSource.version}, the release '${source.name}' runs`) };
  }
  const version = await deps.store.getArtifactVersion(tenant, r.artifact, inSource.version);
  if (!version) return { none: skip('refused', `${r.artifact}@${inSource.version} has not been published`) };
  return {
    subject: { type: 'artifact', name: r.artifact, version: inSource.version, digest: version.digest },
    label: `${r.artifact}@${inSource.version}`,
  };
}

/** What this run does: skip (with its reason) or request the promotion. */
async function decide(deps: With<'scheduler' | 'workflow'>, r: RecurringPromotion, tenant: string, now: Date): Promise<Decision> {
  const [envs, rules, windows] = await Promise.all([deps.store.listEnvironments(tenant), deps.store.listRules(tenant), deps.store.listFreezeWindows(tenant)]);
  const line = lineOf(envs);
  const source = line.find((e) => e.name === r.source);
  const target = line.find((e) => e.name === r.target);
  if (!source || !target) return skip('refused', `environment '${!source ? r.source : r.target}' no longer exists`);
  const release = await releaseOf(deps, r, source, target);
  if ('none' in release) return release.none;
  const frozen = await activeWindowOf(windows, target.name, now);
  if (frozen) {
    return skip(
      'frozen',
      `'${target.name}' is inside freeze window ${frozen.window.id} (${frozen.window.reason}) until ${frozen.end.toISOString()}; ${release.label} was not promoted`,
    );
  }
  // The soak the promotion would be held for (the pair's rule over the target's), read as the request would.
  const policy = resolvePolicy(rules, line, source, target);
  const asIf = {
    tenant,
    sourceEnvironment: source.name,
    subject: release.subject,
    policy,
    ...(target.soakSeconds ? { soakSeconds: target.soakSeconds } : {}),
  } as unknown as Promotion;
  const soak = await soakState(deps, asIf, now);
  if (soak && soak.until.getTime() > now.getTime()) return skip('soaking', `${release.label}: ${soakHoldOf(soak).reason}`);
  const subject = release.subject;
  const notes = `requested by recurring promotion '${r.name}' (${r.cron}, ${r.timeZone})${r.notes ? `: ${r.notes}` : ''}`.slice(0, 1000);
  const common = {
    sourceEnvironment: source.name,
    targetEnvironment: target.name,
    notes,
    dryRun: false,
    autoStart: true,
    trigger: 'on_approval' as const,
    whenFrozen: 'fail' as const,
  };
  const body =
    subject.type === 'artifact'
      ? { ...common, artifact: subject.name, version: subject.version }
      : { ...common, promotionType: 'FULL' as const, configIds: [], flagIds: [], keyPatterns: [] };
  try {
    const p = await createPromotion(deps, { principal: recurringPrincipal(tenant, r.name) }, body);
    return { outcome: 'promoted', ...('id' in p ? { promotionId: p.id } : {}), reason: `requested ${release.label}` };
  } catch (err) {
    if (err instanceof AlreadyExists) return { ...skip('in-flight', err.message), promotionId: String(err.details?.promotionId ?? '') || undefined };
    if (err instanceof RuleViolation && /^Nothing to promote/.test(err.message)) return skip('nothing-new', err.message);
    if (err instanceof DomainError) return skip('refused', err.message);
    throw err;
  }
}

/**
 * A recurring promotion's schedule fired (schedule-fire): the run is decided and recorded. A calendar that is
 * gone has its schedule deleted; a paused one (a firing that raced the pause) runs nothing and records nothing.
 */
export async function fireRecurring(
  deps: With<'scheduler' | 'workflow'>,
  tenant: string,
  name: string,
): Promise<RecurringRun | { outcome: 'gone' | 'paused' }> {
  const r = await deps.store.getRecurringPromotion(tenant, name);
  if (!r) {
    await deps.scheduler.cancel(recurringScheduleName(tenant, name));
    // Put again while this firing read it gone: its schedule (just deleted) is made again.
    const again = await deps.store.getRecurringPromotion(tenant, name);
    if (again) await armSchedule(deps, again, tenant);
    return { outcome: 'gone' };
  }
  if (r.paused) return { outcome: 'paused' };
  const now = deps.clock();
  const decided = await decide(deps, r, tenant, now);
  const run: RecurringRun = Object.fromEntries(
    Object.entries({ at: now.toISOString(), ...decided }).filter(([, v]) => v !== undefined),
  ) as unknown as RecurringRun;
  const system: Ctx = { principal: recurringPrincipal(tenant, name) };
  await retryOnConflict(deps.tunables, async () => {
    const cur = await deps.store.getRecurringPromotion(tenant, name);
    if (!cur) return;
    const next: RecurringPromotion = { ...cur, lastRuns: [run, ...cur.lastRuns].slice(0, RECURRING_RUNS_KEPT), rev: cur.rev + 1 };
    const reason = `${run.outcome}${run.code ? ` (${run.code})` : ''}${run.reason ? `: ${run.reason}` : ''}`.slice(0, 1000);
    await write(deps, system, [{ kind: 'recurringPromotion', recurring: next, expectedRev: cur.rev }], 'recurring.run', name, null, null, reason);
  });
  return run;
}
