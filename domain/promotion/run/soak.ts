import type { Deps } from '../../kernel/deps.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion, SoakHold } from '../../kernel/promotion-model.ts';
import { utcTime } from '../../kernel/display.ts';

/**
 * Soak: a release must have run in the promotion's source environment for a while, without an alarm
 * there since, before it is promoted on. The target environment asks for it (`soakSeconds`), a rule for
 * the pair may ask for its own (`soakSeconds` on the rule, carried by the promotion's policy); the
 * promotion takes both when its gates run, as it takes the target's bake time. The clock starts when the
 * release went live in the source (`liveSince`) and starts again at the last thing after that which says
 * the source is not healthy (`soakBlockers`). This file says how far a release has soaked; the hold that
 * makes an execution wait for it is soak-hold.ts.
 */

/** Something in the source environment that restarts a release's soak (an alarm of its monitors, …). */
export interface SoakBlocker {
  at: string;
  /** as people read it: "alarm acme/p99 (Threshold Crossed: …)" */
  what: string;
}

/** How far a promotion's release has soaked in its source environment. */
export interface SoakState {
  environment: string;
  seconds: number;
  from: 'environment' | 'rule';
  /** when the release went live in the source (null: it has not run there, as far as what is recorded says) */
  live: string | null;
  /** the last blocker after it went live, when there was one: the clock counts from it */
  blocker: SoakBlocker | null;
  /** when the clock started: the later of `live` and the blocker (null with `live`) */
  since: string | null;
  /** when the soak is done */
  until: Date;
  /** seconds soaked so far */
  done: number;
}

/** The soak a promotion asks for: its rule's (the policy's) over the target environment's, as its gates read them. */
export function soakAsked(p: Pick<Promotion, 'policy' | 'soakSeconds' | 'rollback'>): { seconds: number; from: 'environment' | 'rule' } | null {
  // A rollback puts back what ran before: it never waits for a soak.
  if (p.rollback) return null;
  const rule = p.policy.soakSeconds;
  const seconds = rule ?? p.soakSeconds ?? 0;
  return seconds > 0 ? { seconds, from: rule !== undefined && rule !== null ? 'rule' : 'environment' } : null;
}

/** The target's soak a promotion records when its gates run (only when there is one: the item stays small). */
export const soakOfTarget = (target: Pick<Environment, 'soakSeconds'> | null): { soakSeconds?: number } =>
  target?.soakSeconds ? { soakSeconds: target.soakSeconds } : {};

/**
 * When the release of `p` went live in its source environment: an artifact's pointer there (its deployment's
 * time) when it still runs that digest, else the newest deployment record of that digest there; a config
 * release's pinned source snapshot, made when the source's head moved to it.
 */
export async function liveSince(deps: Deps, p: Promotion): Promise<string | null> {
  const { tenant, sourceEnvironment: env, subject } = p;
  if (subject.type === 'config') return (await deps.store.getSnapshot(tenant, env, subject.sourceSnapshot.seq))?.createdAt ?? null;
  if (subject.type === 'bundle') {
    // A bundle is live once its last member is: the newest of their pointers, while the source runs every one.
    const ptrs = await Promise.all(subject.members.map((m) => deps.store.getPointer(tenant, env, m.name)));
    if (ptrs.some((x, i) => x?.digest !== subject.members[i]!.digest)) return null;
    return (
      ptrs
        .map((x) => x!.deployedAt ?? x!.promotedAt)
        .sort()
        .pop() ?? null
    );
  }
  const pointer = await deps.store.getPointer(tenant, env, subject.name);
  if (pointer?.digest === subject.digest) return pointer.deployedAt ?? pointer.promotedAt;
  const history = await deps.store.listDeployments(tenant, env, 50);
  const ran = history.items.filter((d) => d.digest === subject.digest && d.status !== 'FAILED' && d.status !== 'PENDING');
  return (
    ran
      .map((d) => d.deployedAt)
      .sort()
      .pop() ?? null
  );
}

/**
 * What restarts a soak in the source environment after `after`: the alarms of its monitors, as recorded. The
 * alarm-event handler (domain/promotion/rollout/alarms.ts) records one on the promotion it rolled back there
 * (`monitorAlarm`), else on the environment (`lastAlarm`). A failed analysis of the source environment belongs
 * here too: one more blocker at the time it failed.
 */
export async function soakBlockers(deps: Deps, source: Pick<Environment, 'tenant' | 'name' | 'lastAlarm'> | null, after: string): Promise<SoakBlocker[]> {
  if (!source) return [];
  const since = Date.parse(after);
  const rolledBack = await deps.store.listPromotions(source.tenant, { status: ['ROLLED_BACK'], target: source.name }, 20);
  const alarms = [source.lastAlarm ?? null, ...rolledBack.items.map((p) => p.monitorAlarm ?? null)];
  return alarms
    .filter((a): a is NonNullable<typeof a> => !!a && Date.parse(a.at) > since)
    .map((a) => ({ at: new Date(a.at).toISOString(), what: `alarm ${a.name}${a.reason ? ` (${a.reason})` : ''}` }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** How far `p`'s release has soaked at `now`, or null when it asks for no soak. */
export async function soakState(deps: Deps, p: Promotion, now: Date): Promise<SoakState | null> {
  const asked = soakAsked(p);
  if (!asked) return null;
  const [live, source] = await Promise.all([liveSince(deps, p), deps.store.getEnvironment(p.tenant, p.sourceEnvironment)]);
  const blocker = live ? ((await soakBlockers(deps, source, live)).pop() ?? null) : null;
  const since = blocker?.at ?? live;
  // Not run there at all (as far as what is recorded says): it has soaked nothing yet, and is looked at again after a full soak.
  const start = since ? Date.parse(since) : now.getTime();
  const until = new Date(start + asked.seconds * 1000);
  const done = Math.max(0, Math.min(asked.seconds, Math.floor((now.getTime() - start) / 1000)));
  return { environment: p.sourceEnvironment, ...asked, live, blocker, since, until, done };
}

/** A duration as people read it: "45 s", "45 min", "2 h 5 min", "3 d 4 h". */
export function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  const min = Math.floor(seconds / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** The hold of a release that has not soaked yet: "soaking in staging until 14:32 UTC: 45 min of 60 min done". */
export function soakHoldOf(s: SoakState): SoakHold {
  const at = s.until.toISOString();
  const clock = `${utcTime(s.until)}${s.seconds >= 86_400 ? ` on ${at.slice(0, 10)}` : ''}`;
  const why = !s.live ? `; the release has not run in ${s.environment} yet` : s.blocker ? `; restarted by ${s.blocker.what} at ${s.blocker.at}` : '';
  return {
    soak: { environment: s.environment, seconds: s.seconds, since: s.since, from: s.from },
    reason: `soaking in ${s.environment} until ${clock}: ${duration(s.done)} of ${duration(s.seconds)} done${why}`,
    until: at,
  };
}
