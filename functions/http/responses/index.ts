/**
 * What the API answers: the response bodies of the routes as zod schemas, one file per area beside
 * this one (forms.ts: the request bodies that are forms). The domain returns its own types; this is
 * the HTTP contract. Each route's row names the schema of its answer (functions/http/routes/<area>.ts,
 * `response.schema`); scripts/openapi.ts publishes them in the OpenAPI document; the test stack checks
 * every 2xx answer against that document in every integration test, so the contract cannot drift
 * from the code. Objects are strict where the view is ours (a field added to a view must be added
 * here); nested documents that carry user data stay open. A JSON route without a schema (and no
 * text answer declared) is published with an open object, and test/unit/openapi.test.ts fails.
 *
 * This module names the schemas other code types itself with (the CLI's view of the answers).
 */
export { errorBody, gatewayMessage } from './service.ts';
export { environmentResponse, statusResponse } from './environments.ts';
export { promotionDetailResponse, promotionResponse } from './promotions.ts';
