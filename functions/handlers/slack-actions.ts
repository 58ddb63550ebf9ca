import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod';
import type { Directory } from '#domain/ports';
import { slackAction } from '#domain/notify/slack-actions';
import { directoryFromEnv } from '../adapters/cognito-directory.ts';
import { depsFor, lazy, registerNotify } from '../http/deps.ts';

registerNotify(() => ({ directory: lazy<Directory>(() => directoryFromEnv()) }));

const tenant = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);

/** POST /api/v1/slack/actions/{tenant}: Slack's interactivity request URL (no JWT: the Slack signature is the credential). */
export const handler = async (event: APIGatewayProxyEventV2) => {
  const t = tenant.safeParse(event.pathParameters?.tenant);
  const json = (statusCode: number, body: unknown) => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!t.success) return json(404, { response_type: 'ephemeral', text: 'Unknown workspace.' });
  const body = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
  const r = await slackAction(depsFor(t.data), t.data, { body, timestamp: event.headers?.['x-slack-request-timestamp'] ?? '', signature: event.headers?.['x-slack-signature'] ?? '' });
  return json(r.status, r.body);
};
