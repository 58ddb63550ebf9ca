import { serveGroup } from '../http/group.ts';
import { handler as itemsList } from '../handlers/items-list.ts';
import { handler as itemsGet } from '../handlers/items-get.ts';

/** One Lambda for the read-only routes of items (FUNCTION_GROUPS in functions/http/routes.ts). */
export const handler = serveGroup('items-read', {
  'items-list': itemsList,
  'items-get': itemsGet,
});
