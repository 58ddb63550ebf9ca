import type * as z from 'zod';
import type { RollbackImpact } from '../domain/kernel/promotion-model.ts';
import type { changeView } from '../domain/promotion/terms/release.ts';
import type { scimTokenIssuedResponse, scimTokenResponse, tenantCreatedResponse, userResponse, usersListResponse } from '../functions/http/responses/access.ts';
import type {
  artifactPublishResponse,
  artifactVersionsResponse,
  bundle,
  bundlesResponse,
  bundleVersionsResponse,
  deploymentHistoryResponse,
  deploymentMetrics,
  metricsTokenIssuedResponse,
  repoLinkCreatedResponse,
  repoLinksResponse,
} from '../functions/http/responses/artifacts.ts';
import type { auditDestination, auditDestinationList, auditListResponse, auditPublicKey, auditVerify } from '../functions/http/responses/audit.ts';
import type { diff, predecessorDiffResponse, itemsBatchResponse, itemsListResponse, snapshotsListResponse } from '../functions/http/responses/config.ts';
import type { appKey, appKeysListResponse, effectiveResponse, withSecret } from '../functions/http/responses/consume.ts';
import type {
  calendarResponse,
  environmentResponse,
  environmentRollbackResponse,
  environmentsListResponse,
  environmentTargetsResponse,
  freezeListResponse,
  freezeWindow,
  statusResponse,
} from '../functions/http/responses/environments.ts';
import type { deploymentGateResponse, gitTargetResponse } from '../functions/http/responses/gitops.ts';
import type { changeCheckResponse, changeControlResponse } from '../functions/http/responses/change.ts';
import type { recurringPromotionResponse, recurringPromotionsList } from '../functions/http/responses/recurring.ts';
import type { manifestApplyResponse, manifestPlanResponse } from '../functions/http/responses/manifest.ts';
import type { notificationSettings, slackLinkCodeResponse, slackLinksListResponse } from '../functions/http/responses/notifications.ts';
import type {
  evidence,
  promotionChangesResponse,
  promotionCreateResponse,
  promotionDetailResponse,
  targetConfirmResponse,
  promotionExecuteResponse,
  promotionResponse,
  promotionRollbackResponse,
  promotionsListResponse,
  promotionsPlanResponse,
} from '../functions/http/responses/promotions.ts';
import type { authConfigResponse, errorBody } from '../functions/http/responses/service.ts';
import type { analysisTemplatesList, analysisTemplateWithVersion, metricAccountsResponse } from '../functions/http/responses/verification.ts';
import type { webhookDeliveries, webhookDeliveryResponse, webhookResponse, webhooksList, webhookWithSecret } from '../functions/http/responses/webhooks.ts';

/**
 * What the API answers the CLI, typed from the schemas the OpenAPI document publishes
 * (functions/http/responses/, the schema each route's row names): types only, so no schema is
 * loaded when the CLI runs. Each call of api() names the answer of its route. Where the contract
 * keeps a part open (a dry run's preview, a rollback's impact analysis), the part is typed as
 * the domain makes it, beside the schema's type.
 */
type Out<S extends z.core.$ZodType> = z.infer<S>;
/** The dry-run variant of an answer ({dryRun: true, …}), and the answer without it. */
type DryRunOf<S extends z.core.$ZodType> = Extract<Out<S>, { dryRun: true }>;
type Done<S extends z.core.$ZodType> = Exclude<Out<S>, { dryRun: true }>;

// promotions
export type PromotionDetail = Out<typeof promotionDetailResponse>;
export type TargetConfirm = Out<typeof targetConfirmResponse>;
/** A promotion: the view most routes answer, or the detail (with the approvals so far) GET /promotions/{id} answers. */
export type Promotion = Out<typeof promotionResponse> & Partial<Pick<PromotionDetail, 'approvals'>>;
export type PromotionList = Out<typeof promotionsListResponse>;
export type PromotionsPlan = Out<typeof promotionsPlanResponse>;
export type Changes = Out<typeof promotionChangesResponse>;
export type Evidence = Out<typeof evidence>;
/** POST /promotions with dryRun: the preview domain/promotion/request/request.ts makes. */
export type PromotionDryRun = DryRunOf<typeof promotionCreateResponse> & {
  sourceEnvironment: string;
  targetEnvironment: string;
  releaseDigest: string;
  artifact?: string;
  from?: string | null;
  to?: string;
  /** a bundle: its name and digest, and each member's move */
  bundle?: { name: string; digest: string };
  members?: { artifact: string; from: string | null; to: string; digest: string; moves: boolean }[];
  changes?: ReturnType<typeof changeView>[];
  unchanged?: number;
  gates?: { gate: string; enabled: boolean; blocking: boolean }[];
  webhookGates?: { name: string; blocking: boolean }[];
  approval?: { required: boolean; approvers: number; groups: string[]; separationOfDuties: boolean };
};
export type PromotionCreate = Done<typeof promotionCreateResponse> | PromotionDryRun;
export type PromotionExecute = Out<typeof promotionExecuteResponse>;
/** POST /promotions/{id}/rollback: the rollback made (an artifact's with its impact analysis, domain/promotion/rollback/environment.ts). */
export type PromotionRollback = Done<typeof promotionRollbackResponse> & { impact?: RollbackImpact };
/** The same with dryRun: what it would revert, and for an artifact the impact analysis (domain/promotion/rollback.ts). */
export type PromotionRollbackPreview = DryRunOf<typeof promotionRollbackResponse> & {
  targetEnvironment: string;
  reverts: Record<string, unknown>[];
  impact?: RollbackImpact;
};
/** POST /environments/{env}/rollback, with or without dryRun. */
export type EnvironmentRollback = Out<typeof environmentRollbackResponse> & { impact: RollbackImpact };
export type { RollbackImpact };

// environments, configs, status, freeze windows, git targets
export type Environment = Out<typeof environmentResponse>;
export type EnvironmentList = Out<typeof environmentsListResponse>;
export type Status = Out<typeof statusResponse>;
export type Calendar = Out<typeof calendarResponse>;
export type ItemPage = Out<typeof itemsListResponse>;
export type ItemsBatch = Out<typeof itemsBatchResponse>;
export type SnapshotPage = Out<typeof snapshotsListResponse>;
export type Diff = Out<typeof diff>;
export type PredecessorDiff = Out<typeof predecessorDiffResponse>;
export type FreezeList = Out<typeof freezeListResponse>;
export type FreezeWindow = Out<typeof freezeWindow>;
export type GitTarget = Out<typeof gitTargetResponse>;
export type DeploymentGate = Out<typeof deploymentGateResponse>;
export type ChangeControl = Out<typeof changeControlResponse>;
export type ChangeCheck = Out<typeof changeCheckResponse>;

// artifacts and registry links
export type Published = Out<typeof artifactPublishResponse>;
/** GET /artifacts/{name}/versions: every published version; with ?environment=, the versions that entered it. */
export type Bundle = Out<typeof bundle>;
export type Bundles = Out<typeof bundlesResponse>;
export type BundleVersions = Out<typeof bundleVersionsResponse>;
export type ArtifactVersions = Exclude<Out<typeof artifactVersionsResponse>, { environment: string }>;
export type EnvironmentVersions = Extract<Out<typeof artifactVersionsResponse>, { environment: string }>;
export type RegistryLinks = Out<typeof repoLinksResponse>;
export type RegistryLinkCreated = Out<typeof repoLinkCreatedResponse>;

// audit, manifest
export type AuditPage = Out<typeof auditListResponse>;
export type AuditVerification = Out<typeof auditVerify>;
export type AuditDestination = Out<typeof auditDestination>;
export type AuditDestinationList = Out<typeof auditDestinationList>;
export type AuditPublicKey = Out<typeof auditPublicKey>;
export type ManifestPlan = Out<typeof manifestPlanResponse>;
export type ManifestApply = Out<typeof manifestApplyResponse>;

// notifications, Slack, webhooks
export type NotificationSettings = Out<typeof notificationSettings>;
export type SlackLinkCode = Out<typeof slackLinkCodeResponse>;
export type SlackLinks = Out<typeof slackLinksListResponse>;
export type Webhook = Out<typeof webhookResponse>;
export type WebhookWithSecret = Out<typeof webhookWithSecret>;
export type WebhookList = Out<typeof webhooksList>;
export type WebhookDeliveries = Out<typeof webhookDeliveries>;
export type WebhookDelivery = Out<typeof webhookDeliveryResponse>;

// app keys, users, tenants, sign-in
export type AppKey = Out<typeof appKey>;
export type AppKeyList = Out<typeof appKeysListResponse>;
export type AppKeyWithSecret = Out<typeof withSecret>;
export type ScimToken = Out<typeof scimTokenResponse>;
export type ScimTokenIssued = Out<typeof scimTokenIssuedResponse>;
export type Effective = Out<typeof effectiveResponse>;
export type EnvironmentTargets = Out<typeof environmentTargetsResponse>;
export type DeploymentList = Out<typeof deploymentHistoryResponse>;
export type DeploymentMetrics = Out<typeof deploymentMetrics>;
export type MetricsTokenIssued = Out<typeof metricsTokenIssuedResponse>;
export type User = Out<typeof userResponse>;
export type UserList = Out<typeof usersListResponse>;
export type TenantCreated = Out<typeof tenantCreatedResponse>;
export type AuthConfig = Out<typeof authConfigResponse>;

/** The API's error body; what a gateway answers has `message` only. */
export type ApiError = Out<typeof errorBody>;
export type AnalysisTemplate = Out<typeof analysisTemplateWithVersion>;
export type AnalysisTemplateList = Out<typeof analysisTemplatesList>;
export type MetricAccounts = Out<typeof metricAccountsResponse>;
export type RecurringPromotion = Out<typeof recurringPromotionResponse>;
export type RecurringPromotionList = Out<typeof recurringPromotionsList>;
