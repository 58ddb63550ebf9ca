import { auditDestination, auditDestinationList, auditListResponse, auditPublicKey, auditVerify } from '../responses/audit.ts';
import { v1, type Route } from './row.ts';

/** The audit trail: its entries, its verification against the signed checkpoints, and its export. Verifying and exporting read the audit anchor (its key and checkpoints): roles of their own. */
export const AUDIT_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/audit`,
    handler: 'audit-list',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Audit trail (filters, cursor pagination)',
    response: { schema: auditListResponse },
  },
  {
    method: 'GET',
    path: `${v1}/audit/verify`,
    handler: 'audit-verify',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Verify the audit hash chain',
    response: { schema: auditVerify },
    ownRole: true,
  },
  {
    method: 'GET',
    path: `${v1}/audit/public-key`,
    handler: 'audit-verify',
    auth: 'jwt',
    role: 'viewer',
    summary:
      "The public key that verifies every audit checkpoint signature (ECDSA P-256): pin it once to verify exports offline; and, under `attestation`, the caller's tenant's own attestation key",
    response: { schema: auditPublicKey },
    ownRole: true,
  },
  {
    method: 'GET',
    path: `${v1}/audit/export`,
    handler: 'audit-export',
    auth: 'jwt',
    role: 'viewer',
    summary:
      'The audit chain as JSON Lines (entries with their links, anchors with their inclusion proofs and signed roots), verifiable offline with the public key; pages continue with ?fromSeq',
    response: {
      text: {
        'application/x-ndjson':
          'JSON Lines (format stageline-audit-export/v3), one JSON object per line, each with a `type`: a `header` (tenant, range, how the hashes are computed and the roots signed), one `entry` per chain link in order (seq, prevHash, entryHash, hash, the audit entry), the `anchor`s in the range (tenant, seq, hash, and the inclusion proof root, size, index, path of the chain head in a Merkle tree whose root is signed once for every chain anchored together: at, sig, ECDSA P-256 over the root; the page ends at one, so it holds the chain up to its newest anchor), then a `trailer` (count, firstSeq, lastSeq, headSeq, checkpoints, next: {fromSeq} or null)',
      },
      headers: { 'X-Next-Cursor': 'the fromSeq of the next page, when there is one' },
    },
    ownRole: true,
  },
  {
    method: 'GET',
    path: `${v1}/audit/destinations`,
    handler: 'audit-destinations-read',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: "The audit stream's destinations (SIEMs): settings with secrets masked, shipped seq, lag and dead letters",
    response: { schema: auditDestinationList },
  },
  {
    method: 'GET',
    path: `${v1}/audit/destinations/{name}`,
    handler: 'audit-destinations-read',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: 'One destination of the audit stream: settings with secrets masked, shipped seq, lag and dead letters',
    response: { schema: auditDestination },
  },
  {
    method: 'PUT',
    path: `${v1}/audit/destinations/{name}`,
    handler: 'audit-destinations-put',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary:
      'Set a destination of the audit stream (splunk, otlp; datadog and s3 answer 422 until available): its secrets sealed, its endpoint checked through the outbound rules (400 naming the field)',
    response: { schema: auditDestination },
    // It seals the destination's secrets: with the other writers of a tenant's secrets, in a function of its own role (functions/http/topology.ts).
    startsFlows: false,
    ownRole: true,
  },
  {
    method: 'DELETE',
    path: `${v1}/audit/destinations/{name}`,
    handler: 'audit-destinations-delete',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: 'Remove a destination of the audit stream, its secrets and its dead letters',
    status: 204,
    startsFlows: false,
  },
  {
    method: 'POST',
    path: `${v1}/audit/destinations/{name}/replay`,
    handler: 'audit-destinations-replay',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: 'Ship the audit chain again from a seq (and let a failing destination ship again); a seq not in the chain: 400 naming fromSeq',
    response: { schema: auditDestination },
    startsFlows: false,
  },
];
