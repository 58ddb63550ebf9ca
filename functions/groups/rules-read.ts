import { serveGroup } from '../http/group.ts';
import { handler as rulesList } from '../handlers/rules-list.ts';
import { handler as rulesGet } from '../handlers/rules-get.ts';

/** One Lambda for the read-only routes of rules (FUNCTION_GROUPS in functions/http/routes.ts). */
export const handler = serveGroup('rules-read', {
  'rules-list': rulesList,
  'rules-get': rulesGet,
});
