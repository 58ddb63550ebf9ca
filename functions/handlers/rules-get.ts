import { getRule } from '#domain/promotion/request/rules';
import { ruleParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => getRule(deps, ctx, params.id));
