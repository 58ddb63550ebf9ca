import { verifyAudit } from '#domain/audit-log';
import { httpHandler } from '../http/handler.ts';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { registerAnchor } from '../http/deps.ts';

registerAnchor(anchorFromEnv);

export const handler = httpHandler({}, async ({ deps, ctx }) => verifyAudit(deps, ctx));
