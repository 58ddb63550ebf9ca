import { serveGroup } from '../http/group.ts';
import { handler as snapshotsList } from '../handlers/snapshots-list.ts';
import { handler as snapshotsGet } from '../handlers/snapshots-get.ts';
import { handler as diffSnapshots } from '../handlers/diff-snapshots.ts';

/** One Lambda for the read-only routes of snapshots (FUNCTION_GROUPS in functions/http/routes.ts). */
export const handler = serveGroup('snapshots-read', {
  'snapshots-list': snapshotsList,
  'snapshots-get': snapshotsGet,
  'diff-snapshots': diffSnapshots,
});
