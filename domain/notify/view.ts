/** What every renderer (Slack, email, review page) takes: the facts of one notification. */
export interface NotificationView {
  kind: 'approval-required' | 'approval-reminder' | 'approved' | 'rejected' | 'expired' | 'completed' | 'failed' | 'rolled-back' | 'gate-failed' | 'break-glass';
  tenant: string;
  promotionId?: string;
  /** e.g. "payments-api v1.2.3 → production needs your approval" */
  title: string;
  subject:
    | { type: 'artifact'; name: string; version: string; digest: string }
    | { type: 'config'; added: number; modified: number; removed: number; firstKeys: string[] }
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
