import { createHash } from 'node:crypto';
import { PAGE, SCRIPT, STYLE } from '../dashboard/page.ts';

/**
 * GET /dashboard (no auth): the static status page. It calls the API itself
 * with the token the user gives it. The CSP allows only the page's own inline
 * style and script (by hash, computed once here) and same-origin fetches.
 */
const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export const CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

export const handler = async () => ({ statusCode: 200, headers: { ...HEADERS }, body: PAGE });
