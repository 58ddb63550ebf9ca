import { publishArtifact as body } from '#domain/kernel/promotion-schemas';
import { publishArtifact } from '#domain/artifacts/artifacts';
import { ConfiguredRegistrySync } from '../adapters/registry-credentials.ts';
import { artifactParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store and the registries (publishing writes the version's tags in the first environment's registries). */
const wiring = compose({ registry: () => new ConfiguredRegistrySync() });

export const handler = httpHandler({ wiring, params, body, status: 201, errors: [423] }, async ({ deps, ctx, params, body }) =>
  publishArtifact(deps, ctx, params.name, body),
);
