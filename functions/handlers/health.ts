import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({}, async () => ({ status: 'ok', service: 'stageline' }));
