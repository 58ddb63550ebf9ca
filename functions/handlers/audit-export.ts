import { exportAudit, toJsonLines } from '#domain/audit-export';
import { auditExportQuery as query } from '#domain/schemas';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { registerAnchor } from '../http/deps.ts';
import { httpHandler, TextBody } from '../http/handler.ts';

// The export carries the signed checkpoints (read only: listing them needs no key).
registerAnchor(anchorFromEnv);

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => {
  const { lines, next } = await exportAudit(deps, ctx, query);
  return new TextBody(toJsonLines(lines), 'application/x-ndjson', next === null ? {} : { 'x-next-cursor': String(next) });
});
