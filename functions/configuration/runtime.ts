import { variable, text, decimal, flag, onOff, json } from './variable.ts';

/**
 * The configuration's variables Lambda or the bundler sets, and the tuning an operator may set
 * (functions/configuration.ts re-exports them).
 */

// ---------------------------------------------------------------------------------------------
// Set by Lambda, or by the bundler.

export const AWS_REGION = /* @__PURE__ */ variable({
  name: 'AWS_REGION',
  is: () => text(),
  origin: 'lambda',
  readBy: ['functions/http/deps.ts', 'local/dynamodb.ts'],
  description: "the function's region",
});

export const AWS_LAMBDA_FUNCTION_NAME = /* @__PURE__ */ variable({
  name: 'AWS_LAMBDA_FUNCTION_NAME',
  is: () => text(),
  origin: 'lambda',
  readBy: ['functions/adapters/secrets.ts', 'functions/adapters/slack-app.ts'],
  description: "set on Lambda only: tenants' secrets and the Slack signing secret come from Secrets Manager there, from the environment locally",
});

export const STAGELINE_TRACE_SDK = /* @__PURE__ */ variable({
  name: 'STAGELINE_TRACE_SDK',
  is: () => flag(),
  default: false,
  origin: 'build',
  readBy: ['functions/adapters/tracing.ts'],
  description:
    'X-Ray subsegments around every AWS SDK call and outbound HTTPS request (context `traceSdk`): written into each bundle as a constant, so a function that does not trace carries no Tracer',
});

export const STAGELINE_SERVED_ROUTES = /* @__PURE__ */ variable({
  name: 'STAGELINE_SERVED_ROUTES',
  is: () => json(),
  defaultText: 'the whole route table (outside a bundle)',
  origin: 'build',
  readBy: ['functions/http/served-routes.ts'],
  description: 'the rows of the route table a function serves, written into its bundle as a constant (infra/bundle.ts)',
});

export const STAGELINE_ROUTE_PATHS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ROUTE_PATHS',
  is: () => json(),
  defaultText: 'the whole route table (outside a bundle)',
  origin: 'build',
  readBy: ['functions/http/router.ts', 'functions/http/served-routes.ts'],
  description:
    "every route's method and path, written into a bundle as a constant: what the $default fallback tells 405 from 404 with (outside a bundle the router matches on the table itself)",
});

export const STAGELINE_OPENAPI_DOCUMENT = /* @__PURE__ */ variable({
  name: 'STAGELINE_OPENAPI_DOCUMENT',
  is: () => text(),
  defaultText: 'the checked-in document (outside a bundle)',
  origin: 'build',
  readBy: ['functions/handlers/openapi.ts'],
  description:
    "the OpenAPI document, brotli-compressed and base64-encoded, written into the openapi function's bundle as a constant (infra/bundle.ts): a string its module init only reads, inflated on the first request",
});

// ---------------------------------------------------------------------------------------------
// Tuning: unset by the stack; an operator may set them. The domain's tunables are among them: their defaults are
// DEFAULT_TUNABLES' (domain/kernel/tunables.ts; test/unit/configuration.test.ts checks they agree), written out
// here because a bundle drops an unused variable only when nothing in its declaration reads another module.

export const STAGELINE_RETRY_BUDGET_MS = /* @__PURE__ */ variable({
  name: 'STAGELINE_RETRY_BUDGET_MS',
  is: () => decimal({ min: 0, integer: true }),
  default: 7000,
  origin: 'operator',
  readBy: ['functions/http/deps.ts'],
  description: "how long a write keeps retrying lost races (ms) before it answers 409 with Retry-After: inside the API functions' 10 s timeout",
});

export const STAGELINE_SWEEP_GRACE_SECONDS = /* @__PURE__ */ variable({
  name: 'STAGELINE_SWEEP_GRACE_SECONDS',
  is: () => decimal({ min: 0 }),
  default: 900,
  origin: 'operator',
  readBy: ['functions/http/deps.ts'],
  description:
    "how long past a state's own deadline (approval window, go window, a step's time-out) the sweeper waits before it fails a promotion whose flow is gone (s)",
});

export const STAGELINE_PENDING_EXPIRY_HOURS = /* @__PURE__ */ variable({
  name: 'STAGELINE_PENDING_EXPIRY_HOURS',
  is: () => decimal({ min: 0, above: true }),
  default: 72,
  origin: 'operator',
  readBy: ['functions/http/deps.ts'],
  description: 'how long a promotion may wait for `validate` before the scheduler expires it (hours)',
});

export const STAGELINE_ANCHOR_INTERVAL_SECONDS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ANCHOR_INTERVAL_SECONDS',
  is: () => decimal({ min: 0 }),
  default: 10,
  origin: 'operator',
  readBy: ['functions/handlers/stream.ts'],
  description:
    'the stream consumer: how often at most it signs one Merkle root over every audit chain that moved (a change after a quiet spell is signed at once; `0` signs after every batch). The newest audit link is signed at most this long after it is linked while batches keep coming; `/audit/verify` reports the lag',
});

export const APP_READ_CACHE_MS = /* @__PURE__ */ variable({
  name: 'APP_READ_CACHE_MS',
  is: () => decimal({ min: 0, max: 1000, integer: true }),
  default: 1000,
  origin: 'operator',
  readBy: ['functions/http/read-cache.ts'],
  description: "how long a warm function keeps an app key's record (ms, at most 1000; `0`: never): a revoked or rotated-away key is refused within this time",
});

export const STAGELINE_ACCESS_LOG = /* @__PURE__ */ variable({
  name: 'STAGELINE_ACCESS_LOG',
  is: () => onOff(),
  defaultText: 'on (Lambda), off (local stack)',
  origin: 'operator',
  readBy: ['functions/adapters/observability.ts', 'local/terminal.ts'],
  description:
    '`off` silences the one-line JSON access log per request on Lambda; locally `on` (or `npm start -- --verbose`) turns on the access log, the EMF metric lines and full stack traces',
});

export const POWERTOOLS_METRICS_DISABLED = /* @__PURE__ */ variable({
  name: 'POWERTOOLS_METRICS_DISABLED',
  is: () => text('true | false'),
  defaultText: 'unset (Lambda); `true` in the quiet local stack',
  origin: 'operator',
  readBy: ['local/terminal.ts'],
  description: "Powertools Metrics' own switch (the library reads it): `true` writes no EMF metric documents",
});
