import fc, { type Arbitrary } from 'fast-check';

/**
 * fast-check arbitraries from the JSON Schemas of the OpenAPI document: values shaped like what
 * a schema describes (most of them valid), and mutations of them (most of them not). Generation
 * is a guess; whether a value is valid is decided by the document itself (ajv, test/support/contract.ts).
 */
type Json = Record<string, any>;

const MAX_ITEMS = 3;
const MAX_DEPTH = 4;

export function arbitraryOf(schema: Json, doc: Json, depth = 0): Arbitrary<unknown> {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace('#/components/schemas/', '');
    return arbitraryOf(doc.components.schemas[target] ?? {}, doc, depth + 1);
  }
  if (depth > MAX_DEPTH) return fc.constantFrom(null, 'x', 1, true);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = (schema.oneOf ?? schema.anyOf) as Json[] | undefined;
  // A schema with properties and a oneOf/anyOf of required lists (a cross-field rule): generate the object, the rule picks from it.
  if (alternatives && !schema.properties) return fc.oneof(...alternatives.map((s) => arbitraryOf(s, doc, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringOf(schema);
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -1000, -Number.MAX_SAFE_INTEGER),
        max: Math.min(schema.maximum ?? 100_000, Number.MAX_SAFE_INTEGER),
      });
    case 'number':
      return fc.oneof(
        fc.integer({ min: Math.ceil(schema.minimum ?? -1000), max: Math.floor(schema.maximum ?? 100_000) }),
        fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true }),
      );
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = schema.items ? arbitraryOf(schema.items as Json, doc, depth + 1) : fc.jsonValue({ maxDepth: 1 });
      const min = schema.minItems ?? 0;
      return fc.array(items, { minLength: min, maxLength: Math.max(min, Math.min(schema.maxItems ?? MAX_ITEMS, MAX_ITEMS)) });
    }
    case 'object':
    case undefined: {
      if (!schema.properties && type === undefined) return fc.jsonValue({ maxDepth: 2 });
      const props = (schema.properties ?? {}) as Record<string, Json>;
      const required = new Set<string>((schema.required as string[] | undefined) ?? []);
      const record = fc.record(Object.fromEntries(Object.entries(props).map(([k, s]) => [k, arbitraryOf(s, doc, depth + 1)])), {
        requiredKeys: [...required].filter((k) => k in props),
      });
      const extra = schema.additionalProperties;
      if (extra && typeof extra === 'object' && !Object.keys(props).length) {
        return fc.dictionary(fc.string({ minLength: 0, maxLength: 8 }), arbitraryOf(extra as Json, doc, depth + 1), { maxKeys: MAX_ITEMS });
      }
      return record;
    }
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

function stringOf(schema: Json): Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, Math.max(min, 40));
  const sized = (a: Arbitrary<string>) => a.filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
  switch (schema.format) {
    case 'date-time':
      return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'uuid':
      return fc.uuid();
    case 'email':
      return sized(fc.emailAddress());
    case 'uri':
      return sized(fc.webUrl());
  }
  if (typeof schema.pattern === 'string') {
    try {
      return sized(fc.stringMatching(new RegExp(schema.pattern)).map((s) => s.slice(0, schema.maxLength ?? 200)));
    } catch {
      /* a pattern fast-check cannot generate from: plain strings */
    }
  }
  return fc.string({ minLength: min, maxLength: max });
}

/**
 * The names JavaScript reserves on every object, where a key or a path is expected: alone, as a
 * dotted path's segment, and as the keys of a JSON value (own members, as a parsed body has them).
 */
const RESERVED_KEYS = ['__proto__', 'prototype', 'constructor'] as const;
const reserved: Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...RESERVED_KEYS),
  fc.constantFrom(...RESERVED_KEYS).map((k) => `a.${k}.b`),
  fc.constantFrom(...RESERVED_KEYS).map((k) => JSON.parse(`{"${k}": {"stagelinePolluted": true}}`) as unknown),
  fc.constant(JSON.parse('{"constructor": {"prototype": {"stagelinePolluted": true}}}') as unknown),
);

/** Ways to break a value the schema describes: a wrong type, an unknown field, a missing required one, out-of-range numbers, overlong strings, reserved keys. */
export function mutationOf(value: unknown, schema: Json, doc: Json): Arbitrary<unknown> {
  const resolved = typeof schema.$ref === 'string' ? (doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] as Json) : schema;
  const wrong = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<unknown>(null, 'x', -1, 1e300 / 1e290, true, [], {}, 'a'.repeat(5000), -Number.MAX_SAFE_INTEGER, 0.5) },
    { weight: 1, arbitrary: reserved },
  );
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const required = (resolved?.required as string[] | undefined) ?? [];
    const options: Arbitrary<unknown>[] = [
      fc.string({ minLength: 1, maxLength: 10 }).map((k) => ({ ...value, [`x${k}`]: 1 })),
      wrong,
      // A key JavaScript reserves beside the others (an own member, as JSON.parse makes it).
      fc
        .tuple(fc.constantFrom(...RESERVED_KEYS), wrong)
        .map(([k, w]) => Object.defineProperty({ ...value }, k, { value: w, enumerable: true, writable: true, configurable: true })),
    ];
    if (required.length) options.push(fc.constantFrom(...required).map((k) => Object.fromEntries(Object.entries(value).filter(([key]) => key !== k))));
    if (keys.length) {
      options.push(fc.tuple(fc.constantFrom(...keys), wrong).map(([k, w]) => ({ ...value, [k]: w })));
      const props = (resolved?.properties ?? {}) as Record<string, Json>;
      const nested = keys.filter((k) => props[k] && value[k as keyof typeof value] && typeof value[k as keyof typeof value] === 'object');
      if (nested.length)
        options.push(fc.constantFrom(...nested).chain((k) => mutationOf((value as Json)[k], props[k]!, doc).map((m) => ({ ...value, [k]: m }))));
    }
    return fc.oneof(...options);
  }
  return wrong;
}
