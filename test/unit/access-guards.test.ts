import { describe, expect, it } from 'vitest';
import { hasRole, inGroups, requireRole, type Principal } from '../../domain/access/auth.ts';
import { breakGlass, freezeOverridden, isProtected, requestedBreakGlass } from '../../domain/freeze/break-glass.ts';
import { Forbidden } from '../../domain/kernel/errors.ts';
import type { Environment } from '../../domain/kernel/model.ts';
import { userCtx } from '../support/memory-deps.ts';

/** Who may do what: roles and what they imply, approver groups, and an admin's break-glass. */

const who = (...roles: Principal['roles']): Principal => ({ tenant: 'acme', id: 'u', name: 'u@acme.test', roles, kind: 'user' });
const now = new Date('2030-01-01T09:00:00.000Z');

describe('roles', () => {
  it('each role implies what the table says and nothing more: admin everything, deployer and approver also read, viewer only reads', () => {
    const table = (['viewer', 'deployer', 'approver', 'admin'] as const).map((r) => [
      r,
      (['viewer', 'deployer', 'approver', 'admin'] as const).filter((needed) => hasRole(who(r), needed)),
    ]);
    expect(table).toEqual([
      ['viewer', ['viewer']],
      ['deployer', ['viewer', 'deployer']],
      ['approver', ['viewer', 'approver']],
      ['admin', ['viewer', 'deployer', 'approver', 'admin']],
    ]);
    expect(hasRole(who(), 'viewer')).toBe(false);
    // Any one of several roles is enough.
    expect(hasRole(who('viewer', 'approver'), 'approver')).toBe(true);
  });

  it('requireRole refuses with 403 naming the role needed and the roles held ("none" without any), and lets the role through', () => {
    expect(() => requireRole(who('viewer'), 'deployer')).toThrow(new Forbidden("This action needs the 'deployer' role; you have: viewer"));
    expect(() => requireRole(who(), 'viewer')).toThrow(new Forbidden("This action needs the 'viewer' role; you have: none"));
    expect(() => requireRole(who('deployer', 'approver'), 'admin')).toThrow(/you have: deployer, approver$/);
    expect(() => requireRole(who('admin'), 'deployer')).not.toThrow();
  });

  it('an approver group is met by membership of a custom group or by a role that implies it; an unknown name is not a role', () => {
    expect(inGroups({ roles: ['viewer'], groups: ['release-managers'] }, ['release-managers'])).toBe(true);
    expect(inGroups({ roles: ['admin'] }, ['approver'])).toBe(true);
    expect(inGroups({ roles: ['deployer'], groups: ['deployer'] }, ['approver', 'release-managers'])).toBe(false);
    expect(inGroups({ roles: ['admin'] }, ['release-managers'])).toBe(false);
    expect(inGroups({ roles: ['approver'] }, [])).toBe(false);
  });
});

describe('break-glass', () => {
  it('without a reason (or with only blanks) no break-glass is asked for; with one only an admin gets it, recorded with who, when, why and what', () => {
    const alice = userCtx('acme', 'alice', 'admin');
    expect(requestedBreakGlass(alice, 'freeze-window', 'promotion.approve', now)).toBeNull();
    expect(requestedBreakGlass({ ...alice, breakGlassReason: '   ' }, 'freeze-window', 'promotion.approve', now)).toBeNull();
    expect(requestedBreakGlass({ ...alice, breakGlassReason: '  outage fix  ' }, 'freeze-window', 'promotion.approve', now)).toEqual({
      by: 'alice@acme.test',
      at: '2030-01-01T09:00:00.000Z',
      reason: 'outage fix',
      action: 'promotion.approve',
      guard: 'freeze-window',
    });
    // A long reason is kept to 500 characters.
    expect(requestedBreakGlass({ ...alice, breakGlassReason: 'x'.repeat(600) }, 'freeze-window', 'a', now)!.reason).toHaveLength(500);
  });

  it('anyone but an admin asking to break glass is refused with 403 naming the admin role and their own, whether or not a guard holds', () => {
    const bob = { ...userCtx('acme', 'bob', 'deployer', 'approver'), breakGlassReason: 'please' };
    const refused = (() => {
      try {
        requestedBreakGlass(bob, 'protected-environment', 'config.update', now);
      } catch (e) {
        return e;
      }
    })() as Forbidden;
    expect(refused).toBeInstanceOf(Forbidden);
    expect(refused.message).toMatch(/^Break-glass needs the admin role; you have: deployer, approver\./);
    expect(refused.details).toEqual({ guard: 'protected-environment', requiredRole: 'admin' });
    const nobody = { ...userCtx('acme', 'eve'), breakGlassReason: 'please' };
    expect(() => requestedBreakGlass(nobody, 'freeze-window', 'a', now)).toThrow(/you have: none\./);
  });

  it('breakGlass lets a guarded action through only as an admin with a reason, and otherwise says what is guarded and how to override', () => {
    const alice = userCtx('acme', 'alice', 'admin');
    const refused = (() => {
      try {
        breakGlass(alice, 'protected-environment', 'config.update', "'prod' is protected", now);
      } catch (e) {
        return e;
      }
    })() as Forbidden;
    expect(refused).toBeInstanceOf(Forbidden);
    expect(refused.message).toBe(
      "'prod' is protected. An admin may override this once, audited as break-glass, by sending the header X-Break-Glass-Reason with the reason",
    );
    expect(refused.details).toEqual({ guard: 'protected-environment' });
    expect(breakGlass({ ...alice, breakGlassReason: 'hotfix' }, 'protected-environment', 'config.update', 'x', now)).toMatchObject({
      reason: 'hotfix',
      guard: 'protected-environment',
    });
  });

  it('a break-glass past freeze windows holds for the release it was given for (or any, when it names none), never for another', () => {
    const glass = { by: 'alice', at: now.toISOString(), reason: 'r', action: 'a', guard: 'freeze-window' as const };
    expect(freezeOverridden({ releaseDigest: 'd1' })).toBe(false);
    expect(freezeOverridden({ freezeOverride: null, releaseDigest: 'd1' })).toBe(false);
    expect(freezeOverridden({ freezeOverride: glass, releaseDigest: 'd1' })).toBe(true);
    expect(freezeOverridden({ freezeOverride: { ...glass, releaseDigest: 'd1' }, releaseDigest: 'd1' })).toBe(true);
    expect(freezeOverridden({ freezeOverride: { ...glass, releaseDigest: 'd0' }, releaseDigest: 'd1' })).toBe(false);
  });

  it('a protected environment is one flagged so, or the last of the line', () => {
    const env = (name: string, flagged = false) => ({ name, protected: flagged }) as Environment;
    const line = [env('dev'), env('staging'), env('prod')];
    expect(isProtected(line[2]!, line)).toBe(true);
    expect(isProtected(line[1]!, line)).toBe(false);
    expect(isProtected(env('staging', true), line)).toBe(true);
    expect(isProtected(env('dev'), [])).toBe(false);
  });
});
