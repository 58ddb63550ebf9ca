import * as z from '#domain/kernel/zod';
import { ValidationFailed } from '#domain/kernel/errors';
import { applyManifest } from '#domain/manifest/service';
import type { SecretResolver } from '#domain/kernel/ports';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { httpHandler } from '../http/handler.ts';
import { bindingsChanged } from '../http/authorize.ts';
import { compose } from '../http/deps.ts';
import { sealer } from '../adapters/secret-box.ts';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { changesOnFirstUse } from '../adapters/change-on-first-use.ts';

/**
 * This function's adapters: the store, the webhook adapters (a manifest creates and removes subscriptions: their
 * signing secrets are kept where the webhook routes keep them), the scheduler (a freeze window's first edge) and the
 * change management tools (a change-control rule's template is looked up when the document saves the rule).
 */
const wiring = compose({ webhooks: () => webhookDepsFromEnv(), scheduler: () => schedulerOnFirstUse(), sealer, changes: changesOnFirstUse });

const body = z.strictObject({
  document: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(256 * 1024, 'a manifest of at most 256 KiB'),
      z.describe(
        'The manifest as YAML or JSON: a mapping with artifacts.promotion (GET /api/v1/manifest/schema.json); anything else is refused with 400 naming the line and field',
      ),
    ),
  /** the plan's digest: apply refuses when the setup changed since (409) */
  expectedDigest: z.optional(z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/, 'the digest a plan returned (sha256:…)'))),
});

let resolver: SecretResolver | undefined;

/** A webhook named by reference is still an outbound URL: the same SSRF guard as one set through the API. */
const guarded = (inner: SecretResolver): SecretResolver => ({
  async resolve(tenant, name, purpose) {
    const value = await inner.resolve(tenant, name, purpose);
    if (value === null || purpose !== 'slack-webhook') return value;
    // The guarded outbound client (and its address parser) is read only when a document names a Slack webhook.
    const { checkUrl, OutboundRefused } = await import('../adapters/outbound.ts');
    try {
      checkUrl(value);
    } catch (err) {
      if (err instanceof OutboundRefused)
        throw new ValidationFailed([{ path: 'document.artifacts.promotion.notifications.slack.webhook', message: `secret ${name}: ${err.message}` }]);
      throw err;
    }
    return value;
  },
});

const withSecrets = <D extends { secrets?: SecretResolver }>(deps: D) => ({ ...deps, secrets: guarded(deps.secrets ?? (resolver ??= secretsFromEnv())) });

export const handler = httpHandler(
  { wiring, body, showsSecret: (answer) => (answer as { secrets?: unknown } | null)?.secrets !== undefined },
  // A document may change the role bindings: this instance sees them at once (others within BINDINGS_CACHE_MS).
  async ({ deps, ctx, body: b }) => bindingsChanged(ctx.principal.tenant, applyManifest(withSecrets(deps), ctx, b.document, b.expectedDigest)),
);
