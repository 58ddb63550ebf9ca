import * as z from 'zod';
import { envName } from '#domain/schemas';

/** Path parameter schemas shared by the handlers. */
export const envParams = z.object({ env: envName });
export const itemParams = z.object({ env: envName, id: z.uuid({ message: 'must be an item id (uuid)' }) });
export const snapshotParams = z.object({ env: envName, seq: z.coerce.number().int().min(0).max(999_999_999) });
export const optionalReason = z.object({ reason: z.string().trim().min(1).max(1000).optional() }).strict();
