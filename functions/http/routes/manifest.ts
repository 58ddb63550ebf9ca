import { MANIFEST_APPLY_ROLE } from '#domain/manifest/rights';
import { manifestApplyResponse, manifestDocument, manifestJsonSchemaResponse, manifestPlanResponse } from '../responses/manifest.ts';
import { v1, type Route } from './row.ts';

/** The tenant's promotion setup as one document (manifest.yaml): export, plan, apply (audited, with a role of its own), and its JSON Schema. */
export const MANIFEST_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/manifest`,
    handler: 'manifest',
    auth: 'jwt',
    role: 'viewer',
    summary: "The tenant's promotion setup as a manifest (manifest.yaml; ?format=yaml|json); export | apply changes nothing",
    // The plan's simulation replays up to 1,000 promotions (the handler's rows share its timeout).
    timeout: 29,
    response: {
      text: {
        'application/yaml':
          'The manifest as YAML (?format=yaml, the default), after a comment line naming the tenant and the digest of its setup; ?format=json answers the same document as JSON',
      },
      schema: manifestDocument,
      headers: { 'X-Manifest-Digest': 'the digest of the setup the document was exported from (what a plan states and apply expects)' },
    },
  },
  {
    method: 'POST',
    path: `${v1}/manifest/plan`,
    handler: 'manifest',
    auth: 'jwt',
    role: 'viewer',
    summary:
      'What applying a manifest would change, field by field, and the digest of the setup it was planned against (a document of at most 256 KiB, at most 1,000 keys per mapping, each key once); ?simulate=90d replays the promotions of the look-back under it (at most 1,000, the newest) and lists those it would have decided differently; writes nothing',
    response: { schema: manifestPlanResponse },
    timeout: 29,
    heavy: true,
  },
  {
    method: 'POST',
    path: `${v1}/manifest/apply`,
    handler: 'manifest-apply',
    auth: 'jwt',
    role: MANIFEST_APPLY_ROLE,
    // Each change needs the role in the environment it touches; tenant-wide sections in every one (domain/manifest/rights.ts).
    env: 'changes',
    summary:
      "Apply a manifest as one audited change (all or nothing; expectedDigest refuses a stale plan); each change needs the 'admin' role in the environment it touches (a tenant-wide section: in every one), 403 naming each one lacking",
    response: { schema: manifestApplyResponse },
    ownRole: true,
    // It sets up what promotions use (environments, rules, targets, schedules), never a promotion's flow.
    startsFlows: false,
  },
  {
    method: 'GET',
    path: `${v1}/manifest/schema.json`,
    handler: 'openapi',
    auth: 'none',
    role: null,
    summary: "The manifest's JSON Schema",
    response: { schema: manifestJsonSchemaResponse },
  },
];
