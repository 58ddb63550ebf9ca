import { auditPublicKey } from '#domain/audit-export';
import { verifyAudit } from '#domain/audit-log';
import { httpHandler } from '../http/handler.ts';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { registerAnchor } from '../http/deps.ts';

registerAnchor(anchorFromEnv);

// Two routes, one function: both need the checkpoint key's public half (kms:GetPublicKey), nothing more.
export const handler = httpHandler({}, async ({ deps, ctx, route }) => (route.path.endsWith('/audit/public-key') ? auditPublicKey(deps, ctx) : verifyAudit(deps, ctx)));
