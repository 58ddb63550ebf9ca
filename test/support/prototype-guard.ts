import { afterAll, expect } from 'vitest';

/**
 * Every test file ends with the built-in prototypes as it found them: a caller-supplied key that
 * reached `Object.prototype` (or Array's, Function's) anywhere in the stack under test, which runs in
 * this process, fails the file that let it in, whatever that file asserted itself.
 */
const PROTOTYPES = {
  'Object.prototype': Object.prototype,
  'Array.prototype': Array.prototype,
  'Function.prototype': Function.prototype,
  'String.prototype': String.prototype,
};
const names = (o: object) => Reflect.ownKeys(o).map(String).sort();
const before = Object.fromEntries(Object.entries(PROTOTYPES).map(([name, proto]) => [name, names(proto)]));

afterAll(() => {
  for (const [name, proto] of Object.entries(PROTOTYPES)) {
    const gained = names(proto).filter((k) => !before[name]!.includes(k));
    expect(gained, `${name} gained own keys during this file: a caller-supplied key reached a prototype`).toEqual([]);
  }
});
