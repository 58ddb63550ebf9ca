import { createRequire } from 'node:module';

/**
 * An Ajv 8 instance (draft-07, with ajv-formats) for holding a stand-in to a published description that is not
 * Stageline's own: Argo CD's Swagger 2.0 definitions, Flux's CRD (OpenAPI v3 structural schema). Keywords a
 * description adds for its own tooling (x-kubernetes-*, Swagger's `title`) are ignored (strict: false).
 */
type Json = Record<string, any>;
const require = createRequire(import.meta.url);
const fromFormats = createRequire(require.resolve('ajv-formats'));
const Ajv = (fromFormats('ajv') as { default: new (o: Json) => any }).default;
const addFormats = (require('ajv-formats') as { default: (ajv: unknown) => void }).default;

export function contractAjv(options: Json = {}): any {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true, ...options });
  addFormats(ajv);
  return ajv;
}

/** The first errors of a failed validation, as one line. */
export const errorsOf = (v: { errors?: { instancePath: string; message?: string; params?: unknown }[] | null }) =>
  (v.errors ?? [])
    .slice(0, 4)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('; ');
