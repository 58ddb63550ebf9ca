import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm start -- --fresh`: the stack starts from nothing but the demo data, as every page of the guide assumes
 * (what `npm start` made before — tenants, promotions, keys, tokens — is kept in its data folder otherwise).
 * Only a folder Stageline made is emptied: one that holds its tokens.env, or an empty one. Any other folder
 * (STAGELINE_DATA_DIR set to somewhere else by mistake) is refused, never deleted.
 */
export function forgetLocalData(dataDir: string): 'forgotten' | 'nothing-there' {
  if (!existsSync(dataDir) || readdirSync(dataDir).length === 0) return 'nothing-there';
  if (!existsSync(join(dataDir, 'tokens.env')))
    throw new Error(
      `--fresh empties only a folder npm start made (it holds tokens.env); ${dataDir} does not look like one: remove it yourself or set STAGELINE_DATA_DIR`,
    );
  for (const entry of readdirSync(dataDir)) rmSync(join(dataDir, entry), { recursive: true, force: true });
  return 'forgotten';
}

/** `--fresh` on the command line. */
export const freshRequested = (argv: string[] = process.argv): boolean => argv.includes('--fresh');
