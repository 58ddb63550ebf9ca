import * as z from '#domain/kernel/zod';
import { issueLinkCode, listSlackLinks, unlinkSlack } from '#domain/notify/slack-identity';
import { slackTeamId } from '#domain/notify/settings';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/**
 * Slack identities, signed in: a one-time code for your own account (POST /slack/link-codes), the
 * links (GET /slack/links) and unlinking (DELETE /slack/links/{team}/{user}). There is no route that
 * links: only the person, from Slack, with their code.
 */
const params = /* @__PURE__ */ z.schema(() =>
  z.object({ team: z.optional(slackTeamId), user: z.optional(z.string().check(z.regex(/^[UW][A-Z0-9]{2,20}$/, 'a Slack user id (U… or W…)'))) }),
);
/** The code route (and unlinking) takes no body: whose code it is comes from the token alone (`{}` or nothing, hence bodyOptional); a body naming anyone is refused. */
const body = /* @__PURE__ */ z.schema(() =>
  z.optional(
    z.strictObject(
      {},
      {
        error: (issue) =>
          issue.code === 'unrecognized_keys'
            ? `${issue.keys.join(', ')}: a code is always for the caller's own account (the token's); nobody can ask for a code or a link for someone else`
            : undefined,
      },
    ),
  ),
);

export const handler = httpHandler({ params, body, bodyOptional: true, showsSecret: true }, async ({ deps, ctx, params, route }) => {
  if (route.method === 'DELETE') {
    await unlinkSlack(deps, ctx, params.team!, params.user!);
    return new WithHeaders(null, {}, 204);
  }
  if (route.method === 'POST') return new WithHeaders(await issueLinkCode(deps, ctx), {}, 201);
  return listSlackLinks(deps, ctx);
});
