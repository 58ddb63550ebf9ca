import { createBundle } from '#domain/artifacts/bundles';
import { createBundleBody as body } from '#domain/kernel/promotion-schemas';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/** A bundle is content-addressed: creating the same members again answers the stored bundle (200), a new one is 201. */
export const handler = httpHandler(
  { body, status: 201, otherSuccess: { 200: 'The same members and configuration already make this bundle: the stored one' } },
  async ({ deps, ctx, body }) => {
    const { bundle, created } = await createBundle(deps, ctx, body);
    return created ? bundle : new WithHeaders(bundle, {}, 200);
  },
);
