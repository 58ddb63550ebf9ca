import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { actOnLink, LinkRefused, openLink, type Refusal } from '#domain/notify/review';
import { tokenHash } from '#domain/notify/notifier';
import type { Wiring } from '../http/deps.ts';
import { tenantDeps } from '../http/tenant-deps.ts';
import { refusalPage, resultPage, reviewCsp, reviewPage } from './page.ts';
import { fromOwnOrigin, limited, makeNonce, missed, nonceOk, readForm } from './guard.ts';
import { logger, withLambdaContext } from '../adapters/observability.ts';

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': reviewCsp(),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};
const page = (statusCode: number, body: string) => ({ statusCode, headers: { ...HEADERS }, body });

const UNKNOWN_LINK: Refusal = {
  code: 'unknown',
  title: 'This link is not valid',
  message: 'The link is unknown or was altered.',
  whatToDo: 'Open the promotion from the Stageline dashboard or ask for a new notification.',
};

const STATUS: Record<Refusal['code'], number> = {
  unknown: 404,
  expired: 410,
  used: 409,
  'not-waiting': 409,
  'release-changed': 409,
  'not-eligible': 403,
  'view-only': 200,
};

/**
 * GET/POST /review/{tenant}/{token}: the page behind a signed link. GET only
 * reads (prefetchers open links); POST acts through the same code path as the
 * API, once, and only from a form this service rendered (token + nonce).
 */
export const reviewEndpoint = (wiring: Wiring<'workflow' | 'directory' | 'scheduler'>) =>
  withLambdaContext((event: APIGatewayProxyEventV2) => serveReview(wiring, event));

async function serveReview(wiring: Wiring<'workflow' | 'directory' | 'scheduler'>, event: APIGatewayProxyEventV2) {
  // Path parameters arrive decoded (API Gateway and the local gateway alike).
  const tenant = event.pathParameters?.tenant ?? '';
  const token = event.pathParameters?.token ?? '';
  const ip = event.requestContext?.http?.sourceIp ?? 'unknown';
  if (limited(ip))
    return {
      ...page(
        429,
        refusalPage({
          title: 'Too many attempts',
          message: 'Too many unknown links from your address.',
          whatToDo: 'Wait a minute and open the link from your notification again.',
        }),
      ),
      headers: { ...HEADERS, 'retry-after': '60' },
    };
  const action = `/review/${encodeURIComponent(tenant)}/${token}`;
  try {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(tenant)) throw new LinkRefused(UNKNOWN_LINK);
    // The link's tenant scopes the data this request can reach (see tenantDeps).
    const d = tenantDeps(wiring, tenant);
    if (event.requestContext.http.method === 'GET') {
      const state = await openLink(d, tenant, token);
      const p = state.promotion;
      return page(
        200,
        reviewPage({
          view: state.view,
          diff: state.diff,
          policy: p.policy,
          approver: state.link.approver.email,
          formAction: action,
          nonce: state.refusal ? '' : await makeNonce(state.link.hash),
          canAct: !state.refusal,
          notice: state.refusal ?? undefined,
        }),
      );
    }
    if (!fromOwnOrigin(event.headers, event.requestContext.domainName, d.publicUrl)) {
      return page(
        403,
        refusalPage({
          title: 'Not sent from Stageline',
          message: 'This decision did not come from a Stageline review page (another site sent it, or the browser did not say where it came from).',
          whatToDo: 'Open the link from your notification and use its buttons.',
        }),
      );
    }
    const form = readForm(event.body, event.isBase64Encoded);
    if (!form.ok) return page(400, refusalPage(form));
    const { what, reason } = form;
    if (!(await nonceOk(form.nonce, tokenHash(token)))) {
      return page(
        403,
        refusalPage({
          title: 'This form has expired',
          message: 'The page was not served by Stageline just now (or it is older than 30 minutes).',
          whatToDo: 'Open the link from your notification again.',
        }),
      );
    }
    const p = await actOnLink(d, tenant, token, what, reason, event.requestContext.requestId);
    return page(
      200,
      what === 'approve'
        ? resultPage({
            title: 'Approved',
            message:
              p.status === 'AWAITING_APPROVAL'
                ? 'Your approval is recorded; more approvals are still needed.'
                : `Your approval is recorded; the promotion is ${p.status}.`,
          })
        : resultPage({ title: 'Rejected', message: 'The promotion is rejected and the requester is told why.' }),
    );
  } catch (err) {
    if (err instanceof LinkRefused) {
      if (err.refusal.code === 'unknown') missed(ip);
      return page(STATUS[err.refusal.code], refusalPage(err.refusal));
    }
    const e = err as { code?: string; message?: string };
    // A domain refusal from the shared approve/reject path (separation of duties, window closed, …).
    if (e.code)
      return page(
        409,
        refusalPage({
          title: 'Not done',
          message: e.message ?? 'The promotion refused the action.',
          whatToDo: 'Open the promotion in the dashboard to see where it stands.',
        }),
      );
    logger.error('review page failed', { requestId: event.requestContext?.requestId, tenant, error: String(err) });
    return page(
      500,
      refusalPage({
        title: 'Something went wrong',
        message: `Request ${event.requestContext?.requestId ?? ''} failed on our side.`,
        whatToDo: 'Try again in a minute.',
      }),
    );
  }
}
