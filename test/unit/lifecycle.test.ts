import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  allowedActions,
  assertAction,
  canTransition,
  isTerminal,
  STATUS_ALIASES,
  STATUSES,
  statusesFor,
  TRANSITIONS,
  type Status,
} from '../../domain/kernel/lifecycle.ts';
import { TransitionNotAllowed } from '../../domain/kernel/errors.ts';

describe('promotion lifecycle (the one transition table)', () => {
  it("maps seed 002's lower-case names onto statuses through one table", () => {
    expect(statusesFor('pending')).toEqual(['PENDING', 'VALIDATING', 'VALIDATION_FAILED', 'AWAITING_APPROVAL']);
    expect(statusesFor('awaiting_approval')).toEqual(['AWAITING_APPROVAL']);
    expect(statusesFor('nope')).toBeNull();
    const covered = Object.values(STATUS_ALIASES).flat();
    expect([...covered].sort()).toEqual([...STATUSES].sort());
  });

  it('any walk through the table reaches a final state and never leaves one', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (choices) => {
        let s: Status = 'PENDING';
        for (const c of choices) {
          const next: readonly Status[] = TRANSITIONS[s];
          if (next.length === 0) break;
          const to: Status = next[c % next.length]!;
          expect(canTransition(s, to)).toBe(true);
          s = to;
        }
        if (TRANSITIONS[s].length === 0) expect(isTerminal(s)).toBe(true);
      }),
    );
  });

  it('has one cycle only, re-validation after failed gates (bounded by expiry), and every status is reachable from PENDING', () => {
    const seen = new Set<Status>(['PENDING']);
    const stack: Status[] = ['PENDING'];
    while (stack.length) for (const n of TRANSITIONS[stack.pop()!]) if (!seen.has(n)) (seen.add(n), stack.push(n));
    expect([...seen].sort()).toEqual([...STATUSES].sort());
    const visiting = new Set<Status>();
    // Without the one re-validation edge the table is acyclic, so every other flow ends.
    const edges = (s: Status) => TRANSITIONS[s].filter((n) => !(s === 'VALIDATION_FAILED' && n === 'VALIDATING'));
    expect(canTransition('VALIDATION_FAILED', 'VALIDATING')).toBe(true);
    expect(canTransition('VALIDATION_FAILED', 'EXPIRED')).toBe(true);
    const acyclic = (s: Status): boolean => {
      if (visiting.has(s)) return false;
      visiting.add(s);
      const ok = edges(s).every(acyclic);
      visiting.delete(s);
      return ok;
    };
    expect(acyclic('PENDING')).toBe(true);
  });

  it('cancel is possible exactly before EXECUTING; rollback only after COMPLETED', () => {
    for (const s of STATUSES) {
      expect(canTransition(s, 'CANCELLED')).toBe((ACTIONS.cancel as readonly Status[]).includes(s));
    }
    expect(ACTIONS.rollback).toEqual(['COMPLETED']);
    expect(canTransition('EXECUTING', 'CANCELLED')).toBe(false);
  });

  it('a refused action names the status and what is allowed', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STATUSES), fc.constantFrom(...(Object.keys(ACTIONS) as (keyof typeof ACTIONS)[])), (status, action) => {
        const allowed = (ACTIONS[action] as readonly Status[]).includes(status);
        try {
          assertAction(action, status, 'prm_x');
          expect(allowed).toBe(true);
        } catch (e) {
          expect(allowed).toBe(false);
          expect(e).toBeInstanceOf(TransitionNotAllowed);
          expect((e as TransitionNotAllowed).details).toEqual({ status, allowedActions: allowedActions(status) });
        }
      }),
    );
  });
});
