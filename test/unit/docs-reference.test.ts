import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorsPage, referencePages } from '../../scripts/docs-reference.ts';

const root = join(import.meta.dirname, '..', '..');

describe('docs/reference: generated pages are current', () => {
  for (const [file, text] of Object.entries(referencePages())) {
    it(`${file} matches what npm run docs writes`, () => {
      expect(readFileSync(join(root, file), 'utf8'), `${file} is out of date: run npm run docs`).toBe(text);
    });
  }

  it('lists every error class with the status the error map gives it (500 when the map has none)', () => {
    const page = errorsPage(
      "/** It went wrong. */\nexport class Boom extends DomainError {\n  readonly code = 'BOOM';\n}\nexport class Quiet extends DomainError {\n  readonly code = 'QUIET';\n}",
      'const STATUS = [[E.Boom, 418]];',
    );
    expect(page).toContain('| `BOOM` | 418 | It went wrong. |');
    expect(page).toContain('| `QUIET` | 500 |  |');
  });
});
