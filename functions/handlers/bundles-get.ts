import { getBundle } from '#domain/artifacts/bundles';
import { artifactParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => getBundle(deps, ctx, params.name));
