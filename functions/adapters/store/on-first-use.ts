import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Store, WriteOp } from '#domain/ports';
import type { Area } from './area.ts';
import { storeBase, type StoreBase } from './base.ts';
import { committer } from './commit.ts';
import type { storeAreas } from './index.ts';

type Areas = ReturnType<typeof storeAreas>;
type AreaName = keyof Areas;
type PortOf<A> = A extends { port: infer P } ? P : never;
type AnyArea = Area<object, WriteOp>;

/**
 * How one area is reached before its module is read: its module, loaded by `import()` (a chunk of
 * its own, so a function's module init reads none of the areas and its requests read only those they
 * use), and its port's methods, every one (the compiler refuses a list that leaves one out or adds
 * one). A method is async (`true`), or returns at once an object of async methods (their names).
 */
interface OnFirstUse<N extends AreaName> {
  load(base: StoreBase, area: <M extends AreaName>(name: M) => Promise<Areas[M]>): Promise<Areas[N]>;
  methods: Record<keyof PortOf<Areas[N]>, true | readonly string[]>;
}

/** The areas of the table (index.ts storeAreas composes the same ones at once). */
export const AREAS: { [N in AreaName]: OnFirstUse<N> } = {
  environments: {
    load: async (base) => (await import('./environments.ts')).environmentArea(base),
    methods: {
      getEnvironment: true,
      listEnvironments: true,
      createEnvironment: true,
      updateEnvironment: true,
      deleteEnvironment: true,
      monitorWatchers: true,
      putItemIds: true,
      getItemId: true,
      manifestHead: true,
      getTarget: true,
      getTargetHead: true,
      listTargetHeads: true,
    },
  },
  snapshots: {
    load: async (base, area) => (await import('./snapshots.ts')).snapshotArea(base, await area('environments')),
    methods: { commitSnapshot: true, getSnapshot: true, listSnapshots: true, nodes: ['getNodes'], putNodes: true },
  },
  promotions: {
    load: async (base) => (await import('./promotions.ts')).promotionArea(base),
    methods: {
      getPromotion: true,
      listPromotions: true,
      listRolloutTargets: true,
      getRolloutTarget: true,
      getRolloutTargets: true,
      putPlanPages: true,
      getPlanPages: true,
      activePromotions: true,
      listApprovals: true,
      listEvidence: true,
      acquireLock: true,
      releaseLock: true,
      getLock: true,
      getReleaseClaim: true,
    },
  },
  policies: {
    load: async (base) => (await import('./policies.ts')).policyArea(base),
    methods: { getRule: true, listFreezeWindows: true, listRules: true, getRecurringPromotion: true, listRecurringPromotions: true },
  },
  artifacts: {
    load: async (base) => (await import('./artifacts.ts')).artifactArea(base),
    methods: {
      getArtifactVersion: true,
      getPointer: true,
      listPointers: true,
      getBundle: true,
      listBundles: true,
      putRepoLink: true,
      deleteRepoLink: true,
      listRepoLinks: true,
      getRepoLink: true,
      linkedArtifacts: true,
      repoLinksOf: true,
      listArtifactVersions: true,
      getTag: true,
      listTags: true,
      listConsumers: true,
    },
  },
  deployments: {
    load: async (base) => (await import('./deployments.ts')).deploymentArea(base),
    methods: {
      listDeployments: true,
      getMetrics: true,
      markFirstSeen: true,
      firstSeen: true,
      putCurrent: true,
      getCurrent: true,
      findDeployment: true,
      getDeployment: true,
      putScrapeToken: true,
      getScrapeToken: true,
    },
  },
  audit: {
    load: async (base) => (await import('./audit.ts')).auditArea(base),
    methods: {
      queryAudit: true,
      readChainLinks: true,
      getAuditEntries: true,
      auditRefs: true,
      chainHead: true,
      linkState: true,
      writeLinks: true,
      appendLinks: true,
      markUnanchored: true,
      unanchored: true,
      clearUnanchored: true,
    },
  },
  auditStream: {
    load: async (base) => (await import('./audit-stream.ts')).auditStreamArea(base),
    methods: {
      listAuditDestinations: true,
      getAuditDestination: true,
      putAuditDestination: true,
      deleteAuditDestination: true,
      moveAuditCursor: true,
      markShipBacklog: true,
      shipBacklogs: true,
      clearShipBacklog: true,
    },
  },
  outbox: {
    load: async (base) => (await import('./outbox.ts')).outboxArea(base),
    methods: {},
  },
  notifications: {
    load: async (base) => (await import('./notifications.ts')).notificationArea(base),
    methods: {
      getNotificationSettings: true,
      listNotificationSettings: true,
      putNotificationSettings: true,
      putReviewLink: true,
      getReviewLink: true,
      useReviewLink: true,
      putSlackLinkCode: true,
      getSlackLinkCode: true,
      getSlackLink: true,
      listSlackLinks: true,
      linkSlack: true,
      unlinkSlack: true,
      recordDelivery: true,
      listDeliveries: true,
    },
  },
  idempotency: {
    load: async (base) => (await import('./idempotency.ts')).idempotencyArea(base),
    methods: { claimIdempotency: true, completeIdempotency: true, releaseIdempotency: true, claimOnce: true, releaseOnce: true },
  },
  appKeys: {
    load: async (base) => (await import('./app-keys.ts')).appKeyArea(base),
    methods: { putAppKey: true, getAppKey: true, listAppKeys: true, appKeyAndEnvironment: true, touchAppKey: true },
  },
  webhooks: {
    load: async (base) => (await import('./webhooks.ts')).webhookArea(base),
    methods: {
      getWebhook: true,
      listWebhooks: true,
      putWebhook: true,
      deleteWebhook: true,
      setWebhookHealth: true,
      createWebhookDelivery: true,
      getWebhookDelivery: true,
      updateWebhookDelivery: true,
      listWebhookDeliveries: true,
    },
  },
  gitTargets: {
    load: async (base) => (await import('./git-targets.ts')).gitTargetArea(base),
    methods: {
      getGitTarget: true,
      putGitTarget: true,
      deleteGitTarget: true,
      getDeploymentGate: true,
      listDeploymentGates: true,
      putDeploymentGate: true,
      deleteDeploymentGate: true,
      getDeploymentRun: true,
      putDeploymentRun: true,
      deploymentRunsOf: true,
      answerDeploymentRun: true,
    },
  },
  tenants: {
    load: async (base) => (await import('./tenants.ts')).tenantArea(base),
    methods: {
      createTenant: true,
      getTenant: true,
      setEmailDomains: true,
      claimDomain: true,
      releaseDomain: true,
      tenantInUse: true,
      putMember: true,
      indexMember: true,
      removeMember: true,
      getMember: true,
      listMembers: true,
      notBefore: true,
      getBindings: true,
      getIdentityProvider: true,
      putIdentityProvider: true,
      deleteIdentityProvider: true,
      domainHolder: true,
      getGroupMapping: true,
    },
  },
  analysisTemplates: {
    load: async (base) => (await import('./analysis-templates.ts')).analysisTemplateArea(base),
    methods: { getAnalysisTemplates: true, getMetricAccounts: true },
  },
  instances: {
    load: async (base) => (await import('./instances.ts')).instanceArea(base),
    methods: { recordInstance: true, listInstances: true, countInstances: true },
  },
  attestations: {
    load: async (base) => (await import('./attestations.ts')).attestationArea(base),
    methods: { getAttestation: true, putAttestation: true },
  },
  scim: {
    load: async (base) => (await import('./scim.ts')).scimArea(base),
    methods: {
      putScimToken: true,
      getScimToken: true,
      deleteScimToken: true,
      putScimRecord: true,
      getScimRecord: true,
      listScimRecords: true,
      deleteScimRecord: true,
      scimClaimsComplete: true,
      claimScimValue: true,
      scimClaimHolders: true,
      markScimClaimsComplete: true,
    },
  },
};

/** Each write kind's area (a kind left out does not compile; the unit test checks each against the area's own list). */
export const KIND_AREAS: Record<WriteOp['kind'], AreaName> = {
  environment: 'environments',
  manifestHead: 'environments',
  targetHead: 'environments',
  ownHeadsBack: 'environments',
  snapshot: 'snapshots',
  promotion: 'promotions',
  approval: 'promotions',
  evidence: 'promotions',
  rolloutTarget: 'promotions',
  leaseFree: 'promotions',
  bundle: 'artifacts',
  rule: 'policies',
  deleteRule: 'policies',
  rulePair: 'policies',
  freezeWindow: 'policies',
  deleteFreezeWindow: 'policies',
  recurringPromotion: 'policies',
  deleteRecurringPromotion: 'policies',
  tag: 'artifacts',
  consumer: 'artifacts',
  pointer: 'artifacts',
  artifactVersion: 'artifacts',
  repoLink: 'artifacts',
  deleteRepoLink: 'artifacts',
  deployment: 'deployments',
  metrics: 'deployments',
  audit: 'audit',
  event: 'outbox',
  notifySettings: 'notifications',
  webhook: 'webhooks',
  deleteWebhook: 'webhooks',
  gitTarget: 'gitTargets',
  deleteGitTarget: 'gitTargets',
  analysisTemplates: 'analysisTemplates',
  metricAccounts: 'analysisTemplates',
  accessBindings: 'tenants',
  groupMapping: 'tenants',
};

/** The areas that add items to every commit (`merged`: the metric counters), whatever its ops. */
export const MERGED_AREAS: readonly AreaName[] = ['deployments'];

/**
 * The DynamoDB store, its areas made on first use: each method loads its area's module on its first
 * call (once; a failed load is not kept) and calls the area's own function on the store (`this`), as
 * the composed store does; `commit` loads the areas that own its ops' kinds and those that merge
 * items into every commit, and commits across them as index.ts `service` does.
 */
export function dynamoStore(db: DynamoDBDocumentClient, table: string): Store {
  const base = storeBase(db, table);
  const made = new Map<AreaName, Promise<AnyArea>>();
  const area = <N extends AreaName>(name: N): Promise<Areas[N]> => {
    let p = made.get(name);
    if (!p) {
      p = (AREAS[name] as OnFirstUse<AreaName>).load(base, area).catch((err: unknown) => {
        made.delete(name);
        throw err;
      });
      made.set(name, p);
    }
    return p as Promise<Areas[N]>;
  };
  type Fn = (...args: unknown[]) => unknown;
  const portFn = async (name: AreaName, method: string) => ((await area(name)) as AnyArea).port[method as never] as Fn;
  const methods: Record<string, unknown> = {};
  for (const [name, { methods: ms }] of Object.entries(AREAS) as [AreaName, OnFirstUse<AreaName>][]) {
    for (const [method, how] of Object.entries(ms) as [string, true | readonly string[]][]) {
      if (method in methods || method === 'commit') throw new Error(`store: ${method} is defined by two areas (one is ${name})`);
      methods[method] =
        how === true
          ? async function (this: unknown, ...args: unknown[]) {
              return (await portFn(name, method)).apply(this, args);
            }
          : function (this: unknown, ...args: unknown[]) {
              const self = this;
              return Object.fromEntries(
                how.map((inner) => [
                  inner,
                  async (...innerArgs: unknown[]) => ((await portFn(name, method)).apply(self, args) as Record<string, Fn>)[inner]!(...innerArgs),
                ]),
              );
            };
    }
  }
  methods.commit = async (tenant: string, ops: WriteOp[]) => {
    const names = new Set<AreaName>(MERGED_AREAS);
    for (const op of ops) if (KIND_AREAS[op.kind]) names.add(KIND_AREAS[op.kind]);
    const areas = Object.fromEntries(await Promise.all([...names].map(async (n) => [n, await area(n)] as const)));
    return committer(base, areas).commit(tenant, ops);
  };
  return methods as unknown as Store;
}

/**
 * DynamoDB implementation of the Store port (single table; keys and index attributes in keys.ts):
 * `new DynamoStore(client, table)`. Its methods are its areas' own functions, each area made on first
 * use; a method that calls another of its area's calls it on the store (`this`), so a store derived
 * from this one with a method replaced (a test's crashing `writeLinks`) reaches the replacement.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface DynamoStore extends Store {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class DynamoStore {
  declare protected readonly db: DynamoDBDocumentClient;
  declare protected readonly table: string;
  constructor(db: DynamoDBDocumentClient, table: string) {
    // The store object itself, keeping its client and table: copying its methods again onto an
    // instance cost more than making them (V8 reshapes the object at every function-valued field).
    return Object.assign(dynamoStore(db, table), { db, table }) as unknown as DynamoStore;
  }
}
