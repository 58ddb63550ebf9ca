import { getTag } from '#domain/artifacts/artifacts';
import { tagParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => getTag(deps, ctx, params.name, params.tag));
