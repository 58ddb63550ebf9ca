import type { Sealed, Sealer } from '../../domain/kernel/sealed.ts';
import type { Principal, Role } from '../../domain/access/auth.ts';
import { DEFAULT_TUNABLES } from '../../domain/kernel/tunables.ts';
import type { Ctx, With } from '../../domain/ports.ts';
import type { DomainEvent, SchedulePayload } from '../../domain/kernel/ports.ts';
import type { Workflow } from '../../domain/promotion/ports.ts';
import { memoryStore } from './memory-store.ts';

/**
 * Deps for fast tests of use cases: the memory store, a clock the test moves, and recording fakes of
 * the ports a promotion's use cases call (the flow they start, the schedules they arm, the events they
 * publish). Webhook gates, the registry, git and alarms are not there to be called: a test that
 * reaches them fails. The clock moves on a millisecond each time it is read, so what is written later
 * sorts later (audit entries, promotion ids), as on a real clock.
 */
/** A visible, reversible seal for the domain's tests (the real one is AES-GCM: functions/adapters/secret-box.ts). */
export const sealedForTest = (plain: string): Sealed => `sealed-for-test:${Buffer.from(plain).toString('base64url')}` as unknown as Sealed;
export const testSealer: Sealer = {
  seal: async (plain) => sealedForTest(plain),
  same: async (stored, plain) => (stored as unknown as string) === (sealedForTest(plain) as unknown as string),
};

export function memoryDeps(start = new Date('2030-01-01T09:00:00.000Z')) {
  let now = start.getTime();
  const store = memoryStore();
  /** flows started, as the workflow was asked to */
  const started: Parameters<Workflow['start']>[0][] = [];
  /** task tokens answered: a decision (output) or a failure (error) */
  const answered: { token: string; output?: Record<string, unknown>; error?: string }[] = [];
  const schedules = new Map<string, { at: Date; payload: SchedulePayload; cron?: string; timeZone?: string; enabled?: boolean }>();
  const published: DomainEvent[] = [];
  const absent = (what: string) => () => Promise.reject(new Error(`${what} is not part of these tests`));

  const deps: With<'workflow' | 'scheduler' | 'events' | 'gates' | 'registry' | 'git' | 'alarms' | 'metrics' | 'anchor' | 'sealer'> = {
    store,
    clock: () => new Date(now++),
    tunables: { ...DEFAULT_TUNABLES, retryBudgetMs: 2000 },
    workflow: {
      async start(input) {
        started.push(input);
        return `exec-${input.promotionId}`;
      },
      async sendTaskSuccess(token, output) {
        answered.push({ token, output });
        return true;
      },
      async sendTaskFailure(token, error) {
        answered.push({ token, error });
        return true;
      },
      async startWave(input) {
        started.push({ ...input, approvalTimeoutSeconds: 0 });
        return `wave-${input.promotionId}-${input.wave}`;
      },
    },
    scheduler: {
      async scheduleOnce(name, at, payload) {
        schedules.set(name, { at, payload });
      },
      async scheduleRecurring(name, schedule, payload) {
        schedules.set(name, { at: new Date(0), payload, ...schedule });
      },
      async cancel(name) {
        schedules.delete(name);
      },
    },
    events: {
      async publish(events) {
        published.push(...events);
      },
    },
    gates: { call: absent('a webhook gate') },
    changes: { open: absent('a change management tool') },
    sealer: testSealer,
    registry: { sync: absent('the registry'), attach: absent('the registry'), verifySignature: absent('the registry') },
    git: {
      commit: absent('a git target'),
      pushBranch: absent('a git target'),
      hosts: {
        check: absent('a pull-request host'),
        find: absent('a pull-request host'),
        whoami: absent('a pull-request host'),
        open: absent('a pull-request host'),
        get: absent('a pull-request host'),
        merge: absent('a pull-request host'),
        close: absent('a pull-request host'),
        deleteBranch: absent('a pull-request host'),
      },
    },
    alarms: { states: absent('an alarm') },
    metrics: { query: absent('a metrics provider') },
    anchor: {
      sign: absent('the audit anchor'),
      signBytes: absent('the audit anchor'),
      tenantKey: absent('the audit anchor'),
      append: absent('the audit anchor'),
      list: absent('the audit anchor'),
      verify: absent('the audit anchor'),
      publicKey: absent('the audit anchor'),
    },
  };
  return {
    deps,
    store,
    started,
    answered,
    schedules,
    published,
    /** moves the clock on */
    advance: (seconds: number) => void (now += seconds * 1000),
  };
}

/** A request's context: a user of the tenant with these roles (and the groups of the same names). */
export function userCtx(tenant: string, name: string, ...roles: Role[]): Ctx {
  const principal: Principal = { tenant, id: `${name}-id`, name: `${name}@${tenant}.test`, roles, groups: [...roles], kind: 'user' };
  return { principal, requestId: `req-${name}` };
}
