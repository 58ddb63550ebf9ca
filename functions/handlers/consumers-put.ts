import { putConsumer } from '#domain/artifacts/artifacts';
import { consumerBody as body } from '#domain/kernel/schemas';
import { consumerParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body }, async ({ deps, ctx, params, body }) => putConsumer(deps, ctx, params.name, params.consumer, body));
