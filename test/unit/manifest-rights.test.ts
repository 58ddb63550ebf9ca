import { describe, expect, it } from 'vitest';
import type { Principal } from '../../domain/access/auth.ts';
import type { Binding } from '../../domain/access/bindings.ts';
import { assertMayApply, environmentsOf, withNeeds } from '../../domain/manifest/rights.ts';
import type { Change, Setup } from '../../domain/manifest/sections.ts';

/** Which right each change of a manifest needs, and the all-or-nothing decision over a plan (domain/manifest/rights.ts). */
const setup = (recurring: { name: string; target: string }[] = []) => ({ recurring_promotions: recurring }) as unknown as Setup;
const cur = setup([{ name: 'nightly', target: 'staging' }]);
const want = setup([{ name: 'nightly', target: 'production' }]);
const change = (path: string, extra: Partial<Change> = {}): Change => ({ op: 'change', path, before: 1, after: 2, ...extra });

describe('manifest changes and the rights they need', () => {
  it('each section acts in its environment; every other section is tenant-wide', () => {
    const where = (c: Change) => environmentsOf(c, cur, want);
    expect(where(change('environment_settings.staging.description'))).toEqual(['staging']);
    expect(where(change('gates.production.manual_approval'))).toEqual(['production']);
    expect(where(change('webhook_gates.staging.change-board.timeout_ms'))).toEqual(['staging']);
    expect(where(change('git_targets.production.branch'))).toEqual(['production']);
    expect(where(change('change_control.production.approvedStates'))).toEqual(['production']);
    expect(where({ op: 'remove', path: 'change_control.staging', before: {} })).toEqual(['staging']);
    expect(where(change('approval_rules.staging->production.requiredApprovers'))).toEqual(['production']);
    expect(where(change('approval_rules.dev-->staging'))).toEqual(['staging']);
    expect(where({ op: 'add', path: 'freeze_windows', after: { reason: 'x', environment: 'production' } })).toEqual(['production']);
    expect(where({ op: 'remove', path: 'freeze_windows', before: { reason: 'x' } })).toEqual([null]);
    // A recurring promotion moved from staging to production acts in both.
    expect(where(change('recurring_promotions.nightly.target'))).toEqual(['staging', 'production']);
    for (const p of [
      'bindings.group:a admin',
      'notifications.slack.channels',
      'webhooks.production https://x.test/a',
      'registry_links.api',
      'analysis_templates.p95',
      'group_mapping.entries',
    ])
      expect(where(change(p)), p).toEqual([null]);
  });

  it('a plan is refused whole, naming each place the caller lacks the right and the changes there; allowed where every change is covered', () => {
    const bindings: Binding[] = [{ group: 'payments', role: 'admin', environments: ['staging'] }];
    const me: Pick<Principal, 'id' | 'name' | 'groups' | 'roles'> = { id: 'u1', name: 'u1@x.test', groups: ['payments'], roles: [] };
    const staging = withNeeds([change('environment_settings.staging.description'), change('gates.staging.manual_approval')], cur, want);
    expect(staging[0]!.needs).toEqual({ role: 'admin', environments: ['staging'] });
    expect(() => assertMayApply(me, bindings, staging)).not.toThrow();

    const wide = withNeeds([...staging, change('environment_settings.production.description'), change('bindings.group:payments admin')], cur, want);
    let refused: any;
    try {
      assertMayApply(me, bindings, wide);
    } catch (e) {
      refused = e;
    }
    expect(refused?.name).toBe('Forbidden');
    expect(refused.message).toMatch(/environments\.production/);
    expect(refused.message).toMatch(/tenant-wide/);
    expect(refused.message).not.toMatch(/environments\.staging/);
    expect(refused.details.changes).toEqual([
      { path: 'environment_settings.production.description', environments: ['production'] },
      { path: 'bindings.group:payments admin', environments: ['*'] },
    ]);
    // A tenant-wide admin (token role or a `*` binding) holds every one.
    expect(() => assertMayApply({ ...me, roles: ['admin'] }, [], wide)).not.toThrow();
    expect(() => assertMayApply(me, [{ group: 'payments', role: 'admin', environments: ['*'] }], wide)).not.toThrow();
    // A deployer bound everywhere is not an admin anywhere.
    expect(() => assertMayApply(me, [{ group: 'payments', role: 'deployer', environments: ['*'] }], staging)).toThrow(/environments\.staging/);
  });
});
