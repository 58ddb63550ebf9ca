import * as z from '../kernel/zod.ts';
import { shapeProblem } from '../kernel/json-shape.ts';
import { discovered, tokenMatches } from './discovery.ts';
import type { Deps, With } from '../kernel/deps.ts';

/**
 * A registry's push notifications (CNCF distribution's envelope, `notifications.endpoints`), sent to
 * one link's URL with that link's token. Unknown link and wrong token get the same 401; a body that is
 * not an envelope gets 400 (and is logged by the handler); pushes of blobs, pulls and other
 * repositories are ignored; each tagged manifest push goes through `discovered`.
 */
const envelope = /* @__PURE__ */ z.schema(() =>
  z.object({
    events: z
      .array(
        z.looseObject({
          id: z.optional(z.string().check(z.maxLength(200))),
          action: z.string().check(z.maxLength(40)),
          target: z.looseObject({
            mediaType: z.optional(z.string().check(z.maxLength(200))),
            digest: z.string().check(z.maxLength(200)),
            repository: z.string().check(z.maxLength(255)),
            tag: z.optional(z.string().check(z.maxLength(128))),
          }),
        }),
      )
      .check(z.maxLength(100)),
  }),
);

const ids = /* @__PURE__ */ z.schema(() =>
  z.object({
    tenant: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/)),
    artifact: z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,99}$/)),
    link: z.string().check(z.regex(/^lnk_[0-9a-f]{12}$/)),
  }),
);

type Answer = { status: number; body: { error: { code: string; message: string } } | (Record<string, unknown> & { error?: undefined }) };

export async function registryNotification(
  deps: With<'registry'>,
  path: { tenant: string; artifact: string; link: string },
  authorization: string,
  raw: string,
): Promise<{ status: number; body: any }> {
  const unauthorized: Answer = {
    status: 401,
    body: { error: { code: 'UNAUTHORIZED', message: "send the link's notification token: Authorization: Bearer <notifyToken>" } },
  };
  const p = ids.safeParse(path);
  const token = /^Bearer (\S{1,200})$/.exec(authorization)?.[1];
  if (!p.success || !token) return unauthorized;
  const link = await deps.store.getRepoLink(p.data.tenant, p.data.artifact, p.data.link);
  if (!link || !tokenMatches(link, token)) return unauthorized;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return {
      status: 400,
      body: { error: { code: 'MALFORMED_JSON', message: 'the body must be a registry notification envelope ({"events": [...]}) as JSON' } },
    };
  }
  // What every JSON body must be (domain/kernel/json-shape.ts): text that is Unicode, numbers that store, no reserved key.
  const problem = shapeProblem(json, 'body');
  if (problem)
    return { status: 400, body: { error: { code: 'VALIDATION_FAILED', message: `${problem.path.replace(/^body\.?/, '') || 'body'}: ${problem.message}` } } };
  const env = envelope.safeParse(json);
  if (!env.success) {
    return {
      status: 400,
      body: {
        error: {
          code: 'VALIDATION_FAILED',
          message: `not a registry notification envelope: ${env.error.issues
            .slice(0, 3)
            .map((i) => `${i.path.join('.')}: ${i.message}`)
            .join('; ')}`,
        },
      },
    };
  }
  const results = [];
  for (const e of env.data.events) {
    if (e.action !== 'push' || !e.target.tag || (e.target.mediaType && !/manifest|image\.index/.test(e.target.mediaType))) continue;
    results.push(await discovered(deps, link, { registry: link.registry, repository: e.target.repository, digest: e.target.digest, tag: e.target.tag }));
  }
  return { status: 200, body: { results } };
}
