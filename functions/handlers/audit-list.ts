import { queryAudit } from '#domain/audit/log';
import { auditQuery as query } from '#domain/kernel/schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => queryAudit(deps, ctx, query));
