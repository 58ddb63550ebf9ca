/**
 * Domain errors. Each is a named class; `functions/http/errors.ts` is the one
 * place that maps them to HTTP status codes.
 */
export interface Issue {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  /**
   * The class's name, written out in each class: the bundles are minified without keepNames, so a class's
   * own name is not kept, and Step Functions catches these by name (`Frozen`, `TargetBusy` in the ASL).
   */
  abstract override readonly name: string;
  readonly details?: Record<string, unknown>;
  // Fields set by hand, not as parameter properties: the CI action loads this file with Node's type stripping.
  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.details = details;
  }
}

/** Input failed validation; carries every issue found. */
export class ValidationFailed extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  override readonly name = 'ValidationFailed';
  readonly issues: Issue[];
  constructor(issues: Issue[], message = 'Request is invalid') {
    super(message, { issues });
    this.issues = issues;
  }
}

export class MalformedJson extends DomainError {
  readonly code = 'MALFORMED_JSON';
  override readonly name = 'MalformedJson';
}

/** A body in a media type the route does not take (JSON sent as text/plain): 415. */
export class UnsupportedMediaType extends DomainError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  override readonly name = 'UnsupportedMediaType';
}

export class PayloadTooLarge extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  override readonly name = 'PayloadTooLarge';
}

export class Unauthenticated extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  override readonly name = 'Unauthenticated';
}

export class Forbidden extends DomainError {
  readonly code = 'FORBIDDEN';
  override readonly name = 'Forbidden';
}

export class RouteNotFound extends DomainError {
  readonly code = 'ROUTE_NOT_FOUND';
  override readonly name = 'RouteNotFound';
}

export class MethodNotAllowed extends DomainError {
  readonly code = 'METHOD_NOT_ALLOWED';
  override readonly name = 'MethodNotAllowed';
  readonly allowed: string[];
  constructor(message: string, allowed: string[]) {
    super(message, { allowed });
    this.allowed = allowed;
  }
}

export class EnvironmentNotFound extends DomainError {
  readonly code = 'ENVIRONMENT_NOT_FOUND';
  override readonly name = 'EnvironmentNotFound';
  constructor(name: string) {
    super(`Environment '${name}' does not exist`, { environment: name });
  }
}

export class ItemNotFound extends DomainError {
  readonly code = 'ITEM_NOT_FOUND';
  override readonly name = 'ItemNotFound';
  constructor(kind: string, ref: string, environment: string) {
    super(`No ${kind} '${ref}' in environment '${environment}'`, { kind, ref, environment });
  }
}

export class SnapshotNotFound extends DomainError {
  readonly code = 'SNAPSHOT_NOT_FOUND';
  override readonly name = 'SnapshotNotFound';
  constructor(environment: string, seq: number) {
    super(`Environment '${environment}' has no snapshot ${seq}`, { environment, seq });
  }
}

export class AlreadyExists extends DomainError {
  readonly code = 'ALREADY_EXISTS';
  override readonly name = 'AlreadyExists';
}

/** A write was based on a stale version of the item (optimistic locking). */
export class VersionConflict extends DomainError {
  readonly code = 'VERSION_CONFLICT';
  override readonly name = 'VersionConflict';
}

/** The change would leave the tenant with no admin (the last admin binding or role taken away). */
export class NoAdminLeft extends DomainError {
  readonly code = 'NO_ADMIN_LEFT';
  override readonly name = 'NoAdminLeft';
}

/** Concurrent writers kept winning; the caller may retry the same request. */
export class ConcurrentModification extends DomainError {
  readonly code = 'CONCURRENT_MODIFICATION';
  override readonly name = 'ConcurrentModification';
}

export class EnvironmentNotEmpty extends DomainError {
  readonly code = 'ENVIRONMENT_NOT_EMPTY';
  override readonly name = 'EnvironmentNotEmpty';
}

/** The target is in a freeze window and the promotion waits for its end (the flow parks it; never an HTTP answer). */
export class Frozen extends DomainError {
  readonly code = 'FROZEN';
  override readonly name = 'Frozen';
}

/** The request ran out of its time budget before it changed anything: nothing was saved (answered 503). */
export class OutOfTime extends DomainError {
  readonly code = 'OUT_OF_TIME';
  override readonly name = 'OutOfTime';
}

/**
 * An outside host the request needs (a registry) failed for a moment — a 5xx, a 429, a time-out or a dropped
 * connection, after retries — and nothing was saved: send the same request again after Retry-After, with the same
 * Idempotency-Key (answered 503).
 */
export class Unavailable extends DomainError {
  readonly code = 'UNAVAILABLE';
  override readonly name = 'Unavailable';
}

/** A freeze window holds the environment: a direct change needs an admin's break-glass (answered 423). */
export class EnvironmentFrozen extends DomainError {
  readonly code = 'ENVIRONMENT_FROZEN';
  override readonly name = 'EnvironmentFrozen';
}

export class FreezeWindowNotFound extends DomainError {
  readonly code = 'FREEZE_WINDOW_NOT_FOUND';
  override readonly name = 'FreezeWindowNotFound';
  constructor(id: string) {
    super(`Freeze window '${id}' does not exist`, { id });
  }
}

export class SlackLinkNotFound extends DomainError {
  readonly code = 'SLACK_LINK_NOT_FOUND';
  override readonly name = 'SlackLinkNotFound';
  constructor(teamId: string, userId: string) {
    super(`No link of Slack user ${userId} in workspace ${teamId} that you can see (GET /api/v1/slack/links lists them)`, { teamId, userId });
  }
}

/** The request is well-formed but breaks a business rule. */
export class RuleViolation extends DomainError {
  readonly code = 'RULE_VIOLATION';
  override readonly name = 'RuleViolation';
}

/** The promotion's current status does not allow the action. */
export class TransitionNotAllowed extends DomainError {
  readonly code = 'TRANSITION_NOT_ALLOWED';
  override readonly name = 'TransitionNotAllowed';
}

export class UserNotFound extends DomainError {
  readonly code = 'USER_NOT_FOUND';
  override readonly name = 'UserNotFound';
  constructor(id: string) {
    super(`No user ${id} in your tenant`);
  }
}

export class PromotionNotFound extends DomainError {
  readonly code = 'PROMOTION_NOT_FOUND';
  override readonly name = 'PromotionNotFound';
  constructor(id: string) {
    super(`Promotion '${id}' does not exist`, { promotionId: id });
  }
}

/** A promotion that has no attestation yet: one is signed when it completes or is rolled back. */
export class AttestationNotFound extends DomainError {
  readonly code = 'ATTESTATION_NOT_FOUND';
  override readonly name = 'AttestationNotFound';
  constructor(id: string, status: string) {
    super(`Promotion '${id}' has no attestation yet (it is ${status}): one is signed when it completes or is rolled back, moments after it ends`, {
      promotionId: id,
      status,
    });
  }
}

export class RuleNotFound extends DomainError {
  readonly code = 'RULE_NOT_FOUND';
  override readonly name = 'RuleNotFound';
  constructor(id: string) {
    super(`Rule '${id}' does not exist`, { ruleId: id });
  }
}

export class ArtifactNotFound extends DomainError {
  readonly code = 'ARTIFACT_NOT_FOUND';
  override readonly name = 'ArtifactNotFound';
}

export class DeploymentNotFound extends DomainError {
  readonly code = 'DEPLOYMENT_NOT_FOUND';
  override readonly name = 'DeploymentNotFound';
}

/** The requester tried to approve their own promotion, or one person tried to count twice. */
export class SelfApprovalForbidden extends DomainError {
  readonly code = 'SELF_APPROVAL_FORBIDDEN';
  override readonly name = 'SelfApprovalForbidden';
}

export class NotAnApprover extends DomainError {
  readonly code = 'NOT_AN_APPROVER';
  override readonly name = 'NotAnApprover';
}

/** Promotion goes forward only; going back is a rollback. */
export class BackwardPromotion extends DomainError {
  readonly code = 'BACKWARD_PROMOTION';
  override readonly name = 'BackwardPromotion';
}

/** Same Idempotency-Key, different request. */
export class IdempotencyKeyReused extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  override readonly name = 'IdempotencyKeyReused';
}

/** Another promotion holds the target environment. */
export class TargetBusy extends DomainError {
  readonly code = 'TARGET_BUSY';
  override readonly name = 'TargetBusy';
}

/** An app key id that is not the tenant's (domain/access/app-keys.ts). */
export class AppKeyNotFound extends DomainError {
  readonly code = 'APP_KEY_NOT_FOUND';
  override readonly name = 'AppKeyNotFound';
  constructor(id: string) {
    super(`No app key '${id}' in this tenant`, { id });
  }
}

/** A tenant without a metrics scrape token (domain/artifacts/dora-export.ts). */
export class MetricsTokenNotFound extends DomainError {
  readonly code = 'METRICS_TOKEN_NOT_FOUND';
  override readonly name = 'MetricsTokenNotFound';
}

/** A webhook subscription or one of its deliveries that does not exist (for this tenant). */
export class WebhookNotFound extends DomainError {
  readonly code = 'NOT_FOUND';
  override readonly name = 'WebhookNotFound';
}

/** An environment without a git target (domain/gitops). */
export class GitTargetNotFound extends DomainError {
  readonly code = 'GIT_TARGET_NOT_FOUND';
  override readonly name = 'GitTargetNotFound';
  constructor(env: string) {
    super(`Environment '${env}' has no git target`, { environment: env });
  }
}

/** An environment without a deployment gate (domain/gitops/deployment-gate.ts). */
export class DeploymentGateNotFound extends DomainError {
  readonly code = 'DEPLOYMENT_GATE_NOT_FOUND';
  override readonly name = 'DeploymentGateNotFound';
  constructor(env: string) {
    super(`Environment '${env}' has no deployment gate`, { environment: env });
  }
}

/** An environment without a change-control rule (domain/change). */
export class ChangeControlNotFound extends DomainError {
  readonly code = 'CHANGE_CONTROL_NOT_FOUND';
  override readonly name = 'ChangeControlNotFound';
  constructor(env: string) {
    super(`Environment '${env}' has no change-control rule: PUT one first`, { environment: env });
  }
}

/** A target an environment does not declare (domain/config/targets.ts), or one a promotion does not roll out through. */
export class TargetNotFound extends DomainError {
  readonly code = 'TARGET_NOT_FOUND';
  override readonly name = 'TargetNotFound';
  constructor(environment: string, target: string, known: string[] = []) {
    super(
      target
        ? `Environment '${environment}' has no target '${target}'${known.length ? ` (its targets: ${known.join(', ')})` : " (it declares no targets: its one target is 'default')"}`
        : `Environment '${environment}' declares targets: name one (${known.join(', ')})`,
      { environment, target, known },
    );
  }
}

/** A target a promotion is rolling out through: it cannot be removed until the rollout ends (409). */
export class TargetInUse extends DomainError {
  readonly code = 'TARGET_IN_USE';
  override readonly name = 'TargetInUse';
}

/** An analysis template the tenant does not have (domain/verification/templates.ts). */
export class AnalysisTemplateNotFound extends DomainError {
  readonly code = 'ANALYSIS_TEMPLATE_NOT_FOUND';
  override readonly name = 'AnalysisTemplateNotFound';
  constructor(name: string, known: string[] = []) {
    super(`No analysis template '${name}'${known.length ? ` (templates: ${known.join(', ')})` : ' (the tenant has none)'}`, { template: name, known });
  }
}

/** An analysis template that environments, waves or targets attach, or a promotion rolling out uses: it cannot be removed (409). */
export class AnalysisTemplateInUse extends DomainError {
  readonly code = 'ANALYSIS_TEMPLATE_IN_USE';
  override readonly name = 'AnalysisTemplateInUse';
}

/** A recurring promotion the tenant does not have (domain/promotion/request/recurring.ts). */
export class RecurringPromotionNotFound extends DomainError {
  readonly code = 'RECURRING_PROMOTION_NOT_FOUND';
  override readonly name = 'RecurringPromotionNotFound';
  constructor(name: string) {
    super(`No recurring promotion '${name}'`, { name });
  }
}

/** A SCIM user or group, or the SCIM token, that does not exist (for this tenant). */
export class ScimResourceNotFound extends DomainError {
  readonly code = 'SCIM_RESOURCE_NOT_FOUND';
  override readonly name = 'ScimResourceNotFound';
}

/** The audit stream has no destination of that name (domain/audit/stream.ts). */
export class AuditDestinationNotFound extends DomainError {
  readonly code = 'AUDIT_DESTINATION_NOT_FOUND';
  override readonly name = 'AuditDestinationNotFound';
  constructor(name: string) {
    super(`The audit stream has no destination '${name}'`, { name });
  }
}
