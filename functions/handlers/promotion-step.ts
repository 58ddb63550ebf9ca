// Placeholder replaced in the promotion-engine commit: the state machine's task entry.
import * as z from 'zod';

export const stepInput = z.object({
  step: z.enum(['gates', 'await-approval', 'await-go', 'execute', 'verify', 'expire', 'fail']),
  tenant: z.string().min(1),
  promotionId: z.string().min(1),
  taskToken: z.string().optional(),
  error: z.unknown().optional(),
});

export const handler = async (event: unknown) => {
  stepInput.parse(event);
  throw new Error('not implemented yet');
};
