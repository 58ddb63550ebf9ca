import { listRules } from '#domain/promotion/request/rules';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({}, async ({ deps, ctx }) => ({ items: await listRules(deps, ctx) }));
