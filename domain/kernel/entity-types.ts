/**
 * Every kind of entity an audit entry is about: the model's EntityType, the audit query's
 * `entityType` filter and the console's choices of it come from this one list (no imports: the
 * console bundles it as it is).
 */
export const ENTITY_TYPES = [
  'environment',
  'config',
  'flag',
  'snapshot',
  'promotion',
  'artifact',
  'rule',
  'deployment',
  'consumer',
  'freeze-window',
  'manifest',
  'slack-link',
  'app-key',
  'webhook',
  'git-target',
  'tenant',
  'user',
  'analysis-template',
  'recurring-promotion',
  'bundle',
  'scim-token',
  'scim-group',
  'identity-provider',
] as const;

export type EntityType = (typeof ENTITY_TYPES)[number];
