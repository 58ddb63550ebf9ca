import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { awsName, ROLE_SESSION_NAME, SCHEDULE_NAME } from '../../domain/kernel/aws-names.ts';
import { reminderName } from '../../domain/notify/notifier.ts';
import { scheduleName } from '../../domain/promotion/run/schedule-name.ts';
import { sweepName } from '../../domain/promotion/terms/stuck.ts';

/** Every valid tenant name (functions/http/principal.ts, infra/stack.ts TENANT): 1–64 of [A-Za-z0-9_-], starting alphanumeric. */
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const tenant = fc.tuple(fc.constantFrom(...ALNUM), fc.string({ unit: fc.constantFrom(...`${ALNUM}_-`), maxLength: 63 })).map(([first, rest]) => first + rest);
/** Promotion ids as generated, and anything else an id could be (the names must not depend on their shape). */
const id = fc.oneof(fc.stringMatching(/^prm_[0-9a-z]{10,26}$/), fc.string({ minLength: 1, maxLength: 80 }));
const SCHEDULE_CHARS = /^[0-9A-Za-z_.-]{1,64}$/;
const SESSION_CHARS = /^[\w+=,.@-]{2,64}$/;

describe('AWS names made at run time', () => {
  it("schedule and reminder names are within the scheduler's limits and distinct for distinct (tenant, id), over the full range of tenant names", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(tenant, id), { minLength: 2, maxLength: 40, selector: ([t, i]) => `${t}\u0000${i}` }), (pairs) => {
        const names = pairs.flatMap(([t, i]) => [scheduleName({ tenant: t, id: i }), reminderName({ tenant: t, id: i })]);
        for (const n of names) expect(n).toMatch(SCHEDULE_CHARS);
        for (const n of names) expect(n.startsWith('stageline-')).toBe(true); // the IAM grant covers schedule/default/stageline-*
        expect(new Set(names).size).toBe(names.length);
      }),
      { numRuns: 300 },
    );
  });

  it('two promotions of a 64-character tenant get two schedules (the cut name gave them one)', () => {
    const t = 'a'.repeat(64);
    const [a, b] = [
      { tenant: t, id: 'prm_0000000001' },
      { tenant: t, id: 'prm_0000000002' },
    ];
    // Cut to 64 characters, both names were the same.
    expect(`stageline-${a.tenant}-${a.id}`.slice(0, 64)).toBe(`stageline-${b.tenant}-${b.id}`.slice(0, 64));
    expect(scheduleName(a)).not.toBe(scheduleName(b));
    expect(reminderName(a)).not.toBe(reminderName(b));
  });

  it("session names stay within STS limits and distinct per tenant; sweep names within the scheduler's", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(tenant, { minLength: 2, maxLength: 40 }),
        id,
        fc.date({ min: new Date('2020-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        (tenants, i, at) => {
          const sessions = tenants.map((t) => awsName('stageline-', [t], ROLE_SESSION_NAME));
          for (const s of sessions) expect(s).toMatch(SESSION_CHARS);
          expect(new Set(sessions).size).toBe(sessions.length);
          for (const t of tenants) expect(sweepName({ tenant: t, id: i }, at)).toMatch(SCHEDULE_CHARS);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps the readable part when it fits, and refuses a prefix that leaves no room', () => {
    expect(scheduleName({ tenant: 'acme', id: 'prm_1' })).toMatch(/^stageline-acme-prm_1-[0-9a-f]{20}$/);
    expect(() => awsName('x'.repeat(60), ['t'], SCHEDULE_NAME)).toThrow(/no room/);
  });
});
