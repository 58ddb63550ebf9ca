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
});

export const AWS_LAMBDA_FUNCTION_NAME = /* @__PURE__ */ variable({
  name: 'AWS_LAMBDA_FUNCTION_NAME',
  is: () => text(),
  origin: 'lambda',
});

export const STAGELINE_TRACE_SDK = /* @__PURE__ */ variable({
  name: 'STAGELINE_TRACE_SDK',
  is: () => flag(),
  default: false,
  origin: 'build',
});

export const STAGELINE_SERVED_ROUTES = /* @__PURE__ */ variable({
  name: 'STAGELINE_SERVED_ROUTES',
  is: () => json(),
  origin: 'build',
});

export const STAGELINE_ROUTE_PATHS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ROUTE_PATHS',
  is: () => json(),
  origin: 'build',
});

export const STAGELINE_OPENAPI_DOCUMENT = /* @__PURE__ */ variable({
  name: 'STAGELINE_OPENAPI_DOCUMENT',
  is: () => text(),
  origin: 'build',
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
});

export const STAGELINE_OUTBOUND_RETRY_BASE_MS = /* @__PURE__ */ variable({
  name: 'STAGELINE_OUTBOUND_RETRY_BASE_MS',
  is: () => decimal({ min: 1, max: 10_000, integer: true }),
  default: 500,
  origin: 'operator',
});

export const STAGELINE_SWEEP_GRACE_SECONDS = /* @__PURE__ */ variable({
  name: 'STAGELINE_SWEEP_GRACE_SECONDS',
  is: () => decimal({ min: 0 }),
  default: 900,
  origin: 'operator',
});

export const STAGELINE_PENDING_EXPIRY_HOURS = /* @__PURE__ */ variable({
  name: 'STAGELINE_PENDING_EXPIRY_HOURS',
  is: () => decimal({ min: 0, above: true }),
  default: 72,
  origin: 'operator',
});

export const STAGELINE_FLEET_MAX_INSTANCES = /* @__PURE__ */ variable({
  name: 'STAGELINE_FLEET_MAX_INSTANCES',
  is: () => decimal({ min: 1, integer: true }),
  default: 1000,
  origin: 'operator',
});

export const STAGELINE_WAVE_HISTORY_EVENTS = /* @__PURE__ */ variable({
  name: 'STAGELINE_WAVE_HISTORY_EVENTS',
  is: () => decimal({ min: 20, max: 20_000, integer: true }),
  default: 5000,
  origin: 'operator',
});

export const STAGELINE_MAX_RECURRING_PROMOTIONS = /* @__PURE__ */ variable({
  name: 'STAGELINE_MAX_RECURRING_PROMOTIONS',
  is: () => decimal({ min: 1, integer: true }),
  default: 20,
  origin: 'operator',
});

export const STAGELINE_ANCHOR_INTERVAL_SECONDS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ANCHOR_INTERVAL_SECONDS',
  is: () => decimal({ min: 0 }),
  default: 10,
  origin: 'operator',
});

export const STAGELINE_AUDIT_STREAM_RETRY_MS = /* @__PURE__ */ variable({
  name: 'STAGELINE_AUDIT_STREAM_RETRY_MS',
  is: () => decimal({ min: 0, max: 60_000, integer: true }),
  default: 500,
  origin: 'operator',
});

export const APP_READ_CACHE_MS = /* @__PURE__ */ variable({
  name: 'APP_READ_CACHE_MS',
  is: () => decimal({ min: 0, max: 1000, integer: true }),
  default: 1000,
  origin: 'operator',
});

export const STAGELINE_ACCESS_LOG = /* @__PURE__ */ variable({
  name: 'STAGELINE_ACCESS_LOG',
  is: () => onOff(),
  origin: 'operator',
});

export const POWERTOOLS_METRICS_DISABLED = /* @__PURE__ */ variable({
  name: 'POWERTOOLS_METRICS_DISABLED',
  is: () => text('true | false'),
  origin: 'operator',
});
