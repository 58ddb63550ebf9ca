import * as z from '#domain/kernel/zod';
import { getAttestation } from '#domain/promotion/run/attest';
import { auditPublicKey } from '#domain/audit/export';
import { verifyAudit } from '#domain/audit/log';
import { httpHandler } from '../http/handler.ts';
import { promotionParams } from '../http/params.ts';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { compose } from '../http/deps.ts';

/**
 * This function's adapters: the store and the audit anchor. Three routes, one function: each needs a public half
 * (kms:GetPublicKey), nothing more — the chain's verification (the deployment's key), the keys themselves (the deployment's
 * and the caller's tenant's attestation key), and a promotion's attestation checked with its tenant's key.
 */
const wiring = compose({ anchor: anchorFromEnv });

const params = /* @__PURE__ */ z.schema(() => z.object({ id: z.optional(promotionParams.shape.id) }));

export const handler = httpHandler({ params, wiring }, async ({ deps, ctx, route, params }) =>
  params.id !== undefined
    ? getAttestation(deps, ctx, params.id)
    : route.path.endsWith('/audit/public-key')
      ? auditPublicKey(deps, ctx)
      : verifyAudit(deps, ctx),
);
