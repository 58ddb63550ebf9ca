import { auditPublicKey } from '#domain/audit-export';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { registerAnchor } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';

// The public half of the checkpoint key (kms:GetPublicKey on that key only; no checkpoint bucket).
registerAnchor(anchorFromEnv);

export const handler = httpHandler({}, async ({ deps, ctx }) => auditPublicKey(deps, ctx));
