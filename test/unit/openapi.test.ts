import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/http/routes.ts';
import { buildOpenApi, OPENAPI_FILE } from '../../scripts/openapi.ts';

describe('the published API contract (OpenAPI 3.1)', () => {
  it('is generated from the route table and the handlers\' zod schemas, and the checked-in file is up to date (run npm run openapi)', async () => {
    const generated = await buildOpenApi();
    expect(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))).toEqual(JSON.parse(JSON.stringify(generated)));
    const paths = generated.paths as Record<string, Record<string, { security: unknown[]; requestBody?: unknown }>>;
    for (const r of ROUTES) {
      const op = paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op!.security).toEqual(r.auth === 'jwt' ? [{ cognito: [] }] : r.auth === 'iam' ? [{ sigv4: [] }] : []);
    }
    // Request bodies come from the schemas the handlers validate with.
    expect(JSON.stringify(paths['/api/v1/promotions']!.post!.requestBody)).toContain('sourceEnvironment');
  }, 60_000);

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
    expect(result.errors ?? [], JSON.stringify(result.errors)?.slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });
});
