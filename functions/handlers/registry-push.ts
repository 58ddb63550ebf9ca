import { onEcrPush } from '#domain/artifacts/discovery-ecr';
import { compose } from '../http/deps.ts';
import { ConfiguredRegistrySync } from '../adapters/registry-credentials.ts';

/** This function's adapters: the store and the registries (a pushed version is published: its tags in the first environment's registries). */
const wiring = compose({ registry: () => new ConfiguredRegistrySync() });
import { logged, withLambdaContext } from '../adapters/observability.ts';

/**
 * Target of the rule on the default bus for ECR's "ECR Image Action" events (PUSH, SUCCESS;
 * infra/stack.ts RegistryPush): the pushed tag becomes a version of every artifact linked to that
 * repository whose filter it passes (domain/artifacts/discovery.ts).
 */
export const handler = withLambdaContext(async (event: unknown) =>
  logged(
    'registry push',
    {},
    () => onEcrPush(wiring.deps(), event),
    (r) => ({ repository: r.repository, results: r.results.length, ignored: r.ignored }),
  ),
);
