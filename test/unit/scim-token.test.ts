import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../domain/access/app-keys.ts';
import { checkScimToken, emailOf, formatScimToken, parseScimToken, type ScimToken } from '../../domain/access/scim.ts';
import { ValidationFailed } from '../../domain/kernel/errors.ts';

const secret = 'a'.repeat(43);
const record = (tenant: string, s = secret): ScimToken => ({
  tenant,
  secrets: [{ hash: hashSecret(s), createdAt: '2026-01-01T00:00:00.000Z' }],
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'ada',
  version: 1,
});
const now = new Date('2026-06-01T00:00:00Z');

describe('the SCIM token: one purpose, one tenant', () => {
  it('reads only its own form: an app key, an ID token or a truncated token is not one', () => {
    expect(parseScimToken(formatScimToken('acme', secret))).toEqual({ tenant: 'acme', secret });
    for (const other of [`slk.acme.dev.ak_0123456789abcdef.${secret}`, 'eyJhbGciOiJSUzI1NiJ9.e30.sig', `scim.acme.${secret.slice(1)}`, `scim..${secret}`, ''])
      expect(parseScimToken(other)).toBeNull();
  });

  it("is checked against its tenant's record: another tenant's secret, an altered secret or no record answer 401", () => {
    expect(checkScimToken(parseScimToken(formatScimToken('acme', secret)), record('acme'), now)).toMatchObject({ tenant: 'acme', roles: [], kind: 'machine' });
    const refused = (token: string, r: ScimToken | null) => () => checkScimToken(parseScimToken(token), r, now);
    expect(refused(formatScimToken('acme', 'b'.repeat(43)), record('acme'))).toThrow(/not valid/);
    expect(refused(formatScimToken('acme', secret), record('globex'))).toThrow(/not valid/);
    expect(refused(formatScimToken('acme', secret), null)).toThrow(/not valid/);
    expect(refused('Bearer nothing', record('acme'))).toThrow(/SCIM token/);
  });

  it('a SCIM user signs in with the primary email, else the userName when it is an address; otherwise 400 naming emails', () => {
    expect(emailOf({ userName: 'x', emails: [{ value: 'b@x.test' }, { value: 'A@X.test', primary: true }] })).toBe('a@x.test');
    expect(emailOf({ userName: 'Lee@X.test' })).toBe('lee@x.test');
    expect(() => emailOf({ userName: 'Test_User_1' })).toThrow(ValidationFailed);
  });
});
