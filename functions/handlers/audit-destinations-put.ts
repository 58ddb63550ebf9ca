import { auditDestinationBody as body, givenSecrets, putAuditDestination } from '#domain/audit/stream';
import { RuleViolation, ValidationFailed } from '#domain/kernel/errors';
import { checkUrl, OutboundRefused } from '../adapters/outbound.ts';
import { AUDIT_SENDERS } from '../adapters/siem/senders.ts';
import { sealer } from '../adapters/secret-box.ts';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { destinationParams as params } from '../http/audit-params.ts';

/** The store and the sealer: the destination's secrets are sealed here, where they are written. */
const wiring = compose({ sealer });

const READ_ONLY = ['name', 'state', 'shippedSeq', 'lag', 'lastError', 'lastErrorAt', 'shippedAt', 'deadLetters', 'createdAt', 'updatedAt', 'updatedBy'];

/**
 * Sets a destination of the audit stream (admin). A kind without a sender in this deployment: 422. The endpoint is
 * checked now, through the outbound rules (a private address, an endpoint that does not answer, a token it refuses:
 * 400 naming the field), so a destination that could never take an entry is not saved.
 */
export const handler = httpHandler({ wiring, readOnly: READ_ONLY, params, body }, async ({ deps, ctx, params, body }) => {
  const factory = AUDIT_SENDERS[body.kind];
  if (!factory) throw new RuleViolation(`${body.kind} destinations are not available in this deployment yet: use splunk or otlp`, { kind: body.kind });
  const settings = { ...body } as Record<string, unknown>;
  if ('url' in body) {
    try {
      checkUrl(body.url);
    } catch (err) {
      if (err instanceof OutboundRefused) throw new ValidationFailed([{ path: 'body.url', message: err.message }]);
      throw err;
    }
  }
  const issue = await factory.check(settings as never, givenSecrets(body));
  if (issue) throw new ValidationFailed([{ path: `body.${issue.field}`, message: issue.message }]);
  return putAuditDestination(deps, ctx, params.name, body);
});
