import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { routeByKey, servedHandlers } from './served-routes.ts';

export type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/**
 * The entry of a Lambda function that serves several handlers (FUNCTION_GROUPS): each request goes
 * to the handler its route names, with the handler's own middleware (auth, validation, errors).
 * The entry is generated from FUNCTION_GROUPS (functions/http/topology.ts; infra/bundle.ts
 * groupEntrySource, and the local gateway builds the same with topology.ts groupOf), so the groups
 * are declared once. A member that serves none of the
 * routes this code serves (a bundle's rows, served-routes.ts) fails at module load, not on a request.
 */
export function serveGroup(members: Record<string, Handler>) {
  const names = Object.keys(members).sort();
  const served = servedHandlers();
  const stray = names.filter((h) => !served.has(h));
  if (stray.length) throw new Error(`this function serves no route of ${stray.join(', ')}: its entry and its routes disagree (FUNCTION_GROUPS)`);
  const first = members[names[0]!]!;
  return (event: APIGatewayProxyEventV2, context: Context) => {
    const member = members[routeByKey(event.routeKey)?.handler ?? ''];
    // A route that is not this group's: any member answers it the way every handler does (404, from the error map).
    return (member ?? first)(event, context);
  };
}
