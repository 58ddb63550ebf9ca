import { changeControlBody as body } from '#domain/change/rule';
import { putChangeControl } from '#domain/change/service';
import { changesOnFirstUse } from '../adapters/change-on-first-use.ts';
import { sealer } from '../adapters/secret-box.ts';
import { compose } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';
import { envParams as params } from '../http/params.ts';

/** The sealer (the credential it is given is sealed here) and the change tools (a standard change's template is looked up at save). */
const wiring = compose({ sealer, changes: changesOnFirstUse });

/** Sets an environment's change-control rule; what GET answered may be sent back (its credential is kept). */
export const handler = httpHandler(
  { wiring, params, body, readOnly: ['environment', 'credentialKind', 'updatedAt', 'updatedBy'] },
  async ({ deps, ctx, params, body }) => putChangeControl(deps, ctx, params.env, body),
);
