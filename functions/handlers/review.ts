import type { Directory } from '#domain/ports';
import { directoryFromEnv } from '../adapters/cognito-directory.ts';
import { lazy, registerNotify } from '../http/deps.ts';
import { serveReview } from '../review/serve.ts';

registerNotify(() => ({ directory: lazy<Directory>(() => directoryFromEnv()) }));

/** GET/POST /review/{tenant}/{token}: the page behind a signed approval link (functions/review/serve.ts). */
export const handler = serveReview;
