import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildConsole, generatedModule, GENERATED } from '../../scripts/console.ts';

describe('the console build', () => {
  it('functions/dashboard/assets.generated.ts is what console/ builds to (run `npm run console` after changing the console)', async () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(generatedModule(await buildConsole()));
  });
});
