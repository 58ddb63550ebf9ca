/**
 * The registry tag a version gets in an environment (seed 003: v1.2.3-prod, latest-prod,
 * v1.2.2-prod-rollback). Its own module, free of semver and the publishing code, because the store
 * names tag items with it in every function.
 */
export const tagName = (kind: 'release' | 'latest' | 'rollback', version: string, env: string) =>
  kind === 'latest' ? `latest-${env}` : kind === 'rollback' ? `${version}-${env}-rollback` : `${version}-${env}`;
