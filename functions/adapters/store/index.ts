import type { CommitPort, WriteOp } from '#domain/ports';
import type { Area } from './area.ts';
import type { StoreBase } from './base.ts';
import { committer } from './commit.ts';
import { environmentArea } from './environments.ts';
import { snapshotArea } from './snapshots.ts';
import { promotionArea } from './promotions.ts';
import { policyArea } from './policies.ts';
import { artifactArea } from './artifacts.ts';
import { deploymentArea } from './deployments.ts';
import { auditArea } from './audit.ts';
import { auditStreamArea } from './audit-stream.ts';
import { outboxArea } from './outbox.ts';
import { notificationArea } from './notifications.ts';
import { idempotencyArea } from './idempotency.ts';
import { appKeyArea } from './app-keys.ts';
import { webhookArea } from './webhooks.ts';
import { gitTargetArea } from './git-targets.ts';
import { tenantArea } from './tenants.ts';
import { analysisTemplateArea } from './analysis-templates.ts';
import { instanceArea } from './instances.ts';
import { attestationArea } from './attestations.ts';
import { scimArea } from './scim.ts';

/**
 * The areas of the single table (one file each), each on the one shared base (client, table,
 * transactions, paging); every key pattern comes from keys.ts. A new entity goes into the area
 * whose port declares its methods (domain/ports.ts), or a new area here and in on-first-use.ts (how the
 * functions reach it).
 */
export function storeAreas(base: StoreBase) {
  const environments = environmentArea(base);
  return {
    environments,
    snapshots: snapshotArea(base, environments),
    promotions: promotionArea(base),
    policies: policyArea(base),
    artifacts: artifactArea(base),
    deployments: deploymentArea(base),
    audit: auditArea(base),
    auditStream: auditStreamArea(base),
    outbox: outboxArea(base),
    notifications: notificationArea(base),
    idempotency: idempotencyArea(base),
    appKeys: appKeyArea(base),
    webhooks: webhookArea(base),
    gitTargets: gitTargetArea(base),
    tenants: tenantArea(base),
    analysisTemplates: analysisTemplateArea(base),
    instances: instanceArea(base),
    attestations: attestationArea(base),
    scim: scimArea(base),
  };
}

type PortOf<A> = A extends { port: infer P } ? P : never;
/** The method names two areas both define. */
type Shared<A> = { [K in keyof A]: { [J in Exclude<keyof A, K>]: keyof PortOf<A[K]> & keyof PortOf<A[J]> }[Exclude<keyof A, K>] }[keyof A];
/** Compiles only when no method is defined by two areas (the error names it). */
type NoShared<A> = [Shared<A>] extends [never] ? unknown : { 'a method defined by two areas': Shared<A> };
/** The write kinds the areas own. */
type KindsOf<A> = { [K in keyof A]: A[K] extends { writes?: { kinds: readonly (infer Kind)[] } } ? Kind : never }[keyof A];
/** Compiles only when every kind of WriteOp has an area that writes it (the error names the missing ones). */
type AllKindsOwned<A> = [Exclude<WriteOp['kind'], KindsOf<A>>] extends [never] ? unknown : { 'write kinds no area owns': Exclude<WriteOp['kind'], KindsOf<A>> };
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
/** The composed store: every area's methods, flat, and the commit across them. */
export type Composed<A> = CommitPort & Intersection<PortOf<A[keyof A]>>;

/**
 * Composes areas into one store, the way ElectroDB's Service composes entities: each method is its
 * one area's (the store's method is the area's own function), and `commit` writes ops of every area
 * in one transaction, asking the area that owns each op's kind for its items. Checked when it
 * compiles: no method defined by two areas, every write kind owned (and at run time: no kind claimed twice).
 */
export function service<A extends Record<string, Area<object, WriteOp>>>(base: StoreBase, areas: A & NoShared<A> & AllKindsOwned<A>): Composed<A> {
  const methods: Record<string, unknown> = {};
  for (const [name, area] of Object.entries(areas)) {
    for (const [method, fn] of Object.entries(area.port)) {
      if (method in methods || method === 'commit') throw new Error(`store: ${method} is defined by two areas (one is ${name})`);
      methods[method] = fn;
    }
  }
  return Object.assign(methods, committer(base, areas)) as Composed<A>;
}
