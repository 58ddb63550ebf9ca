import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

/** How long a Lambda keeps the secret it read (a rotated secret is picked up within this time). */
const CACHE_MS = 5 * 60_000;
let cached: { value: string | null; until: number } | undefined;

/**
 * The signing secret of the deployment's one Slack app: deployment configuration, never a tenant
 * setting. On AWS the Secrets Manager secret CDK names in SLACK_SIGNING_SECRET_ARN (context
 * `slackSigningSecret`; only the functions that serve Slack may read it), its SecretString being
 * the app's Signing Secret. Locally (no Lambda) `npm start` generates one into
 * STAGELINE_SLACK_SIGNING_SECRET and prints it. Null: this deployment has no Slack app.
 */
export async function slackSigningSecret(source?: env.Source): Promise<string | null> {
  const arn = env.SLACK_SIGNING_SECRET_ARN(source);
  if (!arn) return env.AWS_LAMBDA_FUNCTION_NAME(source) ? null : (env.STAGELINE_SLACK_SIGNING_SECRET(source) ?? null);
  if (cached && cached.until > Date.now()) return cached.value;
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const r = await traced(new SecretsManagerClient({})).send(new GetSecretValueCommand({ SecretId: arn }));
  const value = r.SecretString?.trim() || null;
  cached = { value, until: Date.now() + CACHE_MS };
  return value;
}
