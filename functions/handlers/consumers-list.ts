import { listConsumers } from '#domain/artifacts/artifacts';
import { artifactParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => ({ items: await listConsumers(deps, ctx, params.name) }));
