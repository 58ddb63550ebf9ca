import { deleteRule } from '#domain/promotion/request/rules';
import { ruleParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, status: 204 }, async ({ deps, ctx, params }) => deleteRule(deps, ctx, params.id));
