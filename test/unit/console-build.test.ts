import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUDGET_GZIP_BYTES, buildConsole, firstLoadGzip, generatedModule, GENERATED, type Built } from '../../scripts/console.ts';

let built: Built;
beforeAll(async () => {
  built = await buildConsole();
});

describe('the console build', () => {
  it('functions/dashboard/assets.generated.ts is what console/ builds to (run `npm run console` after changing the console)', () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(generatedModule(built));
  });

  it('the first load (entry script + style + the chunks the entry imports) is within the page-weight budget; views the first screen does not need are chunks of their own', () => {
    expect(firstLoadGzip(built)).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
    const first = [built.script, ...built.preload].map((a) => a.body).join('\n');
    // The settings, the charts' library and the calendar are not in what the first load fetches…
    for (const lazyOnly of ['Identity provider', 'uplot', 'Freeze windows and allowed hours']) {
      expect(first).not.toContain(lazyOnly);
      expect(built.lazy.some((a) => a.body.includes(lazyOnly))).toBe(true);
    }
    // …and the entry loads each by its hashed name.
    for (const a of built.lazy.filter((x) => first.includes(x.name))) expect(a.name).toMatch(/^[\w-]+\.[0-9a-f]{12}\.js$/);
    expect(built.lazy.filter((a) => first.includes(`"./${a.name}"`)).length).toBeGreaterThanOrEqual(5);
  });
});
