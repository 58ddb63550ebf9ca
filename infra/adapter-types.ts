/** The shapes of the adapter table (infra/adapters.ts): what each adapter needs from the stack. */

/** Resources the stack provides to adapters (infra/needs.ts gives each an env value and IAM resource ARNs). */
export type Resource =
  | 'promotionMachine'
  | 'waveMachine'
  | 'stagelineSchedules'
  | 'scheduleGroup'
  | 'schedulerRole'
  | 'scheduleTarget'
  | 'scheduleDlq'
  | 'eventBus'
  | 'auditKey'
  | 'attestationKeys'
  | 'attestationKeyAliases'
  | 'attestationKeyAliasPrefix'
  | 'attestationSigner'
  | 'newKmsKeys'
  | 'checkpointBucket'
  | 'checkpointObjects'
  | 'secretsKey'
  | 'tenantSecrets'
  | 'tenantSecretsRole'
  | 'secretsPrefix'
  | 'registrySecret'
  | 'ecrAuthorization'
  | 'ecrRepositories'
  | 'userPool'
  | 'emailIdentity'
  | 'tenantDataRole'
  | 'jwtIssuer'
  | 'jwtAudience'
  | 'loginDomain'
  | 'slackSigningSecret'
  | 'webhookTarget'
  | 'webhookSecrets'
  | 'monitoredAlarms'
  | 'tenantMetricRoles'
  | 'tenantMetricSession'
  | 'tenantAuditRoles'
  | 'tenantAuditSession'
  | 'deploymentRegion';

/** IAM actions one SDK command needs, on a resource (the actions are those AWS authorises the command by). */
export interface Grant {
  actions: string[];
  on: Resource;
  /** a condition on the statement (e.g. a prefix), where the command allows one */
  condition?: Record<string, Record<string, string[]>>;
}

export interface Need {
  /** environment variable → the resource whose name, id or ARN it carries */
  env?: Record<string, Resource>;
  /** SDK command (class name without `Command`) → the grants it needs */
  commands?: Record<string, Grant[]>;
}

export interface AdapterDecl {
  /** the module, relative to the repo root */
  module: string;
  /** needed as soon as the module is in a bundle (it reads these when it is constructed, or sends these commands whoever calls it) */
  always?: Need;
  /**
   * needed only by bundles whose code makes this port call (`workflow.start` matches `deps.workflow.start(…)`):
   * for an adapter that every function bundles but few call, or that different functions call in part
   */
  calls?: Record<string, Need>;
  /** environment the module reads that the deployed stack does not set on purpose (local mode, or set by Lambda itself), and why */
  notDeployed?: Record<string, string>;
}
