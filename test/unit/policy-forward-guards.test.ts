import { describe, expect, it } from 'vitest';
import { RuleViolation } from '../../domain/kernel/errors.ts';
import type { Environment } from '../../domain/kernel/model.ts';
import type { Rule } from '../../domain/kernel/promotion-model.ts';
import { activeRule, checkForward, resolvePolicy } from '../../domain/promotion/terms/policy.ts';

/**
 * The rule a pair of environments is promoted under (which one, and what of it reaches the policy),
 * and the way forward through environments with edges of their own (`after`).
 */

const env = (name: string, position: number, patch: Partial<Environment> = {}) => ({ name, position, protected: false, ...patch }) as Environment;

const rule = (patch: Partial<Rule> = {}): Rule => ({
  id: 'r1',
  name: 'r1',
  sourceEnvironment: 'staging',
  targetEnvironment: 'prod',
  requiresApproval: true,
  requiredApprovers: 1,
  approverGroups: ['release-managers'],
  separationOfDuties: true,
  approvalExpirySeconds: 600,
  autoPromote: false,
  conditions: null,
  allowSkip: false,
  status: 'active',
  version: 1,
  createdAt: '2030-01-01T00:00:00Z',
  createdBy: 'alice',
  updatedAt: '2030-01-01T00:00:00Z',
  updatedBy: 'alice',
  ...patch,
});

describe('the rule for a pair', () => {
  it('of active rules created at the same instant, the one listed first decides', () => {
    const a = rule({ id: 'a' });
    const b = rule({ id: 'b' });
    expect(activeRule([a, b], 'staging', 'prod')?.id).toBe('a');
    expect(activeRule([b, a], 'staging', 'prod')?.id).toBe('b');
  });

  it('passes its own soak (zero too) to the policy; without one the policy has none and the environment’s applies', () => {
    const line = [env('staging', 0), env('prod', 1)];
    const [staging, prod] = line as [Environment, Environment];
    expect(resolvePolicy([rule({ soakSeconds: 0 })], line, staging, prod).soakSeconds).toBe(0);
    expect(resolvePolicy([rule({ soakSeconds: 3600 })], line, staging, prod).soakSeconds).toBe(3600);
    expect(resolvePolicy([rule()], line, staging, prod)).not.toHaveProperty('soakSeconds');
    expect(resolvePolicy([rule({ soakSeconds: null })], line, staging, prod)).not.toHaveProperty('soakSeconds');
  });

  it('passes the groups whose attestation it requires to the policy, and nothing for an empty list', () => {
    const line = [env('staging', 0), env('prod', 1)];
    const [staging, prod] = line as [Environment, Environment];
    expect(resolvePolicy([rule({ requireAttestationFrom: ['security', 'qa'] })], line, staging, prod).requireAttestationFrom).toEqual(['security', 'qa']);
    expect(resolvePolicy([rule({ requireAttestationFrom: [] })], line, staging, prod)).not.toHaveProperty('requireAttestationFrom');
    expect(resolvePolicy([rule()], line, staging, prod)).not.toHaveProperty('requireAttestationFrom');
  });
});

describe('forward through environments with edges of their own', () => {
  // dev → qa → staging by position; prod is entered from qa or staging, hotfix from prod only, though it sits first.
  const line = [
    env('hotfix', 0, { after: ['prod'] }),
    env('dev', 1),
    env('qa', 2),
    env('staging', 3),
    env('prod', 4, { after: ['qa', 'staging'], afterMode: 'any' }),
    env('eu', 5, { after: ['qa', 'staging'] }),
  ];
  const byName = (n: string) => line.find((e) => e.name === n)!;
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as RuleViolation;
    }
    throw new Error('not refused');
  };

  it('is entered from any environment it comes after, whatever their positions', () => {
    expect(checkForward(line, [], 'qa', 'prod')).toEqual({ source: byName('qa'), target: byName('prod') });
    expect(checkForward(line, [], 'staging', 'prod')).toEqual({ source: byName('staging'), target: byName('prod') });
    expect(checkForward(line, [], 'prod', 'hotfix')).toEqual({ source: byName('prod'), target: byName('hotfix') });
  });

  it('from elsewhere is refused naming where it comes from (“or” when any one will do, “and” when all must)', () => {
    const prod = refusal(() => checkForward(line, [], 'dev', 'prod'));
    expect(prod).toBeInstanceOf(RuleViolation);
    expect(prod.message).toBe("'prod' comes after 'qa' or 'staging', not 'dev'; promote from one of them");
    expect(prod.details).toEqual({ after: ['qa', 'staging'] });
    expect(refusal(() => checkForward(line, [], 'dev', 'eu')).message).toBe("'eu' comes after 'qa' and 'staging', not 'dev'; promote from one of them");
    const hotfix = refusal(() => checkForward(line, [], 'staging', 'hotfix'));
    expect(hotfix.message).toBe("'hotfix' comes after 'prod', not 'staging'; promote from there");
    expect(hotfix.details).toEqual({ after: ['prod'] });
  });

  it('from elsewhere passes only with an active rule for the pair that allows the skip', () => {
    const skip = rule({ sourceEnvironment: 'dev', targetEnvironment: 'prod', allowSkip: true });
    expect(checkForward(line, [skip], 'dev', 'prod')).toEqual({ source: byName('dev'), target: byName('prod') });
    expect(() => checkForward(line, [{ ...skip, allowSkip: false }], 'dev', 'prod')).toThrow(RuleViolation);
    expect(() => checkForward(line, [{ ...skip, status: 'disabled' }], 'dev', 'prod')).toThrow(RuleViolation);
  });
});
