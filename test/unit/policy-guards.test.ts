import { describe, expect, it } from 'vitest';
import { BackwardPromotion, EnvironmentNotFound, RuleViolation, TransitionNotAllowed } from '../../domain/kernel/errors.ts';
import type { Environment } from '../../domain/kernel/model.ts';
import type { Approval, Evidence, Policy, Promotion, Rule } from '../../domain/kernel/promotion-model.ts';
import { configReleaseDigest, countable, forCurrentRelease } from '../../domain/promotion/aggregate.ts';
import { assertRelease } from '../../domain/promotion/decide/approve.ts';
import {
  activeRule,
  checkForward,
  contentChoosers,
  defaultPolicy,
  evidenceAccepted,
  pendingExpirySeconds,
  resolvePolicy,
} from '../../domain/promotion/terms/policy.ts';

/** Approval policies, separation of duties and the release a decision is bound to. */

const env = (name: string, position: number, flagged = false) => ({ name, position, protected: flagged }) as Environment;
const line = [env('dev', 0), env('staging', 1), env('prod', 2)];
const [dev, staging, prod] = line as [Environment, Environment, Environment];

const rule = (patch: Partial<Rule> = {}): Rule => ({
  id: 'r1',
  name: 'r1',
  sourceEnvironment: 'staging',
  targetEnvironment: 'prod',
  requiresApproval: true,
  requiredApprovers: 2,
  approverGroups: ['release-managers'],
  separationOfDuties: false,
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

describe('approval policy', () => {
  it('by default the last environment (or a protected one) needs one approval from approvers or admins, with separation of duties, for a day; other hops none', () => {
    expect(defaultPolicy(line, prod)).toEqual({
      ruleId: null,
      requiresApproval: true,
      requiredApprovers: 1,
      approverGroups: ['approver', 'admin'],
      separationOfDuties: true,
      approvalExpirySeconds: 86_400,
    });
    expect(defaultPolicy(line, staging)).toMatchObject({ requiresApproval: false, requiredApprovers: 0 });
    expect(defaultPolicy(line, env('staging', 1, true))).toMatchObject({ requiresApproval: true, requiredApprovers: 1 });
    expect(defaultPolicy([], staging)).toMatchObject({ requiresApproval: false });
  });

  it('the active rule for the pair decides (the oldest when several are), a disabled one or one for another pair does not', () => {
    const older = rule({ id: 'older', createdAt: '2029-01-01T00:00:00Z' });
    const newer = rule({ id: 'newer', createdAt: '2030-06-01T00:00:00Z' });
    expect(activeRule([newer, older], 'staging', 'prod')?.id).toBe('older');
    expect(activeRule([older, newer], 'staging', 'prod')?.id).toBe('older');
    expect(activeRule([rule({ status: 'disabled' })], 'staging', 'prod')).toBeUndefined();
    expect(activeRule([rule({ sourceEnvironment: 'dev' })], 'staging', 'prod')).toBeUndefined();
    expect(activeRule([rule({ targetEnvironment: 'staging' })], 'staging', 'prod')).toBeUndefined();
  });

  it('a rule gives its own policy; one that requires approval needs at least one approver, one that does not needs none', () => {
    expect(resolvePolicy([rule()], line, staging, prod)).toEqual({
      ruleId: 'r1',
      requiresApproval: true,
      requiredApprovers: 2,
      approverGroups: ['release-managers'],
      separationOfDuties: false,
      approvalExpirySeconds: 600,
    });
    expect(resolvePolicy([rule({ requiredApprovers: 0 })], line, staging, prod).requiredApprovers).toBe(1);
    expect(resolvePolicy([rule({ requiresApproval: false, requiredApprovers: 3 })], line, staging, prod).requiredApprovers).toBe(0);
    expect(resolvePolicy([rule({ evidenceFrom: 'machine' })], line, staging, prod).evidenceFrom).toBe('machine');
    expect(resolvePolicy([rule({ evidenceFrom: 'anyone' })], line, staging, prod)).not.toHaveProperty('evidenceFrom');
    // Without a rule for the pair: the default.
    expect(resolvePolicy([rule()], line, dev, staging)).toEqual(defaultPolicy(line, staging));
  });

  it('evidence counts according to whom the policy wants it from; unattributed evidence only where anyone’s does', () => {
    const policy = (evidenceFrom?: Policy['evidenceFrom']) => ({ ...defaultPolicy(line, prod), ...(evidenceFrom ? { evidenceFrom } : {}) });
    const from = (id: string, kind: 'user' | 'machine', ...groups: string[]): Evidence =>
      ({ id: 'e', type: 'test_results', payload: {}, submittedBy: id, submittedAt: '', source: { id, kind, groups } }) as Evidence;
    const unattributed = { id: 'e', type: 'test_results', payload: {}, submittedBy: 'x', submittedAt: '' } as Evidence;
    expect(evidenceAccepted(unattributed, policy(), ['bob'])).toBe(true);
    expect(evidenceAccepted(from('bob', 'user'), policy('anyone'), ['bob'])).toBe(true);
    expect(evidenceAccepted(unattributed, policy('not-requester'), ['bob'])).toBe(false);
    expect(evidenceAccepted(from('bob', 'user'), policy('not-requester'), ['bob'])).toBe(false);
    expect(evidenceAccepted(from('carol', 'user'), policy('not-requester'), ['bob'])).toBe(true);
    expect(evidenceAccepted(from('ci', 'machine'), policy('machine'), ['bob'])).toBe(true);
    expect(evidenceAccepted(from('carol', 'user'), policy('machine'), ['bob'])).toBe(false);
    expect(evidenceAccepted(from('carol', 'user', 'qa'), policy('group:qa'), ['bob'])).toBe(true);
    expect(evidenceAccepted(from('carol', 'user', 'dev'), policy('group:qa'), ['bob'])).toBe(false);
    // A member of the group who chose the content does not vouch for it.
    expect(evidenceAccepted(from('bob', 'user', 'qa'), policy('group:qa'), ['bob'])).toBe(false);
  });

  it('promotion goes forward one environment at a time, unless an active rule for the pair allows the skip', () => {
    expect(checkForward(line, [], 'dev', 'staging')).toEqual({ source: dev, target: staging });
    expect(() => checkForward(line, [], 'qa', 'prod')).toThrow(EnvironmentNotFound);
    expect(() => checkForward(line, [], 'dev', 'qa')).toThrow(new EnvironmentNotFound('qa'));
    expect(() => checkForward(line, [], 'dev', 'dev')).toThrow(new RuleViolation('Source and target are the same environment'));
    expect(() => checkForward(line, [], 'prod', 'dev')).toThrow(
      new BackwardPromotion("Promotion goes forward only (dev → staging → prod); to go from 'prod' back to 'dev', roll 'dev' back instead"),
    );
    expect(() => checkForward(line, [], 'dev', 'prod')).toThrow(
      new RuleViolation("'prod' is not the next environment after 'dev' (that is 'staging'); promote there first, or add a rule for dev → prod with allowSkip"),
    );
    const skip = rule({ sourceEnvironment: 'dev', targetEnvironment: 'prod', allowSkip: true });
    expect(checkForward(line, [skip], 'dev', 'prod')).toEqual({ source: dev, target: prod });
    expect(() => checkForward(line, [{ ...skip, allowSkip: false }], 'dev', 'prod')).toThrow(RuleViolation);
  });

  it('an unvalidated promotion expires after the tunable hours', () => {
    expect(pendingExpirySeconds({ pendingExpiryHours: 72 })).toBe(259_200);
  });
});

describe('separation of duties and the release an approval is bound to', () => {
  const promotion = (patch: Partial<Promotion> = {}) =>
    ({
      releaseDigest: 'd1',
      requestedBy: { id: 'bob', name: 'bob' },
      rebasedBy: null,
      policy: { ...defaultPolicy(line, prod) },
      ...patch,
    }) as Promotion;
  const approval = (by: string, digest = 'd1') => ({ by, name: by, at: '', digest }) as Approval;

  it('whoever chose the content (the requester, and whoever rebased it) is the requester for separation of duties', () => {
    expect(contentChoosers(promotion())).toEqual(['bob']);
    expect(contentChoosers(promotion({ rebasedBy: { id: 'dave', name: 'dave', at: '' } }))).toEqual(['bob', 'dave']);
  });

  it('only approvals of the current release count, and under separation of duties none from whoever chose its content', () => {
    const p = promotion({ rebasedBy: { id: 'dave', name: 'dave', at: '' } });
    const all = [approval('bob'), approval('dave'), approval('carol'), approval('erin', 'd0')];
    expect(countable(p, all).map((a) => a.by)).toEqual(['carol']);
    const noSoD = promotion({ policy: { ...p.policy, separationOfDuties: false } });
    expect(countable(noSoD, all).map((a) => a.by)).toEqual(['bob', 'dave', 'carol']);
  });

  it('a decision made from a message about one release is refused once the promotion is on another', () => {
    const p = { id: 'p1', status: 'AWAITING_APPROVAL' as const, releaseDigest: 'd2' };
    expect(() => assertRelease(p, 'd2')).not.toThrow();
    expect(() => assertRelease(p, 'd1')).toThrow(TransitionNotAllowed);
    expect(() => assertRelease(p, 'd1')).toThrow(/^p1 was rebased onto another release since this was sent/);
  });

  it('evidence speaks for the release it was posted for (or any, when it names none)', () => {
    expect(forCurrentRelease({}, { releaseDigest: 'd1' })).toBe(true);
    expect(forCurrentRelease({ releaseDigest: 'd1' }, { releaseDigest: 'd1' })).toBe(true);
    expect(forCurrentRelease({ releaseDigest: 'd0' }, { releaseDigest: 'd1' })).toBe(false);
  });

  it('a config release digest changes with the source content and with each part of the selection', () => {
    const subject = {
      type: 'config' as const,
      promotionType: 'SELECTIVE' as const,
      sourceSnapshot: { seq: 3, digest: 'c1' },
      configIds: ['a'],
      flagIds: ['f'],
      keyPatterns: ['x.*'],
    };
    const base = configReleaseDigest(subject as never);
    const variants = [
      { sourceSnapshot: { seq: 3, digest: 'c2' } },
      { promotionType: 'FULL' },
      { configIds: ['b'] },
      { flagIds: ['g'] },
      { keyPatterns: ['y.*'] },
    ].map((patch) => configReleaseDigest({ ...subject, ...patch } as never));
    expect(new Set([base, ...variants]).size).toBe(6);
    // The snapshot's sequence number alone is not content.
    expect(configReleaseDigest({ ...subject, sourceSnapshot: { seq: 4, digest: 'c1' } } as never)).toBe(base);
  });
});
