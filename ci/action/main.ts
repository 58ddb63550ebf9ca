#!/usr/bin/env node
import { CiError, runCi } from './run.ts';

/**
 * The CI entry: `node ci/action/main.ts` (Node 22.18 or newer runs the TypeScript as is; nothing to
 * install). action.yml and templates/stageline.yml run it; so can any CI that sets the STAGELINE_*
 * variables (docs/guide/18-ci.md lists them). Exit 0: done; 1: refused or misconfigured, with why.
 */
try {
  await runCi(process.env);
} catch (err) {
  const message = err instanceof CiError ? err.message : `unexpected: ${(err as Error).stack ?? String(err)}`;
  // GitHub shows an ::error:: line as the step's annotation; elsewhere it is a plain line of the log.
  if (process.env.GITHUB_ACTIONS === 'true')
    console.log(`::error title=Stageline::${message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`);
  else console.error(`stageline: ${message}`);
  process.exit(1);
}
