import { serveGroup } from '../http/group.ts';
import { handler as artifactsVersions } from '../handlers/artifacts-versions.ts';
import { handler as artifactsTag } from '../handlers/artifacts-tag.ts';
import { handler as artifactsResolve } from '../handlers/artifacts-resolve.ts';
import { handler as consumersList } from '../handlers/consumers-list.ts';

/** One Lambda for the read-only routes of artifacts (FUNCTION_GROUPS in functions/http/routes.ts). */
export const handler = serveGroup('artifacts-read', {
  'artifacts-versions': artifactsVersions,
  'artifacts-tag': artifactsTag,
  'artifacts-resolve': artifactsResolve,
  'consumers-list': consumersList,
});
