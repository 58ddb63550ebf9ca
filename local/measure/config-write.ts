import { createEnvironment } from '#domain/config/environments';
import { createItem, itemId, updateItem } from '#domain/config/items';
import { createEnvironment as envSchema, createItem as createItemSchema, updateItem as updateItemSchema } from '#domain/kernel/schemas';
import { ctxOf } from './api.ts';
import { newInvocation, type Invocation } from './attribution.ts';
import type { Harness } from './harness.ts';
import { usersOf } from './tenants.ts';

/** What one config write (a key changed: the environment's head moves) costs in an environment of `targets` targets. */
export interface ConfigWriteCounts {
  targets: number;
  /** the targets' JSON, as the environment declares them */
  targetsBytes: number;
  /** per write: write units (AWS rules: transactions at 2 per KB of each item), DynamoDB requests, read units */
  wru: number;
  requests: number;
  rru: number;
}

/** A target as a deployment declares one: a region, two labels, an endpoint parameter, a callback confirmation (about 200 bytes of JSON). */
const target = (i: number, waves: number, count: number) => ({
  name: `t-${String(i + 1).padStart(3, '0')}`,
  labels: { tier: i === 0 ? 'canary' : 'main', cell: `cell-${i % 10}` },
  wave: Math.min(waves, 1 + Math.floor((i * waves) / count)),
  region: 'eu-west-1',
  parameters: [{ kind: 'config', key: 'endpoint', value: `https://t-${i + 1}.eu-west-1.example.com` }],
  confirm: { mode: 'callback', timeoutSeconds: 900 },
});

/**
 * `count` targets as a deployment declares them, in `waves` waves of equal size; past 1,000 as a large fleet declares
 * them (a name, a wave, a region label: about 70 bytes, so 10,000 fit the 1.5 MiB the targets hold in all).
 */
export const fleetTargets = (count: number, waves: number) =>
  Array.from({ length: count }, (_, i) =>
    count <= 1000
      ? target(i, waves, count)
      : {
          name: `t-${String(i + 1).padStart(5, '0')}`,
          wave: Math.min(waves, 1 + Math.floor((i * waves) / count)),
          labels: { region: ['eu-west-1', 'us-east-1'][i % 2]! },
        },
  );

/**
 * Setup (not measured): production, and before it `edge` with `targets` targets (none: its one implicit target) in up to 5 waves, one config
 * key in it. Measured: `writes` changes of that key through the use case (each reads the environment, writes the
 * changed trie nodes, and moves the head: the environment's item, the snapshot and the audit entry in one
 * transaction), each its own attributed invocation; the figures are per write (the mean).
 */
export async function configWriteFlow(b: Harness, tenant: string, targets: number, writes = 3, waves = Math.min(5, targets)): Promise<ConfigWriteCounts> {
  const u = usersOf(tenant);
  const declared = targets ? fleetTargets(targets, waves) : undefined;
  // The last environment of a line is protected (changes only by promotion): edge comes before production.
  await createEnvironment(b.deps, ctxOf(u.admin), envSchema.parse({ name: 'production', position: 1, reason: 'bench' }));
  await createEnvironment(
    b.deps,
    ctxOf(u.admin),
    envSchema.parse({ name: 'edge', position: 0, reason: 'bench', ...(declared ? { targets: declared, rollout: { maxParallel: 10 } } : {}) }),
  );
  await createItem(b.deps, ctxOf(u.deployer), 'config', 'edge', createItemSchema.parse({ key: 'feature.x', value: 0 }));
  await b.stream.idle();
  const runs: Invocation[] = [];
  for (let n = 1; n <= writes; n++) {
    const inv = newInvocation('config-write', `config write ${n} (${targets} targets)`, 'api');
    await b.attribution.run(inv, () =>
      updateItem(b.deps, ctxOf(u.deployer), 'config', 'edge', itemId('config', 'feature.x'), updateItemSchema.parse({ value: n })),
    );
    runs.push(inv);
  }
  const mean = (f: (i: Invocation) => number) => runs.reduce((s, i) => s + f(i), 0) / runs.length;
  return {
    targets,
    targetsBytes: declared ? Buffer.byteLength(JSON.stringify(declared)) : 0,
    wru: mean((i) => i.wru),
    requests: mean((i) => Object.values(i.requests).reduce((a, x) => a + x, 0)),
    rru: mean((i) => i.rru),
  };
}
