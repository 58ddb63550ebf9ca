import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateKeyOf } from '../../domain/kernel/json-shape.ts';

/** One spelling per field at the edge: a JSON text that gives a key twice in one object is found, wherever it is. */
describe('duplicateKeyOf', () => {
  it('finds a key given twice in one object, at its path, and nothing in JSON.stringify output', () => {
    expect(duplicateKeyOf('{"a":1,"a":2}')).toMatchObject({ path: 'body.a' });
    expect(duplicateKeyOf('{"x":[{"k":1},{"k":2,"b":{"q":"}","q":3}}]}')).toMatchObject({ path: 'body.x.1.b.q' });
    expect(duplicateKeyOf('{"a\\"b":1,"a\\u0022b":2}')).toMatchObject({ path: 'body.a"b' });
    expect(duplicateKeyOf('{"a":{"a":1},"b":{"a":2},"c":["a","a"]}')).toBeUndefined();
    expect(duplicateKeyOf('"a"')).toBeUndefined();
    fc.assert(fc.property(fc.jsonValue(), (v) => duplicateKeyOf(JSON.stringify(v)) === undefined));
  });

  it('a duplicate inserted anywhere in a generated document is found', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.nat(), (o, n) => {
        const keys = Object.keys(o);
        const k = keys[n % keys.length]!;
        const text = JSON.stringify(o);
        const twice = `${text.slice(0, -1)},${JSON.stringify(k)}:0}`;
        expect(duplicateKeyOf(JSON.stringify({ outer: [JSON.parse(text)] }).replace(text, () => twice))?.path).toBe(`body.outer.0.${k}`);
      }),
    );
  });
});
