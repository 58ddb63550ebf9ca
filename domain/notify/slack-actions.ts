import type { Deps } from '../ports.ts';
import { approvePromotion, rejectPromotion } from '../promotion/service.ts';
import { settingsFor, userPrincipal } from './notifier.ts';
import { verifySlackSignature } from './slack.ts';

export interface SlackReply {
  status: number;
  body: { response_type: 'ephemeral'; replace_original: false; text: string };
}

const reply = (status: number, text: string): SlackReply => ({ status, body: { response_type: 'ephemeral', replace_original: false, text } });

/**
 * An Approve/Reject button pressed in Slack. The request must carry a valid Slack signature
 * (v0 HMAC over the raw body, within 5 minutes) made with the signing secret configured for
 * the promotion's notifications; the Slack user must be mapped to a Stageline user; then it is
 * exactly the API's approve/reject (groups, separation of duties, N distinct approvers).
 */
export async function slackAction(deps: Deps, tenant: string, raw: { body: string; timestamp: string; signature: string }): Promise<SlackReply> {
  const payloadText = new URLSearchParams(raw.body).get('payload');
  let payload: { user?: { id?: string }; actions?: { action_id?: string; value?: string }[] };
  try {
    payload = JSON.parse(payloadText ?? '');
  } catch {
    return reply(400, 'Not a Slack interaction payload.');
  }
  const act = payload.actions?.[0];
  const [valueTenant, promotionId] = String(act?.value ?? '').split(':');
  if (!act || (act.action_id !== 'approve' && act.action_id !== 'reject') || valueTenant !== tenant || !promotionId) return reply(400, 'Unknown action.');
  const p = await deps.store.getPromotion(tenant, promotionId);
  const settings = await settingsFor(deps, tenant, p?.targetEnvironment);
  const secret = settings?.slack?.signingSecret;
  // Nothing is believed before the signature holds (not even which user pressed the button).
  if (!secret) return reply(401, 'Slack actions are not set up for this workspace.');
  const check = verifySlackSignature({ signingSecret: secret, timestamp: raw.timestamp, body: raw.body, signature: raw.signature, now: deps.clock() });
  if (!check.ok) return reply(401, `Request refused: ${check.reason}.`);
  if (!p) return reply(200, 'That promotion does not exist any more.');
  const email = settings?.slack?.users?.[payload.user?.id ?? ''];
  const user = email && deps.directory ? await deps.directory.byEmail(tenant, email) : null;
  if (!user) return reply(200, 'You are not allowed to act on Stageline promotions from Slack (your Slack user is not mapped to a Stageline user). Use the Review button.');
  const ctx = { principal: userPrincipal(user) };
  try {
    const next = act.action_id === 'approve' ? await approvePromotion(deps, ctx, p.id, 'approved in Slack') : await rejectPromotion(deps, ctx, p.id, `rejected in Slack by ${user.email}`);
    return reply(200, act.action_id === 'approve' ? `Approval recorded (${user.email}); the promotion is ${next.status}.` : `Rejected (${user.email}).`);
  } catch (err) {
    return reply(200, `Not allowed: ${(err as Error).message}`);
  }
}
