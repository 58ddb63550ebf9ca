import { createEnvironment } from '#domain/config/environments';
import { createEnvironment as envSchema } from '#domain/kernel/schemas';
import { ctxOf, type User } from './api.ts';
import type { Harness } from './harness.ts';

/** A measured tenant's set-up (domain calls, not measured): its users and its line of environments. */

export function usersOf(tenant: string) {
  return {
    admin: { tenant, sub: `${tenant}-admin`, email: `admin@${tenant}.bench`, groups: ['admin'] } satisfies User,
    deployer: { tenant, sub: `${tenant}-deployer`, email: `deployer@${tenant}.bench`, groups: ['deployer'] } satisfies User,
    approver: { tenant, sub: `${tenant}-approver`, email: `approver@${tenant}.bench`, groups: ['approver'] } satisfies User,
  };
}

/** dev → staging → production; production has the tests, security_scan and cost_analysis gates on. */
export async function makeLine(b: Harness, admin: User): Promise<void> {
  const ctx = ctxOf(admin);
  await createEnvironment(b.deps, ctx, envSchema.parse({ name: 'dev', position: 0, reason: 'bench' }));
  await createEnvironment(b.deps, ctx, envSchema.parse({ name: 'staging', position: 1, reason: 'bench' }));
  await createEnvironment(
    b.deps,
    ctx,
    envSchema.parse({ name: 'production', position: 2, reason: 'bench', gates: { tests: true, security_scan: true, cost_analysis: true } }),
  );
}
