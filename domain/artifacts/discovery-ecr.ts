import * as z from '../kernel/zod.ts';
import { discovered, linkRefusal } from './discovery.ts';
import { DomainError } from '../kernel/errors.ts';
import type { Deps, With } from '../kernel/deps.ts';

/** ECR's "ECR Image Action" event as EventBridge delivers it (the fields used). */
const ecrImageAction = /* @__PURE__ */ z.schema(() =>
  z.object({
    source: z.literal('aws.ecr'),
    'detail-type': z.literal('ECR Image Action'),
    account: z.string().check(z.regex(/^[0-9]{12}$/)),
    region: z.string().check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-[0-9]$/)),
    detail: z.object({
      'action-type': z.string(),
      result: z.string(),
      'repository-name': z.string().check(z.maxLength(255)),
      'image-digest': z.string().check(z.maxLength(200)),
      'image-tag': z.optional(z.string().check(z.maxLength(128))),
    }),
  }),
);

/** The registry host an ECR event is about (what a link names). */
export const ecrHost = (account: string, region: string) => `${account}.dkr.ecr.${region}.amazonaws.com`;

/**
 * A successful push to ECR: published into every artifact linked to that repository, filters permitting,
 * each link on its own. A link outside its tenant's namespace (linkRefusal: one made before the rule) gets
 * nothing. A link refused by its tenant's rules is reported and the others go on; an unexpected error is
 * thrown after every link had its turn, so the bus retries the event (publishing is idempotent per digest).
 */
export async function onEcrPush(deps: With<'registry'>, event: unknown) {
  const e = ecrImageAction.safeParse(event);
  if (!e.success) return { repository: null, results: [], ignored: 'not an ECR Image Action event' };
  const d = e.data.detail;
  if (d['action-type'] !== 'PUSH' || d.result !== 'SUCCESS')
    return { repository: d['repository-name'], results: [], ignored: `${d['action-type']} ${d.result}` };
  const registry = ecrHost(e.data.account, e.data.region);
  const results = [];
  let failure: unknown;
  for (const link of await deps.store.repoLinksOf(registry, d['repository-name'])) {
    const refused = linkRefusal(link.tenant, link.registry, link.repository);
    if (refused) {
      results.push({ tenant: link.tenant, artifact: link.artifact, skipped: refused });
      continue;
    }
    try {
      results.push({
        tenant: link.tenant,
        ...(await discovered(deps, link, { registry, repository: d['repository-name'], digest: d['image-digest'], tag: d['image-tag'] })),
      });
    } catch (err) {
      if (!(err instanceof DomainError)) failure ??= err;
      results.push({ tenant: link.tenant, artifact: link.artifact, skipped: err instanceof DomainError ? err.message : 'failed; the event is retried' });
    }
  }
  if (failure) throw failure;
  return { repository: d['repository-name'], results };
}
