import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { FUNCTION_GROUPS, routeByKey, type FunctionGroup } from './routes.ts';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/**
 * The entry of a Lambda function that serves several handlers (FUNCTION_GROUPS): each request goes
 * to the handler its route names, with the handler's own middleware (auth, validation, errors).
 * The entry is generated from FUNCTION_GROUPS (infra/bundle.ts groupEntrySource; the local gateway
 * builds the same with groupOf), so the groups are declared once; the members given must be exactly
 * the group's: a drift fails at module load, not on a request.
 */
export function serveGroup(name: FunctionGroup, members: Record<string, Handler>) {
  const expected = [...FUNCTION_GROUPS[name]].sort();
  const got = Object.keys(members).sort();
  if (expected.join() !== got.join()) throw new Error(`functions/groups/${name}.ts serves ${got.join(', ')}; FUNCTION_GROUPS says ${expected.join(', ')}`);
  const first = members[expected[0]!]!;
  return (event: APIGatewayProxyEventV2, context: Context) => {
    const member = members[routeByKey(event.routeKey)?.handler ?? ''];
    // A route that is not this group's: any member answers it the way every handler does (404, from the error map).
    return (member ?? first)(event, context);
  };
}

/** A group's function from its members' modules, loaded with `load` (the local gateway: dynamic imports of functions/handlers/<name>.ts). */
export async function groupOf(name: FunctionGroup, load: (handler: string) => Promise<{ handler: Handler }>) {
  const members = await Promise.all(FUNCTION_GROUPS[name].map(async (h) => [h, (await load(h)).handler] as const));
  return serveGroup(name, Object.fromEntries(members));
}
