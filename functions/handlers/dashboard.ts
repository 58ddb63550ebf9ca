import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { PAGE, SCRIPT, sha256, STYLE } from '../dashboard/page.ts';

/**
 * GET /dashboard (no auth): the static status page; GET /dashboard/app.js: its script. The page
 * calls the API itself with the token the user gives it. The CSP allows only the page's own inline
 * style and its script (by hash, computed once here; the page loads the script with the same hash
 * as its integrity) and same-origin fetches.
 */
export const CSP = [
  "default-src 'none'",
  `script-src '${sha256(SCRIPT)}'`,
  `style-src '${sha256(STYLE)}'`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
const HEADERS = { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP, ...COMMON, 'x-frame-options': 'DENY' };
/** The script itself loads nothing and may not be framed or run as a document. */
const SCRIPT_HEADERS = { 'content-type': 'text/javascript; charset=utf-8', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", ...COMMON };

export const handler = async (event?: Pick<APIGatewayProxyEventV2, 'routeKey'>) =>
  event?.routeKey === 'GET /dashboard/app.js' ? { statusCode: 200, headers: { ...SCRIPT_HEADERS }, body: SCRIPT } : { statusCode: 200, headers: { ...HEADERS }, body: PAGE };
