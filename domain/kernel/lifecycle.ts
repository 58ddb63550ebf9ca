import { TransitionNotAllowed } from './errors.ts';

/**
 * THE promotion lifecycle: the only place that says which status may follow
 * which. Every API action and every state-machine step goes through
 * `transition()`.
 *
 * The lower-case statuses map onto these through STATUS_ALIASES below
 * (the one table the list filter and the docs use).
 *
 * A promotion whose gates failed (VALIDATION_FAILED) is not final: new
 * evidence can arrive and `validate` runs the gates again, until the
 * promotion expires or is cancelled. That is the only cycle in the table.
 */
export const STATUSES = [
  'PENDING',
  'VALIDATING',
  'VALIDATION_FAILED',
  'AWAITING_APPROVAL',
  'APPROVED',
  'REJECTED',
  'EXPIRED',
  'SCHEDULED',
  'EXECUTING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'ROLLED_BACK',
] as const;
export type Status = (typeof STATUSES)[number];

export const TRANSITIONS: Record<Status, readonly Status[]> = {
  // VALIDATION_FAILED here: the gates step errored before it could start validating (fails closed).
  PENDING: ['VALIDATING', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED'],
  VALIDATING: ['VALIDATION_FAILED', 'AWAITING_APPROVAL', 'APPROVED', 'CANCELLED'],
  VALIDATION_FAILED: ['VALIDATING', 'CANCELLED', 'EXPIRED'],
  // VALIDATION_FAILED here: a rebased release is validated again and may now fail its gates.
  AWAITING_APPROVAL: ['APPROVED', 'REJECTED', 'EXPIRED', 'CANCELLED', 'VALIDATION_FAILED'],
  // REJECTED from APPROVED or SCHEDULED: its change request was rejected or cancelled in the tool (domain/promotion/run/change-hold.ts).
  APPROVED: ['SCHEDULED', 'EXECUTING', 'CANCELLED', 'REJECTED'],
  REJECTED: [],
  EXPIRED: [],
  SCHEDULED: ['EXECUTING', 'CANCELLED', 'REJECTED'],
  // ROLLED_BACK here: executed, then put back automatically while it baked (a monitor or alarm evidence
  // in ALARM, a failed verification); FAILED: the target was not changed (or could not be put back).
  EXECUTING: ['COMPLETED', 'FAILED', 'ROLLED_BACK'],
  COMPLETED: ['ROLLED_BACK'],
  FAILED: [],
  CANCELLED: [],
  ROLLED_BACK: [],
};

/** API actions and the statuses each may be taken from. */
export const ACTIONS = {
  validate: ['PENDING', 'VALIDATION_FAILED'],
  approve: ['AWAITING_APPROVAL'],
  reject: ['AWAITING_APPROVAL'],
  execute: ['APPROVED', 'SCHEDULED'],
  schedule: ['APPROVED'],
  rollback: ['COMPLETED'],
  rebase: ['AWAITING_APPROVAL'],
  cancel: ['PENDING', 'VALIDATING', 'VALIDATION_FAILED', 'AWAITING_APPROVAL', 'APPROVED', 'SCHEDULED'],
} as const satisfies Record<string, readonly Status[]>;
export type Action = keyof typeof ACTIONS;

/**
 * The lower-case status names and the statuses each covers. The list
 * filter (`?status=pending`) and the README's status table both come from here.
 */
export const STATUS_ALIASES = {
  pending: ['PENDING', 'VALIDATING', 'VALIDATION_FAILED', 'AWAITING_APPROVAL'],
  approved: ['APPROVED', 'SCHEDULED', 'EXECUTING'],
  rejected: ['REJECTED'],
  completed: ['COMPLETED'],
  failed: ['FAILED', 'EXPIRED', 'CANCELLED', 'ROLLED_BACK'],
} as const satisfies Record<string, readonly Status[]>;

/** `pending` → its statuses; `AWAITING_APPROVAL` (any case) → itself; unknown → null. */
export function statusesFor(name: string): Status[] | null {
  if (Object.hasOwn(STATUS_ALIASES, name)) return [...STATUS_ALIASES[name as keyof typeof STATUS_ALIASES]];
  const upper = name.toUpperCase() as Status;
  return (STATUSES as readonly string[]).includes(upper) ? [upper] : null;
}

export function isTerminal(status: Status): boolean {
  return TRANSITIONS[status].length === 0 || status === 'COMPLETED';
}

export function canTransition(from: Status, to: Status): boolean {
  return TRANSITIONS[from].includes(to);
}

export function allowedActions(status: Status): Action[] {
  return (Object.keys(ACTIONS) as Action[]).filter((a) => (ACTIONS[a] as readonly Status[]).includes(status));
}

export function assertAction(action: Action, status: Status, id: string): void {
  if (!(ACTIONS[action] as readonly Status[]).includes(status)) {
    throw new TransitionNotAllowed(
      `Cannot ${action} promotion ${id}: it is ${status}. Allowed now: ${allowedActions(status).join(', ') || (isTerminal(status) ? 'nothing (final state)' : 'nothing until it finishes')}`,
      { status, allowedActions: allowedActions(status) },
    );
  }
}

export function assertTransition(from: Status, to: Status, id: string): void {
  if (!canTransition(from, to)) {
    throw new TransitionNotAllowed(`Promotion ${id} cannot go from ${from} to ${to}`, { status: from, allowedActions: allowedActions(from) });
  }
}
