import { publishArtifact as body } from '#domain/promotion/schemas';
import { publishArtifact } from '#domain/artifacts';
import { artifactParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, status: 201 }, async ({ deps, ctx, params, body }) => publishArtifact(deps, ctx, params.name, body));
