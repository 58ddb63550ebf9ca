import * as z from '#domain/kernel/zod';
import { userAdminFromEnv } from '../adapters/cognito-users.ts';
import { compose } from '../http/deps.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { UnsupportedMediaType } from '#domain/kernel/errors';
import { parseJsonBody } from '../http/request.ts';
import { answerScim, SCIM_MEDIA_TYPE, scimCaller, scimFailure, type ScimAnswer } from '../http/scim.ts';
import { tenantDeps } from '../http/tenant-deps.ts';

const wiring = compose({ users: userAdminFromEnv });

const text = (what: string) => z.optional(z.string().check(z.describe(what)));
/** RFC 7644 3.4.2 list parameters (the SCIM library reads them; a bad one answers SCIM's 400). */
const query = z.object({
  filter: text('a SCIM filter, e.g. userName eq "ada@example.com" (400 invalidFilter when it does not parse)'),
  startIndex: text('1-based index of the first result'),
  count: text('results per page (at most 200)'),
  attributes: text('only these attributes (comma-separated)'),
  excludedAttributes: text('leave these attributes out (comma-separated), e.g. members'),
});
const params = z.object({ id: z.optional(z.string()) });

const answer = (a: ScimAnswer) => new WithHeaders(a.status === 204 ? null : a.body, { 'content-type': SCIM_MEDIA_TYPE, ...(a.headers ?? {}) }, a.status);

/**
 * SCIM 2.0 at /scim/v2 (functions/http/scim.ts): the caller is the tenant's SCIM token, never a person's
 * token, an app key or IAM; the tenant is the token's. Bodies are JSON (application/scim+json or application/json),
 * read as every route reads its body (size, JSON, shape). Every refusal, also one raised before this runs, is a
 * SCIM error message with a status RFC 7644 gives it (scimFailure).
 */
export const handler = httpHandler({ query, params, wiring, errorAnswer: scimFailure }, async ({ route, params, query, headers, rawBody }) => {
  const caller = await scimCaller(headers, (tenant) => tenantDeps(wiring, tenant));
  if (!('ctx' in caller)) return answer(caller);
  let body: unknown;
  if (rawBody !== undefined && rawBody.trim() !== '') {
    const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type && type !== SCIM_MEDIA_TYPE && type !== 'application/json')
      throw new UnsupportedMediaType(`Send the body as ${SCIM_MEDIA_TYPE} (or application/json), not ${type}`);
    body = parseJsonBody(rawBody);
  }
  const resource = route.path.split('/')[3]!;
  const a = await answerScim(caller.deps, caller.ctx, { method: route.method, resource, id: params.id, query, body });
  return answer(a);
});
