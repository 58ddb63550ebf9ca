import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignVariant, checkFlagValue, evaluateFlag, parseOfrepRequest } from '../../domain/config/effective.ts';
import { checkKey, formatKey, hashSecret, parseKey } from '../../domain/access/app-keys.ts';
import type { AppKey } from '../../domain/access/model.ts';

const rollout = (on: number, off = 100 - on) => ({ variants: { on: true, off: false }, weights: { on, off } });

describe('fractional rollout', () => {
  it('is stable and monotone: raising a variant keeps everyone who had it', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (flag, user, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        if (hi === 0) return;
        const before = assignVariant(flag, user, rollout(lo));
        expect(assignVariant(flag, user, rollout(lo))).toBe(before);
        if (before === 'on') expect(assignVariant(flag, user, rollout(hi))).toBe('on');
      }),
    );
  });

  it('splits close to the weights', () => {
    const users = Array.from({ length: 20_000 }, (_, i) => `u${i}`);
    const on = users.filter((u) => assignVariant('flag', u, rollout(10)) === 'on').length / users.length;
    expect(on).toBeGreaterThan(0.09);
    expect(on).toBeLessThan(0.11);
  });

  it('answers SPLIT with the variant, TARGETING_KEY_MISSING without a targeting key, STATIC for a plain value', () => {
    expect(evaluateFlag('f', { $rollout: rollout(100) }, { targetingKey: 'x' }, {})).toMatchObject({ value: true, reason: 'SPLIT', variant: 'on' });
    expect(evaluateFlag('f', { $rollout: rollout(100) }, {}, {})).toMatchObject({ errorCode: 'TARGETING_KEY_MISSING' });
    expect(evaluateFlag('f', { a: 1 }, {}, {})).toMatchObject({ value: { a: 1 }, reason: 'STATIC' });
  });

  it('refuses malformed rollouts where they are written, naming what to fix', () => {
    expect(() => checkFlagValue({ $rollout: { variants: { on: true }, weights: { on: 0 } } })).toThrow(/Request is invalid/);
    expect(() => checkFlagValue({ $rollout: { variants: {}, weights: {} } })).toThrow();
    expect(() => checkFlagValue({ $rollout: rollout(10), extra: 1 })).toThrow();
    expect(() => checkFlagValue({ rollout: 0.1 })).not.toThrow();
  });

  it('parses OFREP bodies: PARSE_ERROR for non-JSON, INVALID_CONTEXT for a bad context', () => {
    expect(parseOfrepRequest('{x')).toMatchObject({ error: { errorCode: 'PARSE_ERROR' } });
    expect(parseOfrepRequest('[]')).toMatchObject({ error: { errorCode: 'INVALID_CONTEXT' } });
    expect(parseOfrepRequest('{"context":{"targetingKey":1}}')).toMatchObject({ error: { errorCode: 'INVALID_CONTEXT' } });
    expect(parseOfrepRequest('{"context":{"targetingKey":"u","plan":"pro"}}')).toEqual({ context: { targetingKey: 'u', plan: 'pro' } });
    expect(parseOfrepRequest(undefined)).toEqual({ context: {} });
  });
});

describe('app key check', () => {
  const secret = 'A'.repeat(43);
  const key: AppKey = {
    tenant: 'acme',
    id: 'ak_0123456789abcdef',
    name: 'k',
    environment: 'staging',
    secrets: [{ hash: hashSecret(secret), createdAt: '2026-01-01T00:00:00Z' }],
    createdAt: '',
    createdBy: '',
    version: 1,
  };
  const now = new Date('2026-06-01T00:00:00Z');
  it('binds the key to its tenant and environment, and compares only live secrets', () => {
    const parsed = parseKey(formatKey(key, secret));
    expect(checkKey(parsed, key, 'staging', now)).toMatchObject({ tenant: 'acme', environment: 'staging' });
    expect(() => checkKey(parsed, key, 'production', now)).toThrow(/reads environment 'staging' only/);
    expect(() => checkKey(parseKey(formatKey(key, 'B'.repeat(43))), key, 'staging', now)).toThrow(/not valid/);
    expect(() => checkKey(parsed, { ...key, tenant: 'globex' }, 'staging', now)).toThrow(/not valid/);
    expect(() => checkKey(parsed, { ...key, secrets: [{ ...key.secrets[0]!, expiresAt: '2026-05-31T00:00:00Z' }] }, 'staging', now)).toThrow(/not valid/);
    expect(() => checkKey(parsed, { ...key, revokedAt: '2026-05-01T00:00:00Z' }, 'staging', now)).toThrow(/revoked/);
    expect(parseKey('slk.acme.staging.ak_0123456789abcdef')).toBeNull();
    expect(parseKey(`slk.acme.Staging.ak_0123456789abcdef.${secret}`)).toBeNull();
  });
});
