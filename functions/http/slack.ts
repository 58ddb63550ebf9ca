import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { SlackApp, SlackReply, SlackRequest } from '#domain/notify/slack-actions';
import { postToSlack } from '../adapters/channels.ts';
import { logger, withLambdaContext } from '../adapters/observability.ts';
import { slackSigningSecret } from '../adapters/slack-app.ts';
import type { Wiring } from './deps.ts';
import { tenantDeps } from './tenant-deps.ts';

const SLACK_BODY_BYTES = 64 * 1024;

/**
 * A Lambda handler for a Slack request URL (no JWT: the signature made with the deployment's
 * secret is the credential). The tenant is known only from the signed request (a button's value,
 * a link code), so the store is the tenant's (tenantDeps) only from then on.
 */
export function slackEndpoint(wiring: Wiring<'workflow' | 'directory' | 'scheduler'>, serve: (app: SlackApp, raw: SlackRequest) => Promise<SlackReply>) {
  return withLambdaContext(async (event: APIGatewayProxyEventV2) => {
    const json = (statusCode: number, body: unknown) => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const body = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
    if (Buffer.byteLength(body) > SLACK_BODY_BYTES) return json(413, { response_type: 'ephemeral', text: 'Request too large.' });
    const app: SlackApp = { signingSecret: await slackSigningSecret(), depsOf: (tenant) => tenantDeps(wiring, tenant), clock: () => wiring.deps().clock() };
    const r = await serve(app, { body, timestamp: event.headers?.['x-slack-request-timestamp'] ?? '', signature: event.headers?.['x-slack-signature'] ?? '' });
    // A button press's reply shows only through its response_url (Slack's host, through the outbound guard); best effort.
    if (r.responseUrl) await postToSlack(r.responseUrl, r.body).catch((err: Error) => logger.warn('Slack response_url not reached', { error: err.message }));
    return json(r.status, r.body);
  });
}
