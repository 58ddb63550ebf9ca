/** What every renderer (Slack, email, review page) takes: the facts of one notification. */
export interface NotificationView {
  kind:
    | 'approval-required'
    | 'approval-reminder'
    | 'approved'
    | 'rejected'
    | 'expired'
    | 'completed'
    | 'failed'
    | 'rolled-back'
    | 'gate-failed'
    | 'break-glass'
    | 'wave-started'
    | 'wave-completed'
    | 'analysis-decided';
  tenant: string;
  promotionId?: string;
  /** the release the notification shows (approvals are bound to it): a Slack button acts on this release only */
  releaseDigest?: string;
  /** e.g. "payments-api v1.2.3 → production needs your approval" */
  title: string;
  subject:
    | { type: 'artifact'; name: string; version: string; digest: string }
    | { type: 'config'; added: number; modified: number; removed: number; firstKeys: string[] }
    /** a bundle: its name and digest, and each member as "name version" */
    | { type: 'bundle'; name: string; digest: string; members: string[] }
    | { type: 'none' };
  from?: string;
  to?: string;
  requester?: string;
  notes?: string;
  /** why it failed / was rejected / the break-glass reason */
  reason?: string;
  gates: { gate: string; verdict: 'PASS' | 'FAIL' | 'WARN' | 'SKIPPED'; reason: string }[];
  approvals?: { given: { by: string; at: string }[]; required: number; remaining: number; groups: string[] };
  /** ISO */
  expiresAt?: string;
  /** ISO, when it happened */
  at: string;
}

/** How a gate verdict is marked in every channel. */
export const MARK = { PASS: '✓', FAIL: '✗', WARN: '!', SKIPPED: '–' } as const;

/** Formats one user-supplied piece to at most `max` characters (cut and, for markup, escaped). */
export type Fmt = (s: string, max: number) => string;

/** At most `max` UTF-16 units, whole code points, ending in "…" when cut. */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/** Items joined with ", " within about `budget` characters, then "+N more". */
export function listUpTo(items: string[], budget: number, f: Fmt = cut): string {
  const shown: string[] = [];
  let used = 0;
  for (const [i, item] of items.entries()) {
    const piece = f(item, Math.max(16, Math.floor(budget / 4)));
    if (used + piece.length + 2 > budget) return `${shown.join(', ')}${shown.length ? ', ' : ''}+${items.length - i} more`;
    shown.push(piece);
    used += piece.length + 2;
  }
  return shown.join(', ');
}

export const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** "payments-api v1.2.3 (a1b2c3d4e5f6)" or "config +2 ~1 −0: a, b". */
export function whatLine(v: NotificationView, f: Fmt = cut): string {
  const s = v.subject;
  if (s.type === 'artifact') return `${f(s.name, 300)} ${f(s.version, 200)} (${f(shortDigest(s.digest), 60)})`;
  if (s.type === 'bundle') return `bundle ${f(s.name, 200)} (${f(shortDigest(s.digest), 60)}): ${listUpTo(s.members, 1000, f)}`;
  if (s.type === 'config') return `config +${s.added} ~${s.modified} −${s.removed}${s.firstKeys.length ? `: ${listUpTo(s.firstKeys, 1000, f)}` : ''}`;
  return '—';
}

/** "1 of 2 given (alice), 1 still needed". */
export function approvalsLine(a: NonNullable<NotificationView['approvals']>, f: Fmt = cut): string {
  const who = a.given.length
    ? ` (${listUpTo(
        a.given.map((g) => g.by),
        1200,
        f,
      )})`
    : '';
  return `${a.given.length} of ${a.required} given${who}, ${a.remaining} still needed`;
}
