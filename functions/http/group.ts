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

/**
 * A group whose members are loaded on their first request (LAZY_GROUPS, functions/http/topology.ts): its module init
 * reads the entry alone, and each request loads (once) the member its route names. For a group of rare admin saves,
 * each with a domain of its own: a cold start pays for the one save it serves, not for all of them.
 */
export function serveLazyGroup(members: Record<string, () => Promise<Handler>>) {
  const names = Object.keys(members).sort();
  const served = servedHandlers();
  const stray = names.filter((h) => !served.has(h));
  if (stray.length) throw new Error(`this function serves no route of ${stray.join(', ')}: its entry and its routes disagree (FUNCTION_GROUPS)`);
  const loaded = new Map<string, Promise<Handler>>();
  const member = (name: string) => {
    let m = loaded.get(name);
    if (!m) {
      m = members[name]!();
      // A failed load is not kept: the next request tries again.
      m.catch(() => loaded.delete(name));
      loaded.set(name, m);
    }
    return m;
  };
  return async (event: APIGatewayProxyEventV2, context: Context) => {
    const name = routeByKey(event.routeKey)?.handler ?? '';
    // A route that is not this group's: any member answers it the way every handler does (404, from the error map).
    return (await member(name in members ? name : names[0]!))(event, context);
  };
}
