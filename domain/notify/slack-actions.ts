import { principalIn } from '../access/binding-settings.ts';
import { requireIn } from '../access/bindings.ts';
import type { Deps, With } from '../kernel/deps.ts';
import { approvePromotion } from '../promotion/decide/approve.ts';
import { rejectPromotion } from '../promotion/decide/reject.ts';
import { linkFromSlack, parseLinkCode, slackActor } from './slack-identity.ts';
import { verifySlackSignature } from './slack.ts';

export interface SlackReply {
  status: number;
  body: { response_type: 'ephemeral'; replace_original: false; text: string };
  /**
   * Where Slack shows the reply to a button press: Slack ignores the answer's body for block
   * actions, so the reply is also posted to the interaction's response_url (Slack's own host only).
   */
  responseUrl?: string;
}

const reply = (status: number, text: string): SlackReply => ({ status, body: { response_type: 'ephemeral', replace_original: false, text } });

/** A request as Slack sent it: the raw body and the two headers its signature is made of. */
export interface SlackRequest {
  body: string;
  timestamp: string;
  signature: string;
}

/**
 * The deployment's one Slack app: its signing secret (deployment configuration, never a tenant's;
 * null when this deployment has no Slack app) and the store of a tenant, once the request says which.
 */
export interface SlackApp {
  signingSecret: string | null;
  depsOf: (tenant: string) => With<'workflow' | 'directory' | 'scheduler'>;
  clock: () => Date;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** A response_url on Slack's own host (https://hooks.slack.com/…): nothing else is ever posted to. */
function slackHooksUrl(raw: unknown): raw is string {
  if (typeof raw !== 'string' || raw.length > 2048) return false;
  try {
    const u = new URL(raw);
    return u.protocol === 'https:' && u.hostname === 'hooks.slack.com' && !u.username && !u.password && (u.port === '' || u.port === '443');
  } catch {
    return false;
  }
}

/** Nothing in a request is believed before its signature holds, made with the deployment's secret. */
function unsigned(app: SlackApp, raw: SlackRequest): SlackReply | null {
  if (!app.signingSecret) return reply(401, 'Slack is not set up on this Stageline deployment (no signing secret is configured).');
  const check = verifySlackSignature({
    signingSecret: app.signingSecret,
    timestamp: raw.timestamp,
    body: raw.body,
    signature: raw.signature,
    now: app.clock(),
  });
  return check.ok ? null : reply(401, `Request refused: ${check.reason}.`);
}

/**
 * An Approve/Reject button pressed in Slack. The request must carry a valid Slack signature (v0
 * HMAC over the raw body, within 5 minutes) made with the deployment's signing secret; the button
 * names the tenant and promotion, the workspace must be bound to that tenant, and the Slack user
 * must have linked their own account. Then it is exactly the API's approve/reject as that account
 * (groups, separation of duties, N distinct approvers), recorded with the Slack identity and link.
 */
export async function slackAction(app: SlackApp, raw: SlackRequest): Promise<SlackReply> {
  const refused = unsigned(app, raw);
  if (refused) return refused;
  let payload: { team?: { id?: string }; user?: { id?: string; team_id?: string }; actions?: { action_id?: string; value?: string }[]; response_url?: string };
  try {
    payload = JSON.parse(new URLSearchParams(raw.body).get('payload') ?? '');
  } catch {
    return reply(400, 'Not a Slack interaction payload.');
  }
  const act = payload?.actions?.[0];
  // The Review button opens its link; Slack still tells the request URL, which only acknowledges.
  if (act?.action_id === 'review') return reply(200, 'Opening the review page.');
  const withUrl = (r: SlackReply): SlackReply => (slackHooksUrl(payload?.response_url) ? { ...r, responseUrl: payload.response_url } : r);
  // `<tenant>:<promotion>:<release digest>` (the digest is `sha256:<hex>`, colon included).
  const [tenant, promotionId, ...digest] = String(act?.value ?? '').split(':');
  const release = digest.join(':');
  if (!act || (act.action_id !== 'approve' && act.action_id !== 'reject') || !tenant || !TENANT.test(tenant) || !promotionId)
    return reply(400, 'Unknown action.');
  const teamId = payload.team?.id ?? payload.user?.team_id;
  const userId = payload.user?.id;
  if (typeof teamId !== 'string' || typeof userId !== 'string') return reply(400, 'The interaction names no Slack workspace or user.');
  const deps = app.depsOf(tenant);
  const who = await slackActor(deps, tenant, teamId, userId);
  if ('refusal' in who) return withUrl(reply(200, who.refusal));
  const p = await deps.store.getPromotion(tenant, promotionId);
  if (!p) return withUrl(reply(200, 'That promotion does not exist any more.'));
  // The message showed one release: its buttons decide on that one only, never on what a rebase put there since.
  if (p.releaseDigest !== release) {
    return withUrl(
      reply(
        200,
        'Not done: this message is for an earlier release of the promotion (it was rebased since, and decisions are bound to the exact release). Use the newer message or its Review link.',
      ),
    );
  }
  const email = who.principal.name;
  try {
    // The API route's role, checked here: this entry reaches the use cases without the route table; in the
    // promotion's target environment (the token's roles, or a role binding there: domain/access/bindings.ts).
    const ctx = { principal: await principalIn(deps, who.principal, p.targetEnvironment, 'approver'), via: who.via };
    requireIn(ctx.principal, [], 'approver', p.targetEnvironment);
    const next =
      act.action_id === 'approve'
        ? await approvePromotion(deps, ctx, p.id, 'approved in Slack', release)
        : await rejectPromotion(deps, ctx, p.id, `rejected in Slack by ${email}`, release);
    return withUrl(reply(200, act.action_id === 'approve' ? `Approval recorded (${email}); the promotion is ${next.status}.` : `Rejected (${email}).`));
  } catch (err) {
    return withUrl(reply(200, `Not allowed: ${(err as Error).message}`));
  }
}

/**
 * The `/stageline` slash command (form-encoded as Slack sends it, signed with the deployment's
 * secret). `link CODE` links the Slack user who sent it to the account that asked for the code.
 */
export async function slackCommand(app: SlackApp, raw: SlackRequest): Promise<SlackReply> {
  const refused = unsigned(app, raw);
  if (refused) return refused;
  const form = new URLSearchParams(raw.body);
  // Slack checks the certificate of a command URL now and then: acknowledge it.
  if (form.get('ssl_check') === '1') return reply(200, 'ok');
  const teamId = form.get('team_id');
  const userId = form.get('user_id');
  if (!teamId || !userId) return reply(400, 'Not a Slack slash command (no team_id or user_id).');
  const command = form.get('command') || '/stageline';
  const [verb, arg, ...rest] = (form.get('text') ?? '').trim().split(/\s+/);
  const usage = `Usage: \`${command} link CODE\`. Get the code signed in to Stageline: \`stageline slack link\` (or POST /api/v1/slack/link-codes); it works once, for 10 minutes.`;
  if (verb?.toLowerCase() !== 'link' || !arg || rest.length) return reply(200, usage);
  const code = parseLinkCode(arg);
  if (!code) return reply(200, `That is not a Stageline link code (they look like acme.7KQF-9XWD-M2PA). ${usage}`);
  const done = await linkFromSlack(app.depsOf(code.tenant), { ...code, teamId, userId });
  return reply(200, done.text);
}
