import { serveGroup } from '../http/group.ts';
import { handler as environmentsList } from '../handlers/environments-list.ts';
import { handler as environmentsGet } from '../handlers/environments-get.ts';
import { handler as status } from '../handlers/status.ts';
import { handler as diffEnvironments } from '../handlers/diff-environments.ts';

/** One Lambda for the read-only routes of environments (FUNCTION_GROUPS in functions/http/routes.ts). */
export const handler = serveGroup('environments-read', {
  'environments-list': environmentsList,
  'environments-get': environmentsGet,
  'status': status,
  'diff-environments': diffEnvironments,
});
