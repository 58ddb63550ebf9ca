import type { Principal } from '#domain/access/auth';
import { createEnvironment } from '#domain/config/environments';
import { batchItems } from '#domain/config/items';
import type { Deps } from '#domain/ports';
import { sealer } from '../functions/adapters/secret-box.ts';
import { putNotificationSettings, notificationSettingsBody } from '#domain/notify/settings';
import { createEnvironment as envSchema, batchItems as batchSchema } from '#domain/kernel/schemas';

/** Seeds the demo tenant through the domain (audited like any change). Safe to run on every start. */
export async function seedDemo(given: Deps, tenant = 'acme', opts: { publicUrl?: string } = {}): Promise<void> {
  // The seed writes an environment and the Slack webhook: it seals them, as their functions do.
  const deps = { ...given, sealer: given.sealer ?? sealer() };
  // Production is protected: its starting content is setup (ctx.setup: only into an environment that never
  // changed), not a break-glass; a fresh stack must not show an incident.
  const ctx = {
    principal: { tenant, id: 'seed', name: 'seed@stageline.local', roles: ['admin'], kind: 'machine' } satisfies Principal,
    setup: true as const,
  };
  const line = [
    { name: 'dev', displayName: 'Development', position: 0, gates: {} },
    { name: 'staging', displayName: 'Staging', position: 1, gates: { tests: true, security_scan: true } },
    {
      name: 'production',
      displayName: 'Production',
      position: 2,
      protected: true,
      gates: { tests: true, security_scan: true, cost_analysis: true, performance_baseline: true },
    },
  ];
  for (const env of line) {
    if (!(await deps.store.getEnvironment(tenant, env.name))) {
      await createEnvironment(deps, ctx, envSchema.parse({ ...env, reason: 'demo seed' }));
    }
  }
  const common = [
    { key: 'query.timeout', value: '120s', description: 'Query engine timeout' },
    { key: 'query.max-rows', value: 10000 },
    { key: 'ai.model', value: 'gpt-4' },
  ];
  const sets: Record<string, { kind?: 'config' | 'flag'; key: string; value: unknown; description?: string }[]> = {
    production: [...common, { kind: 'flag', key: 'new-dashboard', value: false }],
    staging: [
      ...common.map((c) => (c.key === 'query.timeout' ? { ...c, value: '180s' } : c)),
      { key: 'ai.new-model', value: 'gpt-4-turbo' },
      { kind: 'flag', key: 'new-dashboard', value: true },
    ],
    dev: [
      ...common.map((c) => (c.key === 'query.timeout' ? { ...c, value: '240s' } : c)),
      { key: 'ai.new-model', value: 'gpt-4-turbo' },
      { kind: 'flag', key: 'new-dashboard', value: true },
      { kind: 'flag', key: 'beta-search', value: { rollout: 0.1 } },
    ],
  };
  for (const [env, set] of Object.entries(sets)) {
    // Unchanged items are skipped, so a re-run writes nothing.
    await batchItems(deps, ctx, env, batchSchema.parse({ set, reason: 'demo seed' }));
  }
  // Notifications: Slack to the local webhook stand-in, email to ops and to every eligible approver.
  if (opts.publicUrl && !(await deps.store.getNotificationSettings(tenant, 'tenant'))) {
    await putNotificationSettings(
      deps,
      ctx,
      'tenant',
      notificationSettingsBody.parse({
        slack: { webhook: `${opts.publicUrl}/dev/slack/platform-ops`, channels: ['#platform-ops'], teamId: 'T0ACME' },
        email: { recipients: ['ops@acme.example'], approvers: true },
      }),
    );
  }
}
