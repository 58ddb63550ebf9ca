import { describe, expect, it } from 'vitest';
import type { Role } from '../../domain/access/auth.ts';
import { BINDING_ROLES, holds, rightsIn, type Binding } from '../../domain/access/bindings.ts';
import { explainRights, rightsMatrix } from '../../domain/access/rights.ts';

/** The rights matrix explains rightsIn, never decides on its own: a right has a grant exactly when rightsIn holds it, and each grant names a source that grants it. */
const ENVS = ['dev', 'staging', 'production'];
const BINDINGS: Binding[] = [
  { group: 'payments', role: 'deployer', environments: ['staging'] },
  { group: 'release', role: 'approver', environments: ['production'] },
  { user: 'lead@acme.test', role: 'break-glass', environments: ['production'] },
  { user: 'u-ops', role: 'admin', environments: ['dev'] },
  { group: 'sre', role: 'admin', environments: ['*'] },
  { user: 'lead@acme.test', role: 'viewer', environments: ['*'] },
];
const PEOPLE: { id: string; name: string; roles: Role[]; groups: string[] }[] = [
  { id: 'u-none', name: 'none@acme.test', roles: [], groups: [] },
  { id: 'u-pay', name: 'pay@acme.test', roles: [], groups: ['payments'] },
  { id: 'u-both', name: 'both@acme.test', roles: ['viewer'], groups: ['payments', 'release'] },
  { id: 'u-lead', name: 'lead@acme.test', roles: [], groups: [] },
  { id: 'u-ops', name: 'ops@acme.test', roles: ['deployer'], groups: [] },
  { id: 'u-sre', name: 'sre@acme.test', roles: [], groups: ['sre'] },
  { id: 'u-admin', name: 'admin@acme.test', roles: ['admin'], groups: ['admin'] },
  { id: 'u-appr', name: 'appr@acme.test', roles: ['approver'], groups: ['approver'] },
];

describe('rightsMatrix', () => {
  it('a right has grants exactly when rightsIn holds it, for every person, environment (and tenant-wide) and right', () => {
    for (const who of PEOPLE)
      for (const row of rightsMatrix(who, BINDINGS, ENVS))
        for (const right of BINDING_ROLES)
          expect(row.rights[right].length > 0, `${who.id} ${row.environment} ${right}`).toBe(holds(rightsIn(who, BINDINGS, row.environment), right));
  });

  it('names what grants each cell: a binding there, a tenant-wide role, or a binding elsewhere (reading only)', () => {
    const pay = PEOPLE[1]!;
    const staging = explainRights(pay, BINDINGS, 'staging').rights;
    expect(staging.deployer).toEqual([{ binding: BINDINGS[0] }]);
    expect(staging.viewer).toEqual([{ binding: BINDINGS[0] }]);
    expect(staging.approver).toEqual([]);
    const production = explainRights(pay, BINDINGS, 'production').rights;
    expect(production.deployer).toEqual([]);
    expect(production.viewer).toEqual([{ binding: BINDINGS[0], elsewhere: true }]);

    const lead = explainRights(PEOPLE[3]!, BINDINGS, 'production').rights;
    expect(lead['break-glass']).toEqual([{ binding: BINDINGS[2] }]);
    expect(lead.viewer).toEqual([{ binding: BINDINGS[5] }]);
    expect(lead.deployer).toEqual([]);

    const admin = explainRights(PEOPLE[6]!, BINDINGS, null).rights;
    for (const right of BINDING_ROLES) expect(admin[right], right).toEqual([{ role: 'admin' }]);

    // An admin binding in dev only: admin and break-glass there, a deployer (the token's role) tenant-wide.
    const ops = PEOPLE[4]!;
    expect(explainRights(ops, BINDINGS, 'dev').rights['break-glass']).toEqual([{ binding: BINDINGS[3] }]);
    expect(explainRights(ops, BINDINGS, 'dev').rights.deployer).toEqual([{ role: 'deployer' }, { binding: BINDINGS[3] }]);
    expect(explainRights(ops, BINDINGS, null).rights.admin).toEqual([]);
  });

  it('the tenant-wide row comes first, then the environments in the order given', () => {
    expect(rightsMatrix(PEOPLE[0]!, BINDINGS, ENVS).map((r) => r.environment)).toEqual([null, ...ENVS]);
    expect(rightsMatrix(PEOPLE[0]!, [], ENVS).every((r) => BINDING_ROLES.every((x) => r.rights[x].length === 0))).toBe(true);
  });
});
