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
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input failed validation; carries every issue found. */
export class ValidationFailed extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly issues: Issue[], message = 'Request is invalid') {
    super(message, { issues });
  }
}

export class MalformedJson extends DomainError {
  readonly code = 'MALFORMED_JSON';
}

export class PayloadTooLarge extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}

export class Unauthenticated extends DomainError {
  readonly code = 'UNAUTHENTICATED';
}

export class Forbidden extends DomainError {
  readonly code = 'FORBIDDEN';
}

export class RouteNotFound extends DomainError {
  readonly code = 'ROUTE_NOT_FOUND';
}

export class MethodNotAllowed extends DomainError {
  readonly code = 'METHOD_NOT_ALLOWED';
  constructor(
    message: string,
    readonly allowed: string[],
  ) {
    super(message, { allowed });
  }
}

export class EnvironmentNotFound extends DomainError {
  readonly code = 'ENVIRONMENT_NOT_FOUND';
  constructor(name: string) {
    super(`Environment '${name}' does not exist`, { environment: name });
  }
}

export class ItemNotFound extends DomainError {
  readonly code = 'ITEM_NOT_FOUND';
  constructor(kind: string, ref: string, environment: string) {
    super(`No ${kind} '${ref}' in environment '${environment}'`, { kind, ref, environment });
  }
}

export class SnapshotNotFound extends DomainError {
  readonly code = 'SNAPSHOT_NOT_FOUND';
  constructor(environment: string, seq: number) {
    super(`Environment '${environment}' has no snapshot ${seq}`, { environment, seq });
  }
}

export class AlreadyExists extends DomainError {
  readonly code = 'ALREADY_EXISTS';
}

/** A write was based on a stale version of the item (optimistic locking). */
export class VersionConflict extends DomainError {
  readonly code = 'VERSION_CONFLICT';
}

/** Concurrent writers kept winning; the caller may retry the same request. */
export class ConcurrentModification extends DomainError {
  readonly code = 'CONCURRENT_MODIFICATION';
}

export class EnvironmentNotEmpty extends DomainError {
  readonly code = 'ENVIRONMENT_NOT_EMPTY';
}

/** The request is well-formed but breaks a business rule. */
export class RuleViolation extends DomainError {
  readonly code = 'RULE_VIOLATION';
}
