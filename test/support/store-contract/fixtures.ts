import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { AppKey } from '../../../domain/access/model.ts';
import type { Role } from '../../../domain/access/auth.ts';
import type { Member } from '../../../domain/access/ports.ts';
import type { Consumer, RepoLink, Tag } from '../../../domain/artifacts/model.ts';
import { auditEntry, type AuditDraft } from '../../../domain/audit/audit.ts';
import type { FreezeWindow } from '../../../domain/freeze/model.ts';
import type { GitTarget } from '../../../domain/gitops/ports.ts';
import { ValidationFailed } from '../../../domain/kernel/errors.ts';
import type { Status } from '../../../domain/kernel/lifecycle.ts';
import type { AuditEntry, Environment, NodeRef, Snapshot } from '../../../domain/kernel/model.ts';
import type { ArtifactPointer, ArtifactVersion, Deployment, Promotion, Rule } from '../../../domain/kernel/promotion-model.ts';
import { WriteConflict } from '../../../domain/kernel/retry.ts';
import type { NotificationSettings } from '../../../domain/notify/model.ts';
import type { Store } from '../../../domain/ports.ts';
import { sealedForTest } from '../memory-deps.ts';
import type { Target } from '../../../domain/kernel/target-schemas.ts';
import type { DomainEvent } from '../../../domain/kernel/ports.ts';
import type { WebhookDelivery, WebhookSubscription } from '../../../domain/webhooks/model.ts';

/** What every case of the contract is given: the store under test (one per run), and a fresh tenant for its data. */
export interface Contract {
  store(): Store;
  tenant(): string;
  /** puts an item as it is, past the store (an item as an earlier version of the store wrote it) */
  putItem(item: Record<string, unknown>): Promise<void>;
}

export const newTenant = () => `c${randomUUID().replaceAll('-', '').slice(0, 10)}`;
export const uid = (prefix = '') => `${prefix}${randomUUID().replaceAll('-', '').slice(0, 12)}`;

/** The reason of the WriteConflict the write fails with (the test fails if it succeeds or fails otherwise). */
export async function conflict(write: Promise<unknown>): Promise<string> {
  try {
    await write;
  } catch (err) {
    if (err instanceof WriteConflict) return err.reason;
    throw err;
  }
  throw new Error('expected a WriteConflict; the write succeeded');
}

/** The first issue's message of the ValidationFailed the call fails with. */
export async function refused(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationFailed);
  return (err as ValidationFailed).issues[0]!.message;
}

/** Every page of a listing, following its cursors (at most 50 pages), with the size of each. */
export async function allPages<T>(read: (cursor?: string) => Promise<{ items: T[]; nextCursor?: string }>): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = [];
  const sizes: number[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const page = await read(cursor);
    items.push(...page.items);
    sizes.push(page.items.length);
    cursor = page.nextCursor;
    if (!cursor) return { items, sizes };
  }
  throw new Error('a listing that never ends');
}

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
let ticks = 0;
/** A time after every one handed out before (entries and ids sort by it). */
export const later = () => new Date(T0 + ++ticks * 1000);

export const REF: NodeRef = { a: 'a'.repeat(64), c: 'c'.repeat(64), n: 0 };
export const ROOTS = { config: REF, flag: REF };

export function audit(tenant: string, draft: Partial<AuditDraft> = {}, at = later()): AuditEntry {
  return auditEntry(
    tenant,
    { actor: 'u1', actorName: 'u1@x.test', action: 'config.update', entityType: 'config', entityId: 'dev/k', before: null, after: null, ...draft },
    at,
  );
}

/** A person of a tenant, as the people index holds them. */
export function member(tenant: string, id: string, roles: Role[]): Member {
  return { tenant, id, email: `${id}@x.test`, roles, createdAt: '2030-01-01T00:00:00.000Z' };
}

export function environment(tenant: string, name: string, position: number, over: Partial<Environment> = {}): Environment {
  return {
    tenant,
    name,
    displayName: name,
    position,
    description: '',
    protected: false,
    gates: { policy_compliance: true, tests: false, security_scan: false, cost_analysis: false, performance_baseline: false },
    webhookGates: [],
    concurrency: 'queue',
    autoPromotionPaused: false,
    bakeSeconds: 0,
    registries: [],
    head: { seq: 1, digest: 'sha256:empty', roots: ROOTS },
    itemCount: 0,
    version: 1,
    createdAt: '2030-01-01T00:00:00.000Z',
    createdBy: 'u1',
    updatedAt: '2030-01-01T00:00:00.000Z',
    updatedBy: 'u1',
    ...over,
  };
}

export function snapshot(environment: string, seq: number, over: Partial<Snapshot> = {}): Snapshot {
  return {
    environment,
    seq,
    digest: `sha256:${environment}-${seq}`,
    roots: ROOTS,
    parentSeq: seq > 1 ? seq - 1 : null,
    itemCount: 0,
    createdAt: '2030-01-01T00:00:00.000Z',
    createdBy: 'u1',
    change: { action: seq > 1 ? 'set' : 'create', keys: [], count: 0 },
    ...over,
  };
}

/** `n` targets (t-001…) in waves of `perWave`, each with a label, a parameter and a callback confirmation. */
export function targets(n: number, perWave = 2): Target[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `t-${String(i + 1).padStart(3, '0')}`,
    labels: { tier: i === 0 ? 'canary' : 'main' },
    wave: Math.floor(i / perWave) + 1,
    parameters: [{ kind: 'config' as const, key: 'endpoint', value: `https://t-${i + 1}.example.com` }],
    monitors: [],
    confirm: { mode: 'callback' as const, timeoutSeconds: 600 },
  }));
}

/** A promotion id as the domain makes them: time-ordered (a later one sorts after). */
export const promotionId = () => `prm_${later().getTime().toString(36).padStart(9, '0')}${uid().slice(0, 10)}`;

export function promotion(tenant: string, over: Partial<Promotion> = {}): Promotion {
  const id = over.id ?? promotionId();
  return {
    tenant,
    id,
    subject: { type: 'artifact', name: 'web', version: 'v1', digest: 'sha256:web-v1' },
    sourceEnvironment: 'dev',
    targetEnvironment: 'staging',
    status: 'PENDING' satisfies Status,
    releaseDigest: 'sha256:web-v1',
    notes: '',
    requestedBy: { id: 'u1', name: 'u1@x.test' },
    requestedAt: '2030-01-01T00:00:00.000Z',
    policy: {
      ruleId: null,
      requiresApproval: true,
      requiredApprovers: 1,
      approverGroups: ['approver'],
      separationOfDuties: true,
      approvalExpirySeconds: 86400,
    },
    policyDigest: 'sha256:policy',
    approvedBy: [],
    gates: null,
    trigger: 'on_approval',
    scheduledAt: null,
    taskToken: null,
    executionId: null,
    rejection: null,
    result: null,
    error: null,
    autoPromoted: false,
    version: 1,
    updatedAt: '2030-01-01T00:00:00.000Z',
    completedAt: null,
    transitions: [{ status: 'PENDING', at: '2030-01-01T00:00:00.000Z', by: 'u1' }],
    ...over,
  };
}

export function rule(id: string, over: Partial<Rule> = {}): Rule {
  return {
    id,
    name: id,
    sourceEnvironment: 'dev',
    targetEnvironment: 'staging',
    requiresApproval: true,
    requiredApprovers: 1,
    approverGroups: ['approver'],
    separationOfDuties: true,
    approvalExpirySeconds: 86400,
    autoPromote: false,
    conditions: null,
    allowSkip: false,
    status: 'active',
    version: 1,
    createdAt: '2030-01-01T00:00:00.000Z',
    createdBy: 'u1',
    updatedAt: '2030-01-01T00:00:00.000Z',
    updatedBy: 'u1',
    ...over,
  };
}

/** acme's one-off freeze window over `scope` (by default 2030-01-01 08:00–12:00 UTC, id frz_<scope>), as the guard tests use it. */
export const freezeOver = (scope: string, start = '2030-01-01T08:00:00Z', end = '2030-01-01T12:00:00Z', id = `frz_${scope}`): FreezeWindow => ({
  id,
  tenant: 'acme',
  scope,
  reason: 'release freeze',
  kind: 'once',
  start,
  end,
  createdBy: 'alice',
  createdAt: start,
});

export const freezeWindow = (tenant: string, id: string): FreezeWindow => ({
  id,
  tenant,
  scope: '*',
  reason: 'release freeze',
  kind: 'once',
  start: '2030-02-01T00:00:00.000Z',
  end: '2030-02-02T00:00:00.000Z',
  createdBy: 'u1',
  createdAt: '2030-01-01T00:00:00.000Z',
});

export const artifactVersion = (name: string, version: string, metadata: Record<string, unknown> = {}): ArtifactVersion => ({
  name,
  version,
  digest: `sha256:${name}-${version}`,
  sourceCommit: 'f00dfeed',
  metadata,
  publishedAt: '2030-01-01T00:00:00.000Z',
  publishedBy: 'u1',
});

export const pointer = (environment: string, name: string, version: string, version_: number): ArtifactPointer => ({
  environment,
  name,
  version,
  digest: `sha256:${name}-${version}`,
  promotedAt: '2030-01-01T00:00:00.000Z',
  promotedBy: 'u1',
  promotionId: null,
  version_,
});

export const tag = (artifact: string, environment: string, kind: Tag['kind'], version: string, digest = `sha256:${artifact}-${version}`): Tag => ({
  name: kind === 'latest' ? `latest-${environment}` : `${version}-${environment}${kind === 'rollback' ? '-rollback' : ''}`,
  artifact,
  version,
  digest,
  environment,
  kind,
  mutable: kind === 'latest',
  createdAt: '2030-01-01T00:00:00.000Z',
  createdBy: 'u1',
});

export const consumer = (artifact: string, name: string, constraint: string): Consumer => ({
  artifact,
  name,
  constraint,
  kind: 'caret',
  environment: null,
  updatedAt: '2030-01-01T00:00:00.000Z',
  updatedBy: 'u1',
});

export const repoLink = (tenant: string, artifact: string, id: string, registry: string, repository: string): RepoLink => ({
  tenant,
  artifact,
  id,
  registry,
  repository,
  tags: { semver: true },
  tokenHash: 'sha256:token',
  createdAt: '2030-01-01T00:00:00.000Z',
  createdBy: 'u1',
});

export const deployment = (environment: string, deployedAt: string, over: Partial<Deployment> = {}): Deployment => ({
  id: uid('dep-'),
  environment,
  imageTag: 'web:v1',
  gitCommit: 'f00dfeed',
  gitBranch: 'main',
  status: 'DEPLOYED',
  deployedAt,
  completedAt: null,
  promotionId: null,
  digest: 'sha256:web-v1',
  deployedBy: 'u1',
  ...over,
});

export const settings = (tenant: string, scope: string, version: number, channels: string[] = ['#releases']): NotificationSettings => ({
  tenant,
  scope,
  slack: { webhook: sealedForTest('https://hooks.slack.test/services/T0/B0/x'), origin: 'https://hooks.slack.test', channels },
  events: ['approval-required'],
  version,
  updatedAt: '2030-01-01T00:00:00.000Z',
  updatedBy: 'u1',
});

export const appKey = (tenant: string, id: string, version: number): AppKey => ({
  tenant,
  id,
  name: id,
  environment: 'dev',
  secrets: [{ hash: 'a'.repeat(64), createdAt: '2030-01-01T00:00:00.000Z' }],
  createdAt: '2030-01-01T00:00:00.000Z',
  createdBy: 'u1',
  version,
});

export const webhook = (tenant: string, id: string, version: number): WebhookSubscription => ({
  tenant,
  id,
  url: 'https://hooks.example.test/stageline',
  events: ['promotion.completed'],
  environment: null,
  description: '',
  enabled: true,
  secrets: [{ id: 'sec1', createdAt: '2030-01-01T00:00:00.000Z', expiresAt: null }],
  health: { status: 'ok', consecutiveFailures: 0, lastFailureAt: null, reason: null },
  version,
  createdAt: '2030-01-01T00:00:00.000Z',
  createdBy: 'u1',
  updatedAt: '2030-01-01T00:00:00.000Z',
  updatedBy: 'u1',
});

export const webhookDelivery = (tenant: string, subscription: string, id: string, rev: number): WebhookDelivery => ({
  tenant,
  subscription,
  id,
  eventId: uid('evt-'),
  eventType: 'promotion.completed',
  payload: '{}',
  status: 'pending',
  attempts: [],
  roundStartedAt: null,
  nextAttemptAt: null,
  createdAt: '2030-01-01T00:00:00.000Z',
  rev,
});

export const gitTarget = (tenant: string, environment: string, version: number): GitTarget => ({
  tenant,
  environment,
  repository: 'https://git.example.test/deploy.git',
  branch: 'main',
  file: 'values.yaml',
  path: 'image.tag',
  value: 'version',
  tokenSecret: null,
  version,
  createdAt: '2030-01-01T00:00:00.000Z',
  createdBy: 'u1',
  updatedAt: '2030-01-01T00:00:00.000Z',
  updatedBy: 'u1',
});

/** A valid domain event (Break Glass Used), with an id of its own. */
export const event = (tenant: string, id = uid('evt-')): DomainEvent => ({
  id,
  type: 'Break Glass Used',
  tenant,
  detail: {
    tenant,
    environment: 'dev',
    guard: 'protected-environment',
    action: 'config.update',
    actor: 'u1@x.test',
    reason: 'hotfix',
    at: '2030-01-01T00:00:00.000Z',
  },
});
