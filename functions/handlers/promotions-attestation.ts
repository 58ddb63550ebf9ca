import { getAttestation } from '#domain/attestation/attest';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store and the audit anchor, for its public key alone (kms:GetPublicKey once per container; it never signs). */
const wiring = compose({ anchor: anchorFromEnv });

/** A promotion's signed attestation, checked with the audit key's public half. */
export const handler = httpHandler({ params, wiring }, async ({ deps, ctx, params }) => getAttestation(deps, ctx, params.id));
