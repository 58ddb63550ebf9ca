import { publishArtifact as body } from '#domain/promotion/schemas';
import { publishArtifact } from '#domain/artifacts';
import { ConfiguredRegistrySync } from '../adapters/registry-credentials.ts';
import { artifactParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { registerOutbound } from '../http/deps.ts';

// Publishing writes tags in the first environment's registries: this function calls registry URLs too.
registerOutbound(() => ({ registry: new ConfiguredRegistrySync() }));

export const handler = httpHandler({ params, body, status: 201, errors: [423] }, async ({ deps, ctx, params, body }) => publishArtifact(deps, ctx, params.name, body));
