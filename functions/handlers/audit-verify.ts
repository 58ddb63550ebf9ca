import { auditPublicKey } from '#domain/audit/export';
import { verifyAudit } from '#domain/audit/log';
import { httpHandler } from '../http/handler.ts';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store and the audit anchor. Two routes, one function: both need the checkpoint key's public half (kms:GetPublicKey), nothing more. */
const wiring = compose({ anchor: anchorFromEnv });

export const handler = httpHandler({ wiring }, async ({ deps, ctx, route }) =>
  route.path.endsWith('/audit/public-key') ? auditPublicKey(deps, ctx) : verifyAudit(deps, ctx),
);
