import { verifyAudit } from '#domain/audit-log';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({}, async ({ deps, ctx }) => verifyAudit(deps, ctx));
