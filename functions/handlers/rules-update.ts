import { updateRule } from '#domain/promotion/request/rules';
import { updateRule as body } from '#domain/kernel/promotion-schemas';
import { ruleParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler(
  { readOnly: ['id', 'createdAt', 'createdBy', 'updatedAt', 'updatedBy'], params, body },
  async ({ deps, ctx, params, body }) => updateRule(deps, ctx, params.id, body),
);
