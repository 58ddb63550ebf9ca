import { recurringScheduleName } from '../domain/promotion/request/recurring.ts';
import { generator } from '../local/faults.ts';
import type { LocalStack } from '../local/stack.ts';
import { ChaosClient, usersOf, type Users } from './client.ts';
import type { Api, Effects, TenantEffects } from './effects.ts';
import type { ChaosPromotion, HistoryEntry } from './types.ts';

/**
 * The chaos workload: teams using Stageline at once. Many tenants in parallel, each running a sequence of
 * promotions a seeded generator chooses, through the HTTP API as a user meets it (the gateway, tokens of the
 * tenant's users). Every request and its answer goes into the client-side history the checker prints.
 *
 * Each tenant has dev → staging → production; production is the last (protected: approval) and rolls out over
 * three waves of targets (canary, us-east-1, cell-1; a monitor alarm on the first two, a guarded bake). Odd
 * tenants are "strict": dev → staging needs one approval within a short window, so approvals race each other and
 * the deadline there. A tenant whose plan needs it gets more on its line: production's targets measured by an
 * analysis (and wave 1 guarded) against a metric source on the tenant host, a fleet-confirmed cell with its app key, a
 * soak on production, a webhook gate on staging (chaos/effects.ts hosts the metric source and the gate receiver).
 */
export const KINDS = [
  /** dev → staging: no approval (strict tenants: one approval) */
  'config-staging',
  /** staging → production over the waves, approved */
  'config-production',
  /** production: a monitor alarm while a wave bakes (the rollout stops and puts targets back) */
  'alarm-rollback',
  /** production: an alarm after the rollout completed (nothing changes) */
  'alarm-after',
  /** production: the region's alarm the moment its bake ends, a little before or after (the stop decision races wave 3's start) */
  'stop-race',
  /** production: halted and resumed at random moments */
  'halt-resume',
  /** a promotion cancelled at a random moment */
  'cancel',
  /** strict tenants: approve and reject (or two approvals) sent at once */
  'approval-race',
  /** strict tenants: the approval sent around its deadline */
  'deadline-race',
  /** POST /promotions/{id}/rollback of a completed staging promotion */
  'rollback-promotion',
  /** POST /environments/staging/rollback to an earlier snapshot */
  'env-rollback',
  /** a flag of dev promoted alone to staging (a SELECTIVE promotion of items of kind flag) */
  'flag-staging',
  /** an artifact version published into dev's registry and promoted to staging (its tag moves in staging's registry) */
  'artifact',
  /** a bundle of two artifacts (new versions of both) promoted to staging as one unit */
  'bundle',
  /** an artifact version promoted into a staging whose git target is in commit mode (the version is committed and pushed) */
  'git-commit',
  /** an artifact version promoted into a staging whose git target opens a pull request: the team merges it while the promotion waits */
  'git-pr',
  /** production whose canary confirms by callback: the workload confirms once, twice at once, or racing an alarm */
  'callback-confirm',
  /** production whose targets are measured by an analysis while they bake (a web metric source on the tenant host): it passes and the rollout completes */
  'analysis-pass',
  /** production whose analysis fails on the canary or the region (its metric over the condition): the rollout stops and puts changed targets back */
  'analysis-fail',
  /** production whose wave 1 is guarded (the canary compared with the targets not changed yet): a seeded regression of 30 % (rolls back) or 1 % (goes on) */
  'guarded-wave',
  /** staging → production into a production with a soak (a few seconds): the promotion waits SCHEDULED until the release has soaked in staging */
  'soak',
  /** dev → staging through a webhook gate on the tenant host that answers pass or fail (seeded): a failed gate blocks (the team cancels it) */
  'webhook-gate',
  /** production whose cell confirms by its fleet (instances read the release with the cell's app key): both instances take it, or one never does and the cell rolls back at its timeout */
  'fleet-confirm',
  /**
   * a recurring promotion (dev → staging on a calendar): one occurrence fired through the local scheduler, delivered
   * once or twice at once (EventBridge Scheduler delivers at least once); its calendar fires at most every 5 minutes,
   * so the run brings its occurrence instead of waiting for it
   */
  'recurring',
] as const;
export type Kind = (typeof KINDS)[number];

/** The kinds that need the effect receivers (chaos/effects.ts): left out of a run without them. */
export const EFFECT_KINDS: readonly Kind[] = ['artifact', 'bundle', 'git-commit', 'git-pr', 'analysis-pass', 'analysis-fail', 'guarded-wave', 'webhook-gate'];

/** Statuses a promotion ends in (domain/kernel/lifecycle.ts: nothing follows them, bar a later rollback's mark). */
export const FINAL = ['COMPLETED', 'ROLLED_BACK', 'FAILED', 'REJECTED', 'CANCELLED', 'EXPIRED'] as const;

/**
 * The approval window of strict tenants' dev → staging (seconds): short, so the workload races it, and long enough
 * that an approval sent at once still lands when its request is answered 503 and sent again a few times on a busy
 * machine (at 3 s, a CI run saw 25 of 31 staging promotions expire).
 */
export const APPROVAL_EXPIRY_SECONDS = 10;

/** The soak of a soaking tenant's production (seconds): short, so a run waits for it (the API takes any whole number of seconds). */
export const SOAK_SECONDS = 3;

/** The analyses of an analysing tenant's production: measured each second while a target bakes; over 150 fails (targets answer 100). */
export const ANALYSIS = { template: 'chaos-errors', count: 2, failing: 200 } as const;
/** A guarded wave 1: the canary compared with the targets not changed yet (5 samples each, at most 10 % worse), over a 6 s bake. */
export const GUARD = { template: 'chaos-latency', count: 5, bakeSeconds: 6, minSamples: 5, maxRegression: 0.1 } as const;

/**
 * Tenants driven at once unless a run says otherwise. `--concurrency 16` keeps two cores busy rather than waiting on
 * bakes, soaks and windows (seed 5150 at 10 %: 0.85 s a promotion, against 1.33 s at 6), but the local stack's one
 * stream consumer then falls behind: with two crashes and an upgrade (seed 20261130, 300 promotions) it was still
 * signing attestations a minute after the workload, past the checker's wait for an idle stack.
 */
export const DEFAULT_CONCURRENCY = 6;

export interface WorkloadOptions {
  stack: LocalStack;
  seed: number;
  /** promotions to request in all (each kind counts what it requests: config-production requests two) */
  promotions: number;
  /** tenants driven at once (default DEFAULT_CONCURRENCY) */
  concurrency?: number;
  /** promotions per tenant before a new tenant starts (default 6) */
  perTenant?: number;
  /** only these kinds (default: all) */
  kinds?: readonly Kind[];
  /** how long the workload waits for one promotion to end (ms; default 90 s) */
  waitMs?: number;
  effects?: Effects;
  log?: (line: string) => void;
}

export interface RequestedPromotion extends ChaosPromotion {
  kind: Kind;
  requestedAt: string;
  /** what the workload saw last */
  lastStatus?: string;
  /** the promotion this one rolls back (rollback-promotion) */
  rollbackOf?: string;
}

export interface WorkloadResult {
  tenants: string[];
  promotions: RequestedPromotion[];
  history: HistoryEntry[];
  client: ChaosClient;
  users: Map<string, Users>;
}

/** The workload's choices from its seed: the fault plan's generator (mulberry32). */
export const rng = (seed: number): (() => number) => generator(seed);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const alarmArn = (name: string) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${name}`;
export const tenantAlarms = (tenant: string) => ({ canary: alarmArn(`${tenant}/canary-5xx`), us: alarmArn(`${tenant}/us-east-1-5xx`) });

/** A CloudWatch alarm state change, as EventBridge delivers it (POST /dev/events puts it on the local bus). */
export const alarmChange = (alarm: string, value: 'ALARM' | 'OK', reason: string, at = new Date().toISOString()) => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  account: '000000000000',
  region: 'us-east-1',
  time: at,
  resources: [alarm],
  detail: { alarmName: alarm.split(':alarm:')[1], state: { value, reason, timestamp: at }, previousState: { value: value === 'ALARM' ? 'OK' : 'ALARM' } },
});

/**
 * The production targets: a canary (wave 1), a region (wave 2, baked and guarded), a cell (wave 3). With
 * `callback`, the canary is confirmed by a callback (POST /promotions/{id}/targets/canary/confirm) before its wave goes on;
 * one never confirmed rolls back after 30 s (the least the API takes) (a wall-clock deadline: within the run's settle bound).
 */
export const PRODUCTION_TARGETS = (tenant: string, callback = false, fleet = false) => {
  const a = tenantAlarms(tenant);
  return [
    { name: 'canary', wave: 1, monitors: [a.canary], ...(callback ? { confirm: { mode: 'callback', timeoutSeconds: 30 } } : {}) },
    { name: 'us-east-1', wave: 2, monitors: [a.us] },
    { name: 'cell-1', wave: 3, ...(fleet ? { confirm: FLEET } : {}) },
  ];
};

/**
 * A fleet-confirmed cell (wave 3): confirmed once both of its instances read the release (polled each second), rolled
 * back when they have not 10 s after it changed (a short timeout the API takes: within the run's settle bound).
 */
export const FLEET = { mode: 'fleet', minInstances: 2, intervalSeconds: 1, timeoutSeconds: 10 } as const;
/** the cell's instances (each reads its configuration with the cell's app key, saying who it is) */
export const FLEET_INSTANCES = ['i-1', 'i-2'] as const;

/** One tenant's plan: its name, whether it is strict, its own seed, the kinds it runs in order. */
export interface TenantPlan {
  tenant: string;
  strict: boolean;
  seed: number;
  kinds: Kind[];
}

/**
 * The tenants' plans, drawn up front from the seed (the interleaving of tenants still varies): `promotions` in all,
 * counted by COST. Every kind once (where a tenant allows it) before any at random, so a small run still sees each:
 * a tenant that can take none of the kinds not yet seen (they need a strict tenant, or the other git mode) leaves
 * them to the next tenant rather than spend the budget on repeats.
 */
export function planTenants(seed: number, promotions: number, kinds: readonly Kind[], perTenant = 6, next = rng(seed)): TenantPlan[] {
  const plans: TenantPlan[] = [];
  const unseen = new Set<Kind>(kinds);
  let budget = promotions;
  let tenantNo = 0;
  while (budget > 0) {
    const strict = tenantNo % 2 === 1;
    const tenant = `chaos-${seed.toString(36)}-${tenantNo++}`;
    const strictOnly = (k: Kind) => strict || (k !== 'approval-race' && k !== 'deadline-race');
    const mine: Kind[] = [];
    let n = 0;
    // Staging has one git target: a tenant's staging commits (git-commit) or opens pull requests (git-pr), not both.
    while (n < perTenant && budget > 0) {
      const allowed = kinds.filter(
        (k) => strictOnly(k) && !(k === 'git-pr' && mine.includes('git-commit')) && !(k === 'git-commit' && mine.includes('git-pr')),
      );
      const fresh = [...unseen].filter((k) => allowed.includes(k));
      if (!fresh.length && unseen.size && mine.length) break;
      const k = fresh.length ? fresh[Math.floor(next() * fresh.length)]! : allowed[Math.floor(next() * allowed.length)]!;
      unseen.delete(k);
      const cost = COST[k];
      mine.push(k);
      n += cost;
      budget -= cost;
    }
    plans.push({ tenant, strict, seed: Math.floor(next() * 2 ** 31), kinds: mine });
  }
  return plans;
}

export async function runWorkload(opts: WorkloadOptions): Promise<WorkloadResult> {
  const { stack } = opts;
  const client = new ChaosClient(stack.gateway.url);
  const next = rng(opts.seed);
  const kinds = opts.kinds ?? (opts.effects ? KINDS : KINDS.filter((k) => !EFFECT_KINDS.includes(k)));
  if (!opts.effects && kinds.some((k) => EFFECT_KINDS.includes(k)))
    throw new Error(`kinds ${kinds.filter((k) => EFFECT_KINDS.includes(k)).join(', ')} need the effect receivers (chaos/effects.ts)`);
  const perTenant = opts.perTenant ?? 6;
  const waitMs = opts.waitMs ?? 90_000;
  const log = opts.log ?? (() => {});
  const promotions: RequestedPromotion[] = [];
  const tenants: string[] = [];
  const users = new Map<string, Users>();

  const plans = planTenants(opts.seed, opts.promotions, kinds, perTenant, next);

  const runTenant = async (plan: (typeof plans)[number]) => {
    const { tenant, strict } = plan;
    tenants.push(tenant);
    const u = await usersOf(stack, tenant);
    users.set(tenant, u);
    const r = rng(plan.seed);
    const call = (
      token: string | undefined,
      method: string,
      path: string,
      body?: unknown,
      meta?: { promotionId?: string; note?: string; headers?: Record<string, string> },
    ) => client.call(tenant, token, method, path, body, meta);
    /** the API as the effect receivers' setup calls it (through the same client, into the same history) */
    const api: Api = { url: stack.gateway.url, call: (method, path, o = {}) => client.call(tenant, o.token, method, path, o.body) };
    /** the tenant's effect receivers (set up once, when the run has them) */
    let fx: TenantEffects | undefined;
    const fx0 = () => (opts.effects ? (fx ??= opts.effects.setup(tenant, api, u.admin)) : undefined);
    const must = async (token: string, method: string, path: string, body: unknown, ok: number[]) => {
      const from = client.history.length;
      const a = await call(token, method, path, body);
      if (ok.includes(a.status)) return a;
      const tries = client.history.slice(from).filter((h) => h.tenant === tenant && h.path === path);
      // Sent again under its Idempotency-Key after the API answered "send it again", and refused as already made:
      // the first try's write was kept though its key was freed (a replay was promised). The setup goes on (what it
      // asked for exists); the log says so, with the tries, for the report.
      if (a.status === 409 && a.body?.error?.code === 'ALREADY_EXISTS' && tries.slice(0, -1).some((h) => h.status === 503 || h.status === 0)) {
        log(
          `IDEMPOTENCY ${tenant}: ${method} ${path} answered 409 ALREADY_EXISTS on a retry under the same Idempotency-Key: ${tries.map((h) => `${h.at} ${h.status} ${h.note ?? ''}`).join(' | ')}`,
        );
        return a;
      }
      throw new Error(
        `${tenant}: ${method} ${path}: ${a.status} ${JSON.stringify(a.body)} (tries: ${tries.map((h) => `${h.status} ${h.note ?? ''}`).join(' | ')})`,
      );
    };
    // The line.
    await must(u.admin, 'POST', '/api/v1/environments', { name: 'dev', position: 0 }, [201]);
    await must(u.admin, 'POST', '/api/v1/environments', { name: 'staging', position: 1 }, [201]);
    // Production's analyses (a tenant whose plan measures, or guards wave 1) read the tenant host's metric source:
    // their templates come first. Every production promotion of such a tenant is measured (healthy unless a kind says).
    const analysing = plan.kinds.includes('analysis-pass') || plan.kinds.includes('analysis-fail');
    const guarded = plan.kinds.includes('guarded-wave');
    if (analysing) await fx0()?.analysisTemplate(ANALYSIS.template, ANALYSIS.count);
    if (guarded) await fx0()?.analysisTemplate(GUARD.template, GUARD.count);
    await must(
      u.admin,
      'POST',
      '/api/v1/environments',
      {
        name: 'production',
        position: 2,
        // An analysis measures through the bake: 3 s holds its two measurements.
        bakeSeconds: analysing ? 3 : 1,
        targets: PRODUCTION_TARGETS(tenant, plan.kinds.includes('callback-confirm'), plan.kinds.includes('fleet-confirm')),
        rollout: {
          maxParallel: 2,
          waves: [
            ...(guarded
              ? [
                  {
                    wave: 1,
                    bakeSeconds: GUARD.bakeSeconds,
                    compare: { template: GUARD.template, minSamples: GUARD.minSamples, maxRegression: GUARD.maxRegression },
                  },
                ]
              : []),
            { wave: 2, bakeSeconds: analysing ? 3 : 1 },
          ],
        },
        ...(analysing ? { analysis: [{ template: ANALYSIS.template }] } : {}),
        // A soaking tenant: a release soaks in staging before it may go to production.
        ...(plan.kinds.includes('soak') ? { soakSeconds: SOAK_SECONDS } : {}),
      },
      [201],
    );
    if (strict)
      await must(
        u.admin,
        'POST',
        '/api/v1/promotions/rules',
        {
          name: 'staging needs one',
          sourceEnvironment: 'dev',
          targetEnvironment: 'staging',
          requiresApproval: true,
          requiredApprovers: 1,
          approvalExpirySeconds: APPROVAL_EXPIRY_SECONDS,
        },
        [201],
      );
    // The outside effects: every promotion event to the webhook receiver, notifications to the outbox, dev publishing
    // into the source registry and staging syncing into the target one, and staging's git target as the plan needs it.
    if (opts.effects) {
      fx ??= opts.effects.setup(tenant, api, u.admin);
      await fx.webhooks();
      await fx.notifications();
      await fx.registries({ dev: 'source', staging: 'target' });
      if (plan.kinds.includes('git-pr')) await fx.gitTarget('staging', 'pull-request');
      else if (plan.kinds.includes('git-commit')) await fx.gitTarget('staging', 'commit');
      // A change board's webhook gate on staging (it answers pass until a webhook-gate kind says otherwise).
      if (plan.kinds.includes('webhook-gate')) await fx.webhookGate('staging');
    }
    // The fleet cell's app key: its instances read with it (a read counts only for the target the key is bound to).
    // Its secret is shown once: a create whose answer was lost (refused on its retry as already made) leaves no key
    // to use, so the admin makes another under a new name.
    let fleetKey: string | undefined;
    for (let n = 1; plan.kinds.includes('fleet-confirm') && !fleetKey && n <= 3; n++) {
      const k = await call(u.admin, 'POST', '/api/v1/app-keys', { name: `cell-1-app-${n}`, environment: 'production', target: 'cell-1' });
      if (k.status === 201 && typeof k.body?.key === 'string') fleetKey = k.body.key;
    }
    if (plan.kinds.includes('fleet-confirm') && !fleetKey) throw new Error(`${tenant}: no app key for the fleet cell`);
    /** `instances` of the fleet cell read production's configuration, as running apps poll it */
    const instancesRead = async (instances: readonly string[], promotionId: string) => {
      for (const instance of instances)
        await call(undefined, 'GET', '/api/v1/environments/production/effective', undefined, {
          promotionId,
          note: `instance ${instance} reads`,
          headers: { 'x-api-key': fleetKey!, 'stageline-instance': instance },
        });
    };
    let key = 0;
    /** the staging promotions that completed, newest last (rollbacks pick one) */
    const completedStaging: string[] = [];

    const record = (id: string, kind: Kind, environment: string, extra: Partial<RequestedPromotion> = {}) => {
      const p: RequestedPromotion = { tenant, id, kind, environment, requestedAt: new Date().toISOString(), ...extra };
      promotions.push(p);
      return p;
    };
    const read = async (id: string, last?: string) => (await client.poll(tenant, u.viewer, `/api/v1/promotions/${id}`, id, last)).body;

    /**
     * Drives a promotion to its end as a team does: approves when asked (unless `approve` is false), cancels one
     * whose gates failed, executes one approved for a manual start; `during` runs once with each status read.
     */
    const drive = async (
      p: RequestedPromotion,
      o: {
        approve?: boolean;
        during?: (d: any) => Promise<void>;
        confirm?: (target: string) => Promise<boolean>;
        /** the fleet cell's instances that read the release (default: all of them) */
        instances?: readonly string[];
      } = {},
    ) => {
      const end = Date.now() + waitMs;
      let last: string | undefined;
      let approved = false;
      let approvals = 0;
      let resumedHalt: string | undefined;
      const confirmed = new Set<string>();
      for (;;) {
        const d = await read(p.id, last);
        last = d?.status;
        p.lastStatus = last;
        if (o.during && d) await o.during(d);
        // A target waiting for its callback: the deploy system confirms it once it runs (once per target).
        for (const x of d?.rollout?.waves?.flatMap((w: any) => w.targets ?? []) ?? []) {
          if (x.state !== 'CONFIRMING' || confirmed.has(x.name)) continue;
          // A fleet target: its instances read the release (each poll, while it confirms); nothing to send.
          if (x.confirmation?.mode === 'fleet') {
            await instancesRead(o.instances ?? FLEET_INSTANCES, p.id);
            continue;
          }
          confirmed.add(x.name);
          const ok = o.confirm ? await o.confirm(x.name) : await confirmTarget(p.id, x.name);
          // Not taken (an error, or no answer): the deploy system sends it again at the next read.
          if (!ok) confirmed.delete(x.name);
        }
        // Halted by Stageline because an analysis was inconclusive (its metric source did not answer: an outbound
        // fault): the team looks, finds the source answering again, and resumes (once per halt).
        const halted = d?.rollout?.halted;
        if (d?.status === 'EXECUTING' && halted?.at && halted.at !== resumedHalt && /analys/i.test(String(halted.reason ?? ''))) {
          const a = await call(
            u.deployer,
            'POST',
            `/api/v1/promotions/${p.id}/resume`,
            {},
            { promotionId: p.id, note: 'resume after an inconclusive analysis' },
          );
          // Not taken (no answer, or the API failed): resumed again at the next read.
          if (a.status > 0 && a.status < 500) resumedHalt = halted.at;
        }
        // Waiting for its pull request: a reviewer merges it.
        if (d?.waitingFor === 'merge' && fx) await fx.mergePulls();
        if (last && (FINAL as readonly string[]).includes(last)) return d;
        // Approved once; an approval that was not taken (no answer, or the API failed: a crash under it) is given
        // again while the promotion still waits, as an approver clicks again (a few times at most).
        if (last === 'AWAITING_APPROVAL' && o.approve !== false && !approved && approvals < APPROVE_TRIES) {
          approvals++;
          const a = await call(u.approver, 'POST', `/api/v1/promotions/${p.id}/approve`, {}, { promotionId: p.id });
          approved = a.status > 0 && a.status < 500;
        }
        if (last === 'VALIDATION_FAILED')
          await call(u.deployer, 'DELETE', `/api/v1/promotions/${p.id}`, undefined, { promotionId: p.id, note: 'gates failed' });
        if (last === 'APPROVED' && d.trigger === 'manual') await call(u.deployer, 'POST', `/api/v1/promotions/${p.id}/execute`, {}, { promotionId: p.id });
        if (Date.now() > end) {
          log(`${tenant} ${p.id} (${p.kind}) still ${last} after ${waitMs} ms`);
          return d;
        }
        await sleep(150);
      }
    };

    const request = async (kind: Kind, source: string, target: string) => {
      const from = client.history.length;
      const path = '/api/v1/promotions';
      const a = await call(u.deployer, 'POST', path, { sourceEnvironment: source, targetEnvironment: target }, { note: kind });
      // A soaking tenant's production: the checker holds it to its soak (soak-respected).
      const soak = target === 'production' && plan.kinds.includes('soak') ? { soakSeconds: SOAK_SECONDS } : {};
      if (a.status === 201) return record(a.body.id, kind, target, soak);
      // Its first try made it and the answer was lost (the stack crashed under it, or answered "send it again"): sent
      // again under the same key once that try's claim lapsed, it is refused as already on its way, and the answer
      // names it. The team takes that one, as a person reading the error would (never left waiting unseen).
      const tries = client.history.slice(from).filter((h) => h.tenant === tenant && h.method === 'POST' && h.path === path);
      const twin = a.body?.error?.promotionId;
      if (
        a.status === 409 &&
        a.body?.error?.code === 'ALREADY_EXISTS' &&
        typeof twin === 'string' &&
        tries.slice(0, -1).some((h) => h.status === 0 || h.status === 503)
      ) {
        log(
          `IDEMPOTENCY ${tenant}: POST ${path} answered 409 ALREADY_EXISTS (${twin}) on a retry under the same Idempotency-Key; taken as the request's promotion`,
        );
        return record(twin, kind, target, soak);
      }
      return null;
    };
    const toStaging = async (kind: Kind) => {
      await call(u.deployer, 'POST', '/api/v1/environments/dev/configs', { key: `k${++key}`, value: `v${key}-${Math.floor(r() * 1e6)}` });
      return request(kind, 'dev', 'staging');
    };
    /** dev → staging to its end; a team tries again (up to three times) when it did not complete. */
    const staged = async (kind: Kind) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const p = await toStaging(kind === 'config-staging' ? kind : 'config-staging');
        if (!p) continue;
        const d = await drive(p);
        if (d?.status === 'COMPLETED') {
          completedStaging.push(p.id);
          return p;
        }
      }
      return null;
    };
    const alarm = async (arn: string, value: 'ALARM' | 'OK', promotionId?: string) =>
      call(u.viewer, 'POST', '/dev/events', alarmChange(arn, value, value === 'ALARM' ? '5xx above 2%' : 'recovered'), {
        promotionId,
        note: `alarm ${value} ${arn.split(':alarm:')[1]}`,
      });
    /** A target's callback confirmation: whether the API took it or refused it for good (a 4xx: nothing to send again). */
    const confirmTarget = async (id: string, target: string, note?: string) => {
      const a = await call(u.deployer, 'POST', `/api/v1/promotions/${id}/targets/${encodeURIComponent(target)}/confirm`, {}, { promotionId: id, note });
      return a.status >= 200 && a.status < 500;
    };
    /**
     * Publishes `artifact` as a pipeline does: a publish that failed (the registry refused: a 422 naming its error; or
     * it failed for a moment: a 503 UNAVAILABLE, nothing published) is pushed and published again, as a new version (a
     * version is immutable). The version published, or null.
     */
    const publish = async (artifact: string, version: string) => {
      for (let attempt = 0; attempt < PUBLISH_TRIES; attempt++) {
        const v = attempt ? `${version}-r${attempt}` : version;
        try {
          await fx!.publish(artifact, v, u.deployer);
          return v;
        } catch (err) {
          log(`${tenant} publish ${artifact}@${v}: ${String(err)}`);
        }
      }
      return null;
    };
    const targetOf = (d: any, target: string) => d?.rollout?.waves?.flatMap((w: any) => w.targets ?? []).find((x: any) => x.name === target);
    const stateOf = (d: any, target: string) => targetOf(d, target)?.state;

    const requestedOf = (kind: Kind) => promotions.filter((p) => p.tenant === tenant && p.kind === kind).length;
    // A kind that requested no promotion (a publish or a set-up step the faults refused every time) is tried again by
    // the team, up to three times, so a small run still sees every kind; each miss is logged with its reason.
    for (const kind of plan.kinds)
      for (let attempt = 1; attempt <= 3; attempt++) {
        const before = requestedOf(kind);
        try {
          switch (kind) {
            case 'config-staging': {
              await staged(kind);
              break;
            }
            case 'analysis-pass':
            case 'analysis-fail':
            case 'guarded-wave': {
              // The metric source answers healthy values, but for the kind's seeded fault: one target over the failure
              // condition (analysis-fail), or the canary 30 % (or 1 %) worse than the targets not changed yet (guarded-wave).
              if (!(await staged('config-staging'))) break;
              const bad = kind === 'analysis-fail' ? (r() < 0.5 ? 'canary' : 'us-east-1') : kind === 'guarded-wave' ? 'canary' : undefined;
              const value = kind === 'analysis-fail' ? ANALYSIS.failing : 100 * (1 + (r() < 0.5 ? 0.3 : 0.01));
              if (bad) fx!.metric(bad, value);
              try {
                const p = await request(kind, 'staging', 'production');
                if (p) await drive(p);
              } finally {
                if (bad) fx!.metric(bad, 100);
              }
              break;
            }
            case 'fleet-confirm': {
              // Both instances read the release (the cell confirms), or one of them never does (it rolls back at its timeout).
              if (!(await staged('config-staging'))) break;
              const p = await request(kind, 'staging', 'production');
              if (!p) break;
              const instances = r() < 0.5 ? FLEET_INSTANCES : FLEET_INSTANCES.slice(0, 1);
              p.fleet = { readers: instances.length, minInstances: FLEET.minInstances };
              await drive(p, { instances });
              break;
            }
            case 'recurring': {
              // A calendar of its own (weekday mornings: it does not come by itself within the run), something new in dev,
              // then its occurrence, delivered once or twice at once; a delivery the handler failed is delivered again.
              const name = `train-${++key}`;
              const cal = { source: 'dev', target: 'staging', cron: '0 9 * * 1-5', timeZone: 'UTC' };
              await must(u.admin, 'PUT', `/api/v1/recurring-promotions/${name}`, cal, [200]);
              await call(u.deployer, 'POST', '/api/v1/environments/dev/configs', { key: `k${++key}`, value: `v${key}-${Math.floor(r() * 1e6)}` });
              const schedule = recurringScheduleName(tenant, name);
              const deliver = async () => {
                for (let attempt = 1; attempt <= 3; attempt++)
                  try {
                    return await stack.scheduler.fireNow(schedule);
                  } catch (err) {
                    log(`${tenant} ${name}: the occurrence's delivery failed (attempt ${attempt}): ${String(err)}`);
                  }
              };
              await Promise.all(r() < 0.5 ? [deliver()] : [deliver(), deliver()]);
              const runs = await call(u.viewer, 'GET', `/api/v1/recurring-promotions/${name}`);
              const ids = new Set<string>(
                ((runs.body?.lastRuns ?? []) as { outcome: string; promotionId?: string }[])
                  .filter((x) => x.outcome === 'promoted' && x.promotionId)
                  .map((x) => x.promotionId!),
              );
              for (const id of ids) {
                const d = await drive(record(id, kind, 'staging', { recurring: { name, occurrences: 1 } }));
                if (d?.status === 'COMPLETED') completedStaging.push(id);
              }
              // The calendar is retired: nothing of it fires later.
              await call(u.admin, 'DELETE', `/api/v1/recurring-promotions/${name}`);
              break;
            }
            case 'webhook-gate': {
              fx!.gate(r() < 0.5 ? 'PASS' : 'FAIL');
              try {
                const p = await toStaging(kind);
                if (!p) break;
                const d = await drive(p);
                if (d?.status === 'COMPLETED') completedStaging.push(p.id);
              } finally {
                fx!.gate('PASS');
              }
              break;
            }
            case 'stop-race': {
              // A region whose alarm is flaky: the same release to production up to STOP_RACES times, each stopped by
              // the region's alarm at the end of its bake. When the region (wave 2) bakes, just before its bake ends,
              // the workload reads the promotion every 10 ms and the alarm fires the moment wave 2 is done (its bake
              // over, wave 3 not yet begun), or (one time in two) from 150 ms before its end to 50 ms after: the decision
              // to stop meets the flow finishing wave 2 and starting wave 3 (this round's wave-3 race).
              const a = tenantAlarms(tenant);
              for (let round = 0; round < STOP_RACES; round++) {
                const p =
                  (await request(kind, 'staging', 'production')) ?? ((await staged('config-staging')) && (await request(kind, 'staging', 'production')));
                if (!p) break;
                const atDone = r() < 1 / 2;
                const offset = -150 + r() * 200;
                let fired = false;
                await drive(p, {
                  during: async (d) => {
                    const t = targetOf(d, 'us-east-1');
                    if (fired || t?.state !== 'BAKING') return;
                    fired = true;
                    const until = Date.parse(t.bake?.until ?? '') || Date.now() + 1000;
                    if (atDone) {
                      await sleep(Math.max(0, until - 30 - Date.now()));
                      const end = Date.now() + 3000;
                      for (let x = d; Date.now() < end; await sleep(10)) {
                        x = await read(p.id, x?.status);
                        if (x?.status !== 'EXECUTING' || targetOf(x, 'us-east-1')?.state !== 'BAKING') break;
                      }
                    } else await sleep(Math.max(0, until + offset - Date.now()));
                    await alarm(a.us, 'ALARM', p.id);
                  },
                });
                if (fired) await alarm(a.us, 'OK', p.id);
              }
              break;
            }
            case 'config-production':
            case 'soak':
            case 'alarm-rollback':
            case 'alarm-after':
            case 'halt-resume': {
              if (!(await staged('config-staging'))) break;
              const p = await request(kind, 'staging', 'production');
              if (!p) break;
              const a = tenantAlarms(tenant);
              if (kind === 'alarm-rollback') {
                // The alarm of the canary or of the region, once that target bakes (or at a random moment when it never does).
                const which = r() < 0.5 ? 'canary' : 'us-east-1';
                const arn = which === 'canary' ? a.canary : a.us;
                const giveUp = Date.now() + 20_000 * (0.2 + r());
                let fired = false;
                await drive(p, {
                  during: async (d) => {
                    if (fired || !(stateOf(d, which) === 'BAKING' || Date.now() > giveUp)) return;
                    fired = true;
                    await alarm(arn, 'ALARM', p.id);
                  },
                });
                if (fired) await alarm(arn, 'OK', p.id);
              } else if (kind === 'halt-resume') {
                const haltAt = Date.now() + r() * 3000;
                const resumeAfter = r() * 1500;
                let halted = false;
                let resumed = false;
                let haltedAt = 0;
                await drive(p, {
                  during: async (d) => {
                    if (d.status !== 'EXECUTING') return;
                    if (!halted && Date.now() >= haltAt) {
                      halted = true;
                      haltedAt = Date.now();
                      await call(u.deployer, 'POST', `/api/v1/promotions/${p.id}/halt`, { reason: 'chaos: watching' }, { promotionId: p.id });
                    } else if (halted && !resumed && Date.now() >= haltedAt + resumeAfter) {
                      resumed = true;
                      await call(u.deployer, 'POST', `/api/v1/promotions/${p.id}/resume`, {}, { promotionId: p.id });
                    }
                  },
                });
              } else {
                const d = await drive(p);
                if (kind === 'alarm-after' && d?.status === 'COMPLETED') {
                  await alarm(a.canary, 'ALARM', p.id);
                  await sleep(1000);
                  await read(p.id);
                  await alarm(a.canary, 'OK', p.id);
                }
              }
              break;
            }
            case 'cancel': {
              const production = r() < 0.5 && (await staged('config-staging'));
              const p = production ? await request(kind, 'staging', 'production') : await toStaging(kind);
              if (!p) break;
              const at = Date.now() + r() * 2500;
              let sent = false;
              await drive(p, {
                during: async () => {
                  if (sent || Date.now() < at) return;
                  sent = true;
                  await call(u.deployer, 'DELETE', `/api/v1/promotions/${p.id}`, undefined, { promotionId: p.id, note: 'cancel' });
                },
              });
              break;
            }
            case 'approval-race':
            case 'deadline-race': {
              const p = await toStaging(kind);
              if (!p) break;
              const end = Date.now() + waitMs;
              let d = await read(p.id);
              while (d && !['AWAITING_APPROVAL', ...FINAL, 'VALIDATION_FAILED'].includes(d.status) && Date.now() < end) {
                await sleep(100);
                d = await read(p.id, d.status);
              }
              if (d?.status === 'AWAITING_APPROVAL') {
                const approve = (token: string) => call(token, 'POST', `/api/v1/promotions/${p.id}/approve`, {}, { promotionId: p.id });
                if (kind === 'approval-race') {
                  const both = r() < 0.5;
                  await Promise.all([
                    approve(u.approver),
                    both
                      ? approve(u.approver2)
                      : call(u.approver2, 'POST', `/api/v1/promotions/${p.id}/reject`, { reason: 'chaos: not now' }, { promotionId: p.id }),
                  ]);
                } else {
                  // Around the deadline: a second before it to a second after it.
                  await sleep((APPROVAL_EXPIRY_SECONDS - 1 + r() * 2) * 1000);
                  await approve(u.approver);
                }
              }
              const ended = await drive(p, { approve: false });
              // Left waiting (both answers refused, the deadline not yet seen): a team cancels it.
              if (ended?.status === 'AWAITING_APPROVAL') await call(u.deployer, 'DELETE', `/api/v1/promotions/${p.id}`, undefined, { promotionId: p.id });
              if (ended?.status === 'COMPLETED') completedStaging.push(p.id);
              break;
            }
            case 'rollback-promotion': {
              // A team reports an earlier release broken: its rollback puts back that promotion's own change and marks
              // only it (last round's defect marked the newest, unrelated one ROLLED_BACK); then, one time in two, the
              // newest is rolled back too.
              // The two newest staging promotions still COMPLETED (another kind may have rolled one back since).
              const completed = async () => {
                const out: string[] = [];
                for (const id of [...completedStaging].reverse()) {
                  if ((await read(id))?.status === 'COMPLETED') out.push(id);
                  if (out.length === 2) break;
                }
                return out;
              };
              let latest = await completed();
              for (let more = 0; latest.length < 2 && more < 3; more++) if (await staged('config-staging')) latest = await completed();
              const targets = [latest[1], ...(r() < 0.5 ? [latest[0]] : [])].filter((x): x is string => !!x);
              for (const of of targets) {
                const a = await call(u.deployer, 'POST', `/api/v1/promotions/${of}/rollback`, { reason: 'chaos: reports broken' }, { promotionId: of });
                if (a.status !== 200 || !a.body?.promotion?.id) {
                  log(`${tenant} rollback of ${of}: answered ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
                  continue;
                }
                const p = record(a.body.promotion.id, kind, 'staging', { rollbackOf: of });
                const d = await drive(p);
                if (d?.status === 'COMPLETED') completedStaging.splice(completedStaging.indexOf(of), 1);
              }
              break;
            }
            case 'flag-staging': {
              const flag = await call(u.deployer, 'POST', '/api/v1/environments/dev/flags', { key: `f${++key}`, value: r() < 0.5 });
              if (flag.status !== 201 || typeof flag.body?.id !== 'string') break;
              const a = await call(
                u.deployer,
                'POST',
                '/api/v1/config/promotions',
                {
                  autoStart: true,
                  sourceEnvironment: 'dev',
                  targetEnvironment: 'staging',
                  promotionType: 'SELECTIVE',
                  flagIds: [flag.body.id],
                  notes: 'chaos: one flag',
                },
                { note: kind },
              );
              if (a.status !== 201 || typeof a.body?.id !== 'string') break;
              const d = await drive(record(a.body.id, kind, 'staging'));
              if (d?.status === 'COMPLETED') completedStaging.push(a.body.id);
              break;
            }
            case 'git-commit':
            case 'git-pr':
            case 'artifact': {
              // A new version of the tenant's app published and promoted to staging: its tag moves in staging's
              // registry, and a staging with a git target (the git kinds: commit mode, or a pull request the team
              // merges while the promotion waits) gets the version committed (only an artifact's or a bundle's
              // release has a value a git target holds: domain/promotion/deliver/git-delivery.ts).
              const artifact = `${tenant}-app`;
              const version = await publish(artifact, `v1.0.${++key}`);
              if (!version) break;
              const a = await call(
                u.deployer,
                'POST',
                '/api/v1/promotions',
                { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact, version },
                { note: kind },
              );
              if (a.status !== 201) break;
              const d = await drive(record(a.body.id, kind, 'staging'));
              if (d?.status === 'COMPLETED') completedStaging.push(a.body.id);
              break;
            }
            case 'bundle': {
              const n = ++key;
              const members: { name: string; version: string }[] = [];
              for (const name of [`${tenant}-api`, `${tenant}-worker`]) {
                const version = await publish(name, `v2.0.${n}`);
                if (version) members.push({ name, version });
              }
              if (members.length < 2) break;
              const b = await call(u.deployer, 'POST', '/api/v1/bundles', { name: `shop-${n}`, members }, { note: kind });
              if (b.status >= 300 || typeof b.body?.digest !== 'string') break;
              const a = await call(
                u.deployer,
                'POST',
                '/api/v1/promotions',
                { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: `shop-${n}`, bundleDigest: b.body.digest },
                { note: kind },
              );
              if (a.status !== 201) {
                log(`${tenant} bundle shop-${n}: promotion answered ${a.status} ${JSON.stringify(a.body).slice(0, 400)}`);
                break;
              }
              const d = await drive(record(a.body.id, kind, 'staging'));
              if (d?.status === 'COMPLETED') completedStaging.push(a.body.id);
              break;
            }
            case 'callback-confirm': {
              // This tenant's canary confirms by callback: once, twice at once (the second is a no-op or refused), or
              // at the moment its alarm fires (the stop decision and the confirmation race).
              if (!(await staged('config-staging'))) break;
              const p = await request(kind, 'staging', 'production');
              if (!p) break;
              const how = r();
              const arn = tenantAlarms(tenant).canary;
              let alarmed = false;
              await drive(p, {
                confirm: async (target) => {
                  if (how < 0.4) return confirmTarget(p.id, target, 'confirm');
                  if (how < 0.7)
                    return (await Promise.all([confirmTarget(p.id, target, 'confirm'), confirmTarget(p.id, target, 'confirm again')])).some(Boolean);
                  if (alarmed) return confirmTarget(p.id, target, 'confirm');
                  alarmed = true;
                  return (await Promise.all([confirmTarget(p.id, target, 'confirm'), alarm(arn, 'ALARM', p.id)]))[0];
                },
              });
              if (alarmed) await alarm(arn, 'OK', p.id);
              break;
            }
            case 'env-rollback': {
              // Two snapshots of staging at least (one to go back to): promote until there are.
              let seqs: number[] = [];
              for (let tries = 0; tries < 3; tries++) {
                const snaps = await call(u.viewer, 'GET', '/api/v1/environments/staging/snapshots');
                seqs = ((snaps.body?.items ?? []) as { seq: number }[]).map((s) => s.seq).sort((x, y) => x - y);
                if (seqs.length >= 2) break;
                await staged('config-staging');
              }
              if (seqs.length < 2) break;
              // An earlier snapshot at random, then the others newest first: one that holds what staging holds now is
              // refused (nothing to roll back), as it should be.
              const earlier = seqs.slice(0, -1);
              const first = earlier[Math.floor(r() * earlier.length)]!;
              for (const seq of [first, ...earlier.filter((x) => x !== first).reverse()].slice(0, 4)) {
                const a = await call(u.deployer, 'POST', '/api/v1/environments/staging/rollback', { snapshot: seq, reason: 'chaos: back to a known state' });
                if (a.status !== 200 || !a.body?.promotion?.id) continue;
                await drive(record(a.body.promotion.id, kind, 'staging'));
                break;
              }
              break;
            }
          }
        } catch (err) {
          log(`${tenant} ${kind}: ${String(err)}`);
        }
        if (requestedOf(kind) > before) break;
        log(`${tenant} ${kind}: no promotion was requested (try ${attempt} of 3)`);
      }
  };

  // A pool of `concurrency` tenants at once.
  const queue = [...plans];
  const workers = Array.from({ length: Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY) }, async () => {
    for (let plan = queue.shift(); plan; plan = queue.shift())
      // A tenant whose set-up the API refused is logged and left (its kinds do not run); the others go on.
      await runTenant(plan).catch((err) => log(`${plan.tenant} set-up: ${String(err)}`));
  });
  await Promise.all(workers);
  return { tenants, promotions, history: client.history, client, users };
}

/** how many times an approver approves a promotion whose approval was not taken (no answer, or a 5xx) */
const APPROVE_TRIES = 3;

/** how many times the workload's pipeline publishes a version before it gives up (each publish is several registry calls, each may meet a fault) */
const PUBLISH_TRIES = 10;

/** How many production promotions the stop-race kind races (each a chance for the stop decision to meet wave 3's start). */
const STOP_RACES = 6;

/** How many promotions a kind requests (those into production first promote to staging). */
export const COST: Record<Kind, number> = {
  'config-staging': 1,
  'config-production': 2,
  'alarm-rollback': 2,
  'alarm-after': 2,
  'stop-race': 7,
  'halt-resume': 2,
  cancel: 2,
  'approval-race': 1,
  'deadline-race': 1,
  'rollback-promotion': 2,
  'env-rollback': 1,
  'flag-staging': 1,
  artifact: 1,
  bundle: 1,
  'git-commit': 1,
  'git-pr': 1,
  'callback-confirm': 2,
  'analysis-pass': 2,
  'analysis-fail': 2,
  'guarded-wave': 2,
  soak: 2,
  'webhook-gate': 1,
  'fleet-confirm': 2,
  recurring: 1,
};
