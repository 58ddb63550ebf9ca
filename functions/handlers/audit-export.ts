import { exportAudit, toJsonLines } from '#domain/audit/export';
import { auditExportQuery as query } from '#domain/kernel/schemas';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { compose } from '../http/deps.ts';
import { httpHandler, TextBody } from '../http/handler.ts';

/** This function's adapters: the store and the audit anchor (the export carries the signed checkpoints; listing them needs no key). */
const wiring = compose({ anchor: anchorFromEnv });

export const handler = httpHandler({ wiring, query }, async ({ deps, ctx, query }) => {
  const { lines, next } = await exportAudit(deps, ctx, query);
  return new TextBody(toJsonLines(lines), 'application/x-ndjson', next === null ? {} : { 'x-next-cursor': String(next) });
});
