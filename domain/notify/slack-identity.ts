import { createHash, randomBytes, randomInt } from 'node:crypto';
import { auditEntry } from '../audit/audit.ts';
import { hasRole, type Principal } from '../access/auth.ts';
import { ConcurrentModification, Forbidden, SlackLinkNotFound } from '../kernel/errors.ts';
import type { ActedVia } from '../kernel/model.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { refusedByStored, WriteConflict } from '../kernel/retry.ts';
import { userPrincipal } from './notifier.ts';
import { boundSlackTeams } from './settings.ts';
import type { SlackLink, SlackLinkCode } from './model.ts';

/** How long a code may be used. */
export const LINK_CODE_TTL_SECONDS = 600;

/** Crockford's base32: no I, L, O, U (nothing to misread when typing a code). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const SECRET_LENGTH = 12; // 60 bits, valid 10 minutes, once, and only through requests Slack signed

const normalise = (secret: string) => secret.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
const codeHash = (secret: string) => createHash('sha256').update(normalise(secret)).digest('hex');

/** `acme.7KQF-9XWD-M2PA` → its tenant and secret part, or null when it is not a code. */
export function parseLinkCode(code: string): { tenant: string; secret: string } | null {
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.([0-9A-Za-z-]{12,20})$/.exec(code.trim());
  if (!m) return null;
  const secret = normalise(m[2]!);
  if (secret.length !== SECRET_LENGTH || [...secret].some((c) => !ALPHABET.includes(c))) return null;
  return { tenant: m[1]!, secret };
}

/** POST /slack/link-codes: a code for the caller's own account (a person; approvers are who act from Slack). */
export async function issueLinkCode(deps: Deps, ctx: Ctx) {
  const me = ctx.principal;
  if (me.kind !== 'user') throw new Forbidden('Only a person signed in with their own token can link a Slack account');
  const secret = Array.from({ length: SECRET_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const now = deps.clock();
  const validUntil = new Date(now.getTime() + LINK_CODE_TTL_SECONDS * 1000).toISOString();
  await deps.store.putSlackLinkCode({
    tenant: me.tenant,
    hash: codeHash(secret),
    account: { id: me.id, email: me.name },
    createdAt: now.toISOString(),
    validUntil,
  });
  const code = `${me.tenant}.${secret.match(/.{4}/g)!.join('-')}`;
  return { code, command: `/stageline link ${code}`, expiresAt: validUntil, account: me.name, singleUse: true as const };
}

export const linkView = (l: SlackLink) => ({
  id: l.id,
  teamId: l.teamId,
  userId: l.userId,
  accountId: l.account.id,
  email: l.account.email,
  linkedAt: l.linkedAt,
});

/** GET /slack/links: an admin sees every link of the tenant; anyone else their own. */
export async function listSlackLinks(deps: Deps, ctx: Ctx) {
  const all = await deps.store.listSlackLinks(ctx.principal.tenant);
  const mine = hasRole(ctx.principal, 'admin') ? all : all.filter((l) => l.account.id === ctx.principal.id);
  return { items: mine.map(linkView) };
}

/** DELETE /slack/links/{team}/{user}: the link's owner, or an admin (who can unlink anyone and link no one). */
export async function unlinkSlack(deps: Deps, ctx: Ctx, teamId: string, userId: string): Promise<void> {
  const me = ctx.principal;
  const admin = hasRole(me, 'admin');
  const link = await deps.store.getSlackLink(me.tenant, teamId, userId);
  if (!link || (!admin && link.account.id !== me.id)) throw new SlackLinkNotFound(teamId, userId);
  const own = link.account.id === me.id;
  const audit = auditEntry(
    me.tenant,
    {
      actor: me.id,
      actorName: me.name,
      action: 'slack.unlink',
      entityType: 'slack-link',
      entityId: `${teamId}/${userId}`,
      reason: own ? 'unlinked by its owner' : `unlinked by an admin (linked to ${link.account.email})`,
      before: link.id,
      after: null,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  try {
    await deps.store.unlinkSlack(link, audit);
  } catch (err) {
    if (err instanceof WriteConflict) throw new ConcurrentModification('The link changed while you removed it; list the links again');
    throw err;
  }
}

/** The outcome of a Slack request, told to the Slack user (ephemeral). */
export type SlackOutcome = { ok: true; text: string } | { ok: false; text: string };

const HOW_TO_LINK =
  'Link it yourself: signed in to Stageline, run `stageline slack link` (or POST /api/v1/slack/link-codes), then send `/stageline link CODE` here.';

const notBound = (tenant: string, teamId: string) =>
  `This Slack workspace (${teamId}) is not bound to Stageline tenant '${tenant}', so nothing was done. A tenant admin binds it: slack.teamId in the notification settings.`;

/**
 * `/stageline link CODE`, sent from Slack (the request's signature already checked with the
 * deployment's secret; `teamId` and `userId` are what Slack signed). Spends the code and binds
 * this Slack user in this workspace to the account that asked for the code, audited, in one
 * transaction. Nothing is spent when the workspace is not the tenant's.
 */
export async function linkFromSlack(deps: Deps, input: { tenant: string; secret: string; teamId: string; userId: string }): Promise<SlackOutcome> {
  const { tenant, secret, teamId, userId } = input;
  if (!(await boundSlackTeams(deps, tenant)).has(teamId)) return { ok: false, text: notBound(tenant, teamId) };
  const hash = codeHash(secret);
  const code = await deps.store.getSlackLinkCode(tenant, hash);
  const again = 'Get a new code (`stageline slack link`) and send it within 10 minutes.';
  if (!code) return { ok: false, text: `That code is not valid. ${again}` };
  if (code.usedAt) return { ok: false, text: `That code was used already; each code works once. ${again}` };
  const now = deps.clock();
  if (now > new Date(code.validUntil)) return { ok: false, text: `That code has expired (it was valid until ${code.validUntil}). ${again}` };
  const user = deps.directory ? await deps.directory.byEmail(tenant, code.account.email) : null;
  if (!user || user.id !== code.account.id) return { ok: false, text: 'The Stageline account that asked for this code no longer exists; nothing was linked.' };
  const previous = await deps.store.getSlackLink(tenant, teamId, userId);
  if (previous && previous.account.id !== code.account.id) {
    return {
      ok: false,
      text: 'This Slack user is linked to another Stageline account. Its owner or a tenant admin must unlink it first (DELETE /api/v1/slack/links/{team}/{user}).',
    };
  }
  const link: SlackLink = {
    tenant,
    teamId,
    userId,
    account: code.account,
    id: `slack_${randomBytes(8).toString('hex')}`,
    linkedAt: now.toISOString(),
    codeIssuedAt: code.createdAt,
  };
  const via: ActedVia = { channel: 'slack', teamId, userId, linkId: link.id };
  const audit = auditEntry(
    tenant,
    {
      actor: code.account.id,
      actorName: code.account.email,
      action: 'slack.link',
      entityType: 'slack-link',
      entityId: `${teamId}/${userId}`,
      reason: `linked from Slack with the one-time code issued at ${code.createdAt}`,
      before: previous?.id ?? null,
      after: link.id,
      via,
    },
    now,
  );
  try {
    await deps.store.linkSlack({ tenant, hash, usedAt: now.toISOString() }, link, previous, audit);
  } catch (err) {
    if (refusedByStored(err)) return { ok: false, text: `That code was used already, or this Slack user was linked a moment ago. ${again}` };
    throw err;
  }
  return {
    ok: true,
    text: `Linked: <@${userId}> acts as ${code.account.email} in Stageline (tenant ${tenant}). Approve/Reject buttons now act as you, under the same policy as the API. To undo: \`stageline slack unlink ${teamId} ${userId}\`.`,
  };
}

/**
 * Who a Slack user acts as in a tenant: the account they linked themselves, as the directory knows
 * it now (group changes count), from a workspace the tenant bound. Otherwise why not.
 */
export async function slackActor(
  deps: Deps,
  tenant: string,
  teamId: string,
  userId: string,
): Promise<{ principal: Principal; via: ActedVia } | { refusal: string }> {
  if (!(await boundSlackTeams(deps, tenant)).has(teamId)) return { refusal: notBound(tenant, teamId) };
  const link = await deps.store.getSlackLink(tenant, teamId, userId);
  if (!link) return { refusal: `Your Slack account is not linked to a Stageline account, so nothing was done. ${HOW_TO_LINK} Or use the Review button.` };
  const user = deps.directory ? await deps.directory.byEmail(tenant, link.account.email) : null;
  if (!user || user.id !== link.account.id) return { refusal: 'The Stageline account your Slack user is linked to no longer exists; nothing was done.' };
  return { principal: userPrincipal(user), via: { channel: 'slack', teamId, userId, linkId: link.id } };
}
