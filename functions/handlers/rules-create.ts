import { createRule } from '#domain/promotion/request/rules';
import { createRule as body } from '#domain/kernel/promotion-schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ body, status: 201 }, async ({ deps, ctx, body }) => createRule(deps, ctx, body));
