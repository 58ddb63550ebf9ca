import { createHash, randomBytes } from 'node:crypto';
import { awsName } from '../kernel/aws-names.ts';
import { inGroups, ROLES, type Principal, type Role } from '../access/auth.ts';
import { appliesIn, rightsIn, type Binding } from '../access/bindings.ts';
import { runOnce } from '../kernel/once.ts';
import type { Deps, With } from '../kernel/deps.ts';
import type { Delivery, ReviewLink } from './ports.ts';
import type { DirectoryUser } from '../access/ports.ts';
import type { EventType } from '../kernel/events.ts';
import type { Promotion } from '../kernel/promotion-model.ts';
import { approvalDeadline } from '../promotion/terms/deadlines.ts';
import { promotionDetail } from '../promotion/views.ts';
import { promotionEvent } from '../promotion/write.ts';
import { contentChoosers } from '../promotion/terms/policy.ts';
import { emailMessage } from './email.ts';
import { DEFAULT_NOTIFICATION_KINDS, type NotificationKind, type NotificationSettings } from './model.ts';
import { slackMessage } from './slack.ts';
import { teamsMessage } from './teams.ts';
import { listUpTo, type NotificationView } from './view.ts';

/** Which notification an event makes (none for the events only machines care about). */
export function kindOf(type: EventType | 'Approval Reminder', detail: Record<string, unknown>, p: Promotion | null): NotificationKind | null {
  switch (type) {
    case 'Approval Required':
      return 'approval-required';
    case 'Approval Reminder':
      return 'approval-reminder';
    case 'Promotion Approved':
      return 'approved';
    case 'Promotion Rejected':
      return 'rejected';
    case 'Promotion Expired':
      return 'expired';
    case 'Promotion Completed':
      return p?.rollback ? 'rolled-back' : 'completed';
    case 'Promotion Failed':
      return detail.status === 'VALIDATION_FAILED' ? 'gate-failed' : 'failed';
    case 'Promotion Rolled Back':
      return 'rolled-back';
    case 'Promotion Wave Started':
      return 'wave-started';
    case 'Promotion Wave Completed':
      return 'wave-completed';
    case 'Promotion Analysis Decided':
      return 'analysis-decided';
    case 'Break Glass Used':
      return 'break-glass';
    default:
      return null;
  }
}

/** Events the notifier subscribes to (the CDK rule and the local bus use this list). */
export const NOTIFY_ON = [
  'Approval Required',
  'Approval Reminder',
  'Promotion Approved',
  'Promotion Rejected',
  'Promotion Expired',
  'Promotion Completed',
  'Promotion Failed',
  'Promotion Rolled Back',
  'Promotion Wave Started',
  'Promotion Wave Completed',
  'Promotion Analysis Decided',
  'Break Glass Used',
] as const;

const TITLES: Record<NotificationKind, string> = {
  'approval-required': 'needs your approval',
  'approval-reminder': 'still needs your approval (the window closes soon)',
  approved: 'was approved',
  rejected: 'was rejected',
  expired: 'expired without enough approvals',
  completed: 'is live',
  failed: 'failed',
  'rolled-back': 'was rolled back',
  'gate-failed': 'was stopped by its gates',
  'break-glass': 'break-glass write',
  'wave-started': 'started a wave',
  'wave-completed': 'completed a wave',
  'analysis-decided': 'has an analysis answer',
};

/**
 * What follows "<release> → <environment>" in a promotion's title. A rollout's news names its wave and
 * targets: "started wave 2 of 3: us-east-1, eu-west-1", "completed wave 2 of 3 (eu-west-1, us-east-1)",
 * "was rolled back in wave 2: us-east-1, eu-west-1, canary put back" (the event's `wave` and `targets`).
 * Why a wave waited or waits (a start window, a halt) is the event's reason, shown as the notification's.
 */
export function promotionTitle(kind: NotificationKind, detail: Record<string, unknown>, p: Pick<Promotion, 'rollout'>): string {
  const targets = Array.isArray(detail.targets) ? detail.targets.map(String) : [];
  // Within a title's room (a Slack header holds 150 characters): many targets end in "+N more".
  const named = listUpTo(targets, 80);
  const wave = typeof detail.wave === 'number' ? detail.wave : undefined;
  const of = p.rollout?.waves.length ? ` of ${p.rollout.waves.length}` : '';
  if (kind === 'wave-started' && wave) return `started wave ${wave}${of}${targets.length ? `: ${named}` : ''}`;
  if (kind === 'wave-completed' && wave) return `completed wave ${wave}${of}${targets.length ? ` (${named})` : ''}`;
  if (kind === 'analysis-decided' && detail.analysis && typeof detail.analysis === 'object') {
    const a = detail.analysis as { template: string; phase: string };
    const verb = a.phase === 'Successful' ? 'passed' : a.phase === 'Inconclusive' ? 'was inconclusive' : 'failed';
    return `analysis ${a.template} ${verb}${typeof detail.target === 'string' ? ` on ${detail.target}` : ''}`;
  }
  if (kind === 'rolled-back' && targets.length) return `was rolled back${wave ? ` in wave ${wave}` : ''}: ${named} put back`;
  return TITLES[kind];
}

const WANTS_ACTION = new Set<NotificationKind>(['approval-required', 'approval-reminder']);

/** The settings that apply: the target environment's, else the tenant's. */
export async function settingsFor(deps: Deps, tenant: string, environment: string | undefined): Promise<NotificationSettings | null> {
  if (environment) {
    const own = await deps.store.getNotificationSettings(tenant, environment);
    if (own) return own;
  }
  return deps.store.getNotificationSettings(tenant, 'tenant');
}

export async function notificationView(deps: Deps, kind: NotificationKind, detail: Record<string, unknown>, p: Promotion | null): Promise<NotificationView> {
  const at = String(detail.at ?? deps.clock().toISOString());
  if (!p) {
    return {
      kind,
      tenant: String(detail.tenant),
      title: `${String(detail.environment)}: ${TITLES[kind]} by ${String(detail.actor)}`,
      subject: { type: 'none' },
      to: detail.environment as string | undefined,
      reason: detail.reason as string | undefined,
      requester: detail.actor as string | undefined,
      gates: [],
      at,
    };
  }
  const detailView = await promotionDetail(deps, p);
  const what =
    p.subject.type === 'artifact'
      ? `${p.subject.name} ${p.subject.version}`
      : p.subject.type === 'bundle'
        ? `bundle ${p.subject.name}`
        : `config of ${p.sourceEnvironment}`;
  return {
    kind,
    tenant: p.tenant,
    promotionId: p.id,
    releaseDigest: p.releaseDigest,
    title: `${what} → ${p.targetEnvironment} ${promotionTitle(kind, detail, p)}`,
    subject:
      p.subject.type === 'artifact'
        ? { type: 'artifact', name: p.subject.name, version: p.subject.version, digest: p.subject.digest }
        : p.subject.type === 'bundle'
          ? { type: 'bundle', name: p.subject.name, digest: p.subject.digest, members: p.subject.members.map((m) => `${m.name} ${m.version}`) }
          : {
              type: 'config',
              added: p.changeSummary?.added ?? 0,
              modified: p.changeSummary?.modified ?? 0,
              removed: p.changeSummary?.removed ?? 0,
              firstKeys: (p.changeSummary?.keys ?? []).slice(0, 5),
            },
    from: p.sourceEnvironment,
    to: p.targetEnvironment,
    requester: p.rebasedBy ? `${p.requestedBy.name} (rebased by ${p.rebasedBy.name})` : p.requestedBy.name,
    notes: p.notes || undefined,
    reason: (detail.reason as string | undefined) ?? p.rejection?.reason ?? p.error?.message,
    gates: (p.gates ?? []).map((g) => ({ gate: g.gate, verdict: g.verdict, reason: g.reason })),
    approvals: {
      given: detailView.approvals.given.map((g) => ({ by: g.by, at: g.at })),
      required: detailView.approvals.required,
      remaining: detailView.approvals.remaining,
      groups: detailView.approvals.approverGroups,
    },
    expiresAt: detailView.approvals.expiresAt ?? undefined,
    at,
  };
}

/** A principal for a directory user, built the way verified token claims build one. */
export function userPrincipal(u: DirectoryUser): Principal {
  const roles = u.groups.filter((g): g is Role => (ROLES as readonly string[]).includes(g));
  return { tenant: u.tenant, id: u.id.toLowerCase(), name: u.email.toLowerCase(), roles, groups: u.groups, kind: 'user' };
}

/**
 * Whether a user may approve this promotion now: in the policy's groups (a role counting with the rights they hold in
 * the promotion's target environment, their token's or a role binding's there), and not its requester under separation of duties.
 */
export function mayApprove(p: Promotion, u: DirectoryUser, bindings: readonly Binding[] = []): boolean {
  const token = userPrincipal(u);
  const who = bindings.length ? { ...token, roles: rightsIn(token, bindings, p.targetEnvironment).roles } : token;
  return inGroups(who, p.policy.approverGroups) && !(p.policy.separationOfDuties && contentChoosers(p).includes(who.id));
}

/** The groups and users a role binding makes approvers in the promotion's target environment (to reach them beside the policy's groups). */
function boundApprovers(p: Promotion, bindings: readonly Binding[]): { groups: string[]; users: string[] } {
  const bound = bindings.filter((b) => (b.role === 'approver' || b.role === 'admin') && appliesIn(b, p.targetEnvironment));
  return { groups: bound.flatMap((b) => (b.group !== undefined ? [b.group] : [])), users: bound.flatMap((b) => (b.user?.includes('@') ? [b.user] : [])) };
}

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** Makes a single-use link (≥ 128 bits: 256 random bits) and stores only its hash. */
export async function makeLink(deps: Deps, p: Promotion, approver: { id: string; email: string }, actions: ReviewLink['actions']): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const now = deps.clock();
  const deadline = approvalDeadline(p);
  const week = new Date(now.getTime() + 7 * 86400_000);
  // Never later than the approval window; a view-only link of a finished promotion lives a week.
  const expiresAt = actions.length && deadline && deadline < week ? deadline : week;
  await deps.store.putReviewLink({
    tenant: p.tenant,
    hash: tokenHash(token),
    promotionId: p.id,
    approver,
    actions,
    releaseDigest: p.releaseDigest,
    validUntil: expiresAt.toISOString(),
    createdAt: now.toISOString(),
  });
  return `${deps.publicUrl ?? ''}/review/${encodeURIComponent(p.tenant)}/${token}`;
}

/**
 * Delivers one event's notifications to where the tenant (or the target
 * environment) configured them: Slack (one message per channel, Block Kit,
 * a view-only review link and, with a Slack workspace bound, approve/reject buttons),
 * Teams (one Adaptive Card to the Workflows webhook, with a view-only review link)
 * and email (one message per recipient; eligible approvers each get their own
 * approve/reject link). Each delivery runs once per event id and is recorded on
 * the promotion; a failed one is recorded with its error and makes the call
 * throw, so the bus retries it (then its DLQ).
 */
export async function notify(deps: With<'scheduler'>, type: EventType | 'Approval Reminder', detail: Record<string, unknown>): Promise<Delivery[]> {
  const tenant = String(detail.tenant);
  const eventId = String(detail.eventId ?? `${type}:${String(detail.promotionId ?? detail.environment)}:${String(detail.at)}`);
  const p = detail.promotionId ? await deps.store.getPromotion(tenant, String(detail.promotionId)) : null;
  const kind = kindOf(type as EventType, detail, p);
  if (!kind) return [];
  // A reminder for a promotion no longer waiting says nothing useful.
  if (kind === 'approval-reminder' && p?.status !== 'AWAITING_APPROVAL') return [];
  const settings = await settingsFor(deps, tenant, (p?.targetEnvironment ?? detail.environment) as string | undefined);
  const wanted = settings?.events ?? DEFAULT_NOTIFICATION_KINDS;
  // Ask the scheduler for a reminder shortly before the approval window closes.
  if (kind === 'approval-required' && p && settings && wanted.includes('approval-reminder')) await scheduleReminder(deps, p);
  if (!settings || !wanted.includes(kind)) return [];
  const channels = deps.channels;
  const directory = deps.directory;
  if (!channels || !directory) throw new Error('this function has no notification channels');
  const view = await notificationView(deps, kind, detail, p);
  const out: Delivery[] = [];
  const failures: string[] = [];

  // `send` answers how the channel took it: sent, or accepted to be delivered later (a Workflows 202).
  const deliver = async (channel: Delivery['channel'], target: string, send: () => Promise<void | 'sent' | 'accepted'>) => {
    const run = await runOnce(deps, tenant, `notify:${channel}:${target}`, eventId, async () => {
      const at = deps.clock().toISOString();
      let d: Delivery;
      try {
        d = { channel, target, kind, status: (await send()) || 'sent', at, eventId };
      } catch (err) {
        const failed: Delivery = { channel, target, kind, status: 'failed', at, eventId, error: String((err as Error).message ?? err).slice(0, 300) };
        if (p) await deps.store.recordDelivery(tenant, p.id, failed);
        out.push(failed);
        failures.push(`${channel} ${target}: ${failed.error}`);
        // A permanent refusal (the channel says sending it again cannot help) keeps its claim: recorded, not retried.
        if ((err as { permanent?: unknown }).permanent === true) return;
        throw err;
      }
      out.push(d);
      // Sent: whatever happens to its record now, the claim stays (a redelivery of the event must not send it again).
      if (p)
        await deps.store
          .recordDelivery(tenant, p.id, d)
          .catch((err: unknown) => failures.push(`${channel} ${target}: sent, not recorded (${String(err)})`.slice(0, 300)));
    }).catch(() => undefined);
    return run;
  };

  if (settings.slack) {
    const slack = settings.slack;
    const reviewUrl = p ? await makeLink(deps, p, { id: '', email: 'slack' }, []) : undefined;
    // Buttons where a Slack workspace is bound: whoever presses one acts as the account they linked themselves.
    const message = slackMessage(view, { reviewUrl, interactive: Boolean(slack.teamId) && WANTS_ACTION.has(kind) });
    for (const channel of slack.channels.length ? slack.channels : ['(webhook default)']) {
      await deliver('slack', channel, () => channels.slack(slack.webhook, slack.channels.length ? { ...message, channel } : message));
    }
  }

  if (settings.teams) {
    const teams = settings.teams;
    // A view-only link, as Slack's: whoever opens it signs in to act (a channel card is not personal).
    const reviewUrl = p ? await makeLink(deps, p, { id: '', email: 'teams' }, []) : undefined;
    const message = teamsMessage(view, { reviewUrl });
    await deliver('teams', 'workflows', () => channels.teams(teams.webhook, message));
  }

  if (settings.email) {
    const recipients = new Map<string, DirectoryUser | null>();
    let bindings: Binding[] = [];
    for (const r of settings.email.recipients) recipients.set(r, await directory.byEmail(tenant, r));
    if (settings.email.approvers && p && WANTS_ACTION.has(kind)) {
      // The policy's groups, and whoever a role binding makes an approver in the target environment.
      bindings = (await deps.store.getBindings(tenant))?.bindings ?? [];
      const bound = boundApprovers(p, bindings);
      const candidates = await directory.members(tenant, [...new Set([...p.policy.approverGroups, ...bound.groups])]);
      for (const email of bound.users) {
        const u = await directory.byEmail(tenant, email);
        if (u) candidates.push(u);
      }
      for (const u of candidates) if (mayApprove(p, u, bindings)) recipients.set(u.email.toLowerCase(), u);
    }
    for (const [to, user] of recipients) {
      await deliver('email', to, async () => {
        // Each eligible approver gets a link bound to them; everyone else a link to look, not act.
        const acts = p && WANTS_ACTION.has(kind) && user && mayApprove(p, user, bindings);
        const reviewUrl = p ? await makeLink(deps, p, { id: user?.id ?? '', email: to }, acts ? ['approve', 'reject'] : []) : undefined;
        await channels.email(emailMessage(view, { to, reviewUrl }));
      });
    }
  }
  if (failures.length) throw new Error(`notification delivery failed: ${failures.join('; ')}`);
  return out;
}

/** When the reminder goes: a quarter of the window before it closes, at most an hour before. */
export function reminderAt(p: Promotion): Date | null {
  const deadline = approvalDeadline(p);
  if (!deadline) return null;
  const lead = Math.min(3600, p.policy.approvalExpirySeconds / 4) * 1000;
  return new Date(deadline.getTime() - lead);
}

/** One reminder schedule per promotion, unique and within the scheduler's limits (reminders are never looked up by name: they fire and delete themselves). */
export const reminderName = (p: Pick<Promotion, 'tenant' | 'id'>) => awsName('stageline-remind-', [p.tenant, p.id]);

async function scheduleReminder(deps: With<'scheduler'>, p: Promotion): Promise<void> {
  const at = reminderAt(p);
  if (at && at > deps.clock()) await deps.scheduler.scheduleOnce(reminderName(p), at, { tenant: p.tenant, remind: p.id });
}

/** The reminder schedule fired: if the promotion still waits, an `Approval Reminder` event goes out through the outbox. */
export async function remindApprovers(deps: Deps, tenant: string, id: string): Promise<{ reminded: boolean }> {
  const p = await deps.store.getPromotion(tenant, id);
  if (!p || p.status !== 'AWAITING_APPROVAL') return { reminded: false };
  const detailView = await promotionDetail(deps, p);
  await deps.store.commit(tenant, [
    promotionEvent(deps, 'Approval Reminder', p, { approvalsNeeded: detailView.approvals.remaining, approverGroups: p.policy.approverGroups }),
  ]);
  return { reminded: true };
}
