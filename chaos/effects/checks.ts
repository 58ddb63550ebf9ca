/**
 * The "effects once" checks of a chaos run, as pure functions over what the receivers recorded (chaos/effects.ts
 * records; these judge). Each knows the model (what one effect of a promotion is, as a user would see it in git, a
 * registry, a webhook receiver, an inbox), not the implementation; each returns the violations it finds.
 */

import type { Count, HistoryEntry, Violation } from '../types.ts';

export type { HistoryEntry, Violation };

/** The history lines of one promotion (or of a tenant, when no promotion is known), as the checker prints them. */
export function historyOf(history: readonly HistoryEntry[], tenant: string, promotionId?: string): string[] {
  return history
    .filter((h) => h.tenant === tenant && (!promotionId || h.promotionId === promotionId || h.path.includes(promotionId)))
    .map((h) => `${h.at} ${h.method} ${h.path} -> ${h.status}${h.note ? ` (${h.note})` : ''}`);
}

// ---------------------------------------------------------------- git

/** A commit as git shows it: its id and full message. */
export interface SeenCommit {
  sha: string;
  message: string;
}

/** The trailers of a commit message (`Key: value` lines), the last value of each key. */
export function trailersOf(message: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of message.split('\n')) {
    const m = /^(Stageline-[A-Za-z-]+):\s*(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * git-once, commit mode: in one repository and branch set, at most one commit applies a promotion to a target
 * (`Stageline-Promotion` names the promotion, `Stageline-Target` the target of a wave, none: the environment's
 * own file), and at most one reverts it there (`Stageline-Rolled-Back`: a rollback's revert is another change).
 */
export function gitCommitViolations(
  repos: readonly { tenant: string; repository: string; commits: readonly SeenCommit[] }[],
  history: readonly HistoryEntry[],
): Violation[] {
  const out: Violation[] = [];
  for (const r of repos) {
    const by = new Map<string, { promotion: string; target: string; change: string; shas: string[] }>();
    for (const c of r.commits) {
      const t = trailersOf(c.message);
      const promotion = t['Stageline-Promotion'];
      if (!promotion) continue;
      const target = t['Stageline-Target'] ?? '(environment)';
      const change = t['Stageline-Rolled-Back'] ? 'revert' : 'apply';
      const key = `${promotion}\n${target}\n${change}`;
      const e = by.get(key) ?? { promotion, target, change, shas: [] };
      e.shas.push(c.sha);
      by.set(key, e);
    }
    for (const e of by.values()) {
      if (e.shas.length < 2) continue;
      out.push({
        invariant: 'git-once',
        tenant: r.tenant,
        promotionId: e.promotion,
        detail: `${e.shas.length} commits ${e.change === 'revert' ? 'revert' : 'apply'} promotion ${e.promotion} on target ${e.target} in ${r.repository}: ${e.shas.join(', ')}`,
        history: historyOf(history, r.tenant, e.promotion),
      });
    }
  }
  return out;
}

/** A pull request as the host lists it. */
export interface SeenPull {
  number: number;
  head: string;
  base: string;
  author?: string;
  state: string;
  merged?: boolean;
}

/**
 * git-once, pull-request mode: at most one pull request Stageline opened per (promotion, base, change): its head
 * branch is `stageline/<promotion>` (a rollback's revert: `stageline/<promotion>-revert`). Pull requests others
 * opened (an author other than Stageline's) are not Stageline's effects.
 */
export function pullRequestViolations(
  repos: readonly { tenant: string; repository: string; pulls: readonly SeenPull[]; botAuthor?: string }[],
  history: readonly HistoryEntry[],
): Violation[] {
  const out: Violation[] = [];
  for (const r of repos) {
    const by = new Map<string, { promotion: string; change: string; base: string; numbers: number[] }>();
    for (const p of r.pulls) {
      if (p.author && p.author !== (r.botAuthor ?? 'stageline-bot')) continue;
      const m = /^stageline\/(.+?)(-revert)?$/.exec(p.head);
      if (!m) continue;
      const key = `${m[1]}\n${p.base}\n${m[2] ? 'revert' : 'apply'}`;
      const e = by.get(key) ?? { promotion: m[1]!, change: m[2] ? 'revert' : 'apply', base: p.base, numbers: [] };
      e.numbers.push(p.number);
      by.set(key, e);
    }
    for (const e of by.values()) {
      if (e.numbers.length < 2) continue;
      out.push({
        invariant: 'git-once',
        tenant: r.tenant,
        promotionId: e.promotion,
        detail: `${e.numbers.length} pull requests ${e.change === 'revert' ? 'revert' : 'apply'} promotion ${e.promotion} into ${e.base} of ${r.repository}: #${e.numbers.join(', #')}`,
        history: historyOf(history, r.tenant, e.promotion),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- registry

/** A manifest PUT a registry answered, in the order it answered them. */
export interface SeenManifestPut {
  tenant: string;
  registry: string;
  repository: string;
  /** a tag or a digest */
  reference: string;
  digest: string;
  at: string;
}

/** Tags that are content-addressed attachments (cosign's `sha256-<hex>.sig/.att/.sbom`, the referrers fallback `sha256-<hex>`), not a target's tag. */
const ATTACHMENT_TAG = /^sha256-[0-9a-f]{64}(\.[a-z]+)?$/;

/**
 * registry-once: a tag moves at most once per (promotion, target). The registry keeps no history of its tags, so the
 * receiver records every manifest PUT it answered; a tag PUT onto the digest the tag already holds (the last PUT of
 * that tag, in that registry and repository) is a second move of the same change: the sync reads the tag before it
 * writes and leaves a tag in place, so only a repeated effect writes it again. A move back (a rollback: A, B, A) is
 * another change and counts separately.
 */
/** An answer the fault plan lost after the other side acted (local/faults.ts `lost`): the sender may send it again. */
export interface LostAnswer {
  at: string;
  what: string;
}

/** Whether an answer of a request `matches` was lost between `from` and `to`: a second one then is a redelivery. */
const lostBetween = (lost: readonly LostAnswer[], from: string, to: string, matches: (what: string) => boolean) =>
  lost.some((l) => l.at >= from && l.at <= to && matches(l.what));

export function registryViolations(
  puts: readonly SeenManifestPut[],
  history: readonly HistoryEntry[],
  promotionOf: (p: SeenManifestPut) => string | undefined,
  lost: readonly LostAnswer[] = [],
): Violation[] {
  const out: Violation[] = [];
  const last = new Map<string, SeenManifestPut>();
  for (const p of puts) {
    if (p.reference.startsWith('sha256:') || ATTACHMENT_TAG.test(p.reference)) continue;
    const key = `${p.registry}\n${p.repository}\n${p.reference}`;
    const before = last.get(key);
    // The same PUT again after its answer was lost (the host wrote the tag, the client never heard): a redelivery.
    const resent = before && lostBetween(lost, before.at, p.at, (w) => w.startsWith('PUT ') && w.endsWith(`/v2/${p.repository}/manifests/${p.reference}`));
    if (before && before.digest === p.digest && !resent) {
      const promotionId = promotionOf(p);
      out.push({
        invariant: 'registry-once',
        tenant: p.tenant,
        ...(promotionId ? { promotionId } : {}),
        detail: `tag ${p.reference} of ${p.repository} in registry ${p.registry} was written twice onto ${p.digest} (at ${before.at} and ${p.at})${promotionId ? ` by promotion ${promotionId}` : ''}`,
        history: historyOf(history, p.tenant, promotionId),
      });
    }
    last.set(key, p);
  }
  return out;
}

// ---------------------------------------------------------------- webhooks

/** A delivery the webhook receiver got. */
export interface SeenWebhook {
  tenant: string;
  webhookId: string;
  type: string;
  eventId: string;
  promotionId?: string;
  verified: boolean;
  at: string;
  body: string;
}

/**
 * webhook-once: one webhook-id per event (event type, promotion, the event's own id): the same id again is a
 * redelivery, a second id is a second delivery of one event. Every delivery verifies (Standard Webhooks). And every
 * promotion event the stack published for a subscribed tenant reached the receiver at least once.
 */
export function webhookViolations(
  received: readonly SeenWebhook[],
  expected: readonly { tenant: string; type: string; eventId: string; promotionId?: string }[],
  history: readonly HistoryEntry[],
): Violation[] {
  const out: Violation[] = [];
  const ids = new Map<string, Set<string>>();
  for (const r of received) {
    if (!r.verified) {
      out.push({
        invariant: 'webhook-once',
        tenant: r.tenant,
        ...(r.promotionId ? { promotionId: r.promotionId } : {}),
        detail: `delivery ${r.webhookId} (${r.type}) does not verify with the subscription's secret`,
        history: historyOf(history, r.tenant, r.promotionId),
      });
      continue;
    }
    const key = `${r.tenant}\n${r.type}\n${r.promotionId ?? ''}\n${r.eventId}`;
    ids.set(key, (ids.get(key) ?? new Set()).add(r.webhookId));
  }
  for (const [key, set] of ids) {
    if (set.size < 2) continue;
    const [tenant, type, promotionId, eventId] = key.split('\n') as [string, string, string, string];
    out.push({
      invariant: 'webhook-once',
      tenant,
      ...(promotionId ? { promotionId } : {}),
      detail: `event ${eventId} (${type}${promotionId ? ` of ${promotionId}` : ''}) was delivered under ${set.size} webhook-ids: ${[...set].join(', ')}`,
      history: historyOf(history, tenant, promotionId || undefined),
    });
  }
  const got = new Set(received.filter((r) => r.verified).map((r) => `${r.tenant}\n${r.eventId}`));
  for (const e of expected) {
    if (got.has(`${e.tenant}\n${e.eventId}`)) continue;
    out.push({
      invariant: 'webhook-once',
      tenant: e.tenant,
      ...(e.promotionId ? { promotionId: e.promotionId } : {}),
      detail: `event ${e.eventId} (${e.type}${e.promotionId ? ` of ${e.promotionId}` : ''}) was published and never reached the receiver`,
      history: historyOf(history, e.tenant, e.promotionId),
    });
  }
  return out;
}

// ---------------------------------------------------------------- notifications

/** A notification the outbox caught: the channel, the recipient (an address, a Slack hook and channel), what it says. */
export interface SeenNotification {
  tenant: string;
  channel: 'email' | 'slack';
  recipient: string;
  title: string;
  promotionId?: string;
  at: string;
}

/**
 * notify-once: one notification per (event, channel, recipient). The notifier runs each delivery once per event id,
 * but what it sends carries no event id (an email, a Slack message): an event is told apart by its promotion and its
 * title (the kind: approval required, completed, rolled back...). Neither channel's contract lets a sender say "this
 * is a redelivery", so two equal ones are two notifications.
 */
export function notifyViolations(seen: readonly SeenNotification[], history: readonly HistoryEntry[], lost: readonly LostAnswer[] = []): Violation[] {
  const by = new Map<string, SeenNotification[]>();
  for (const n of seen) {
    const key = `${n.tenant}\n${n.channel}\n${n.recipient}\n${n.promotionId ?? ''}\n${n.title}`;
    by.set(key, [...(by.get(key) ?? []), n]);
  }
  const out: Violation[] = [];
  for (const all of by.values()) {
    // A Slack message posted again after the answer to the first post was lost (Slack showed it; the notifier never
    // heard): a redelivery the channel cannot tell apart, not a second notification. Email is never sent through a
    // host whose answer can be lost here, so every second email counts.
    const list = all.filter(
      (n, i) => i === 0 || n.channel !== 'slack' || !lostBetween(lost, all[i - 1]!.at, n.at, (w) => w.startsWith('POST ') && w.includes('/dev/slack/')),
    );
    if (list.length < 2) continue;
    const n = list[0]!;
    out.push({
      invariant: 'notify-once',
      tenant: n.tenant,
      ...(n.promotionId ? { promotionId: n.promotionId } : {}),
      detail: `${list.length} ${n.channel} notifications "${n.title}" to ${n.recipient} (at ${list.map((x) => x.at).join(', ')})`,
      history: historyOf(history, n.tenant, n.promotionId),
    });
  }
  return out;
}

// ---------------------------------------------------------------- webhook gates

/** One call of a tenant's webhook gate, as the gate receiver answered it. */
export interface SeenGateCall {
  tenant: string;
  promotionId?: string;
  verdict: 'PASS' | 'FAIL';
  at: string;
}

/**
 * gate-verdict, from the tenant host's side: what the gate receiver answered is what the promotion did. A promotion
 * the receiver answered FAIL every time it was asked neither passes its webhook gate nor executes (a fault on the way
 * may turn a PASS into a failed gate, never a FAIL into a pass); one whose webhook gate says PASS was answered PASS.
 */
export function gateViolations(
  calls: readonly SeenGateCall[],
  promotions: readonly { tenant: string; id: string; gate: { verdict: string } | null; executed: boolean }[],
  history: readonly HistoryEntry[],
  gate = 'webhook:change-board',
): Violation[] {
  const out: Violation[] = [];
  for (const p of promotions) {
    const mine = calls.filter((c) => c.tenant === p.tenant && c.promotionId === p.id);
    const add = (detail: string) =>
      out.push({ invariant: 'gate-verdict', tenant: p.tenant, promotionId: p.id, detail, history: historyOf(history, p.tenant, p.id) });
    const failedAll = mine.length > 0 && mine.every((c) => c.verdict === 'FAIL');
    const all = `all ${mine.length} call${mine.length === 1 ? '' : 's'}`;
    if (failedAll && p.gate?.verdict === 'PASS') add(`the gate receiver answered FAIL to ${all}, but its gate ${gate} says PASS`);
    else if (failedAll && p.executed) add(`the gate receiver answered FAIL to ${all}, but it executed`);
    else if (p.gate?.verdict === 'PASS' && !mine.some((c) => c.verdict === 'PASS'))
      add(`its gate ${gate} says PASS, but the gate receiver never answered PASS for it (${mine.length} calls)`);
  }
  return out;
}

// ---------------------------------------------------------------- all of them

/** A promotion event the stack published for a subscribed tenant (since it subscribed): its webhook must arrive. */
export interface ExpectedWebhook {
  tenant: string;
  type: string;
  eventId: string;
  promotionId?: string;
}

/** A promotion the gate receiver was asked about, as the table has it: its webhook gate's verdict and whether it ran. */
export interface GatedPromotion {
  tenant: string;
  id: string;
  gate: { verdict: string } | null;
  executed: boolean;
}

/**
 * What the effect checks read, as plain data (chaos/effects.ts `gather` reads it from the receivers; a history on
 * disk keeps it as effects.json, chaos/history.ts): every repository of a git target with its commits (every branch,
 * merges left out) and its pull requests, every manifest PUT the registries answered, every webhook delivery and the
 * events that should have been delivered, every call of a webhook gate and the promotions it was asked about, every
 * notification, the answers the fault plan lost after the other side acted, and the promotions the workload requested.
 */
export interface EffectInputs {
  repositories: { tenant: string; repository: string; mode: 'commit' | 'pull-request'; commits: SeenCommit[]; pulls: SeenPull[] }[];
  manifestPuts: SeenManifestPut[];
  webhooks: SeenWebhook[];
  expectedWebhooks: ExpectedWebhook[];
  gates: SeenGateCall[];
  gatedPromotions: GatedPromotion[];
  notifications: SeenNotification[];
  lost: LostAnswer[];
  promotions: { tenant: string; id: string; environment: string }[];
}

/** The promotion that moved a tag: the tenant's one promotion into the environment the tag names (latest-<env>[-<target>]). */
export const promotionOfPut =
  (promotions: EffectInputs['promotions']) =>
  (p: SeenManifestPut): string | undefined => {
    const candidates = promotions.filter(
      (x) => x.tenant === p.tenant && (p.reference === `latest-${x.environment}` || p.reference.startsWith(`latest-${x.environment}-`)),
    );
    return candidates.length === 1 ? candidates[0]!.id : undefined;
  };

/** The invariants of the effect checks (the checker's own are chaos/checker.ts INVARIANTS; gate-verdict is in both). */
export const EFFECT_INVARIANTS = ['git-once', 'registry-once', 'webhook-once', 'notify-once'] as const;

/**
 * Every effect check (git-once, registry-once, webhook-once, gate-verdict from the gate receiver's side, notify-once)
 * over what was gathered; `count` is told what each examined (commits and pull requests of a promotion, tag moves,
 * deliveries and the events published, gate calls, notifications).
 */
export function checkEffects(i: EffectInputs, history: readonly HistoryEntry[], count: Count = () => {}): Violation[] {
  for (const r of i.repositories) {
    count('git-once', 'commits', r.commits.filter((c) => trailersOf(c.message)['Stageline-Promotion']).length);
    count('git-once', 'pull requests', r.pulls.filter((p) => p.head.startsWith('stageline/') && (!p.author || p.author === 'stageline-bot')).length);
  }
  count('registry-once', 'tag moves', i.manifestPuts.filter((p) => !p.reference.startsWith('sha256:') && !ATTACHMENT_TAG.test(p.reference)).length);
  count('webhook-once', 'deliveries', i.webhooks.filter((w) => w.verified).length);
  count('webhook-once', 'events published', i.expectedWebhooks.length);
  count('gate-verdict', 'webhook gate calls', i.gates.length);
  count('notify-once', 'notifications', i.notifications.length);
  return [
    ...gitCommitViolations(i.repositories, history),
    ...pullRequestViolations(
      i.repositories.filter((r) => r.mode === 'pull-request'),
      history,
    ),
    ...registryViolations(i.manifestPuts, history, promotionOfPut(i.promotions), i.lost),
    ...webhookViolations(i.webhooks, i.expectedWebhooks, history),
    ...gateViolations(i.gates, i.gatedPromotions, history),
    ...notifyViolations(i.notifications, history, i.lost),
  ];
}
