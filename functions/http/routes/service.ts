import { authConfigResponse, errorBody, healthResponse, openApiDocument } from '../responses/service.ts';
import { v1, type Route } from './row.ts';

/** The service itself: liveness, where people sign in, the console and the contract. */
export const SERVICE_ROUTES: Route[] = [
  { method: 'GET', path: '/health', handler: 'health', auth: 'none', role: null, summary: 'Liveness', response: { schema: healthResponse } },
  {
    method: 'GET',
    path: `${v1}/auth/config`,
    handler: 'auth-config',
    auth: 'none',
    role: null,
    summary:
      "Where people sign in: the OAuth 2.0 authorization code + PKCE endpoints (the user pool domain on AWS, the local stand-in locally) and the public client id; with ?email=<address>, the identifier that routes the address to its company's identity provider (idpIdentifier: its domain, or null), nothing else",
    response: {
      schema: authConfigResponse,
      errors: { 400: { description: 'query.email is not an email address (or is given twice); other query parameters are ignored', schema: errorBody } },
    },
    // Its routing by email reads a domain's claim and a connection outside any tenant session: a role of its own holds those reads alone (infra/background-writes.ts NARROW_READS).
    ownRole: true,
  },
  {
    method: 'GET',
    path: '/dashboard',
    handler: 'dashboard',
    auth: 'none',
    role: null,
    summary: 'The console (a page that signs people in with authorization code + PKCE and calls this API with their token)',
    response: { text: { 'text/html': 'The console page: its hashed script and stylesheet (Subresource Integrity), no inline code' } },
  },
  {
    method: 'GET',
    path: '/dashboard/assets/{file}',
    handler: 'dashboard',
    auth: 'none',
    role: null,
    summary: "The console's script and stylesheet, named by their content hash (cached for a year)",
    response: {
      text: { 'text/javascript': "The console's script", 'text/css': "The console's stylesheet" },
      errors: { 404: 'No console asset of that name (a page of an older build): a comment, harmless as script or style' },
    },
  },
  {
    method: 'GET',
    path: `${v1}/openapi.json`,
    handler: 'openapi',
    auth: 'none',
    role: null,
    summary: 'This API as OpenAPI 3.1 (generated from the route table and the zod schemas)',
    response: { schema: openApiDocument },
  },
];
