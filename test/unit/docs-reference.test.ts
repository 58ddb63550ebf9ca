import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorsPage, referencePages, routesPage } from '../../scripts/docs-reference.ts';

const root = join(import.meta.dirname, '..', '..');

describe('docs/reference: generated pages are current', () => {
  for (const [file, text] of Object.entries(referencePages())) {
    it(`${file} matches what npm run docs writes`, () => {
      expect(readFileSync(join(root, file), 'utf8'), `${file} is out of date: run npm run docs`).toBe(text);
    });
  }

  it('says which fields a request must carry: an environment is created with name and position (the rest has defaults)', () => {
    const doc = JSON.parse(readFileSync(join(root, 'functions', 'http', 'openapi.json'), 'utf8'));
    const page = routesPage(doc);
    const line = page.split('\n').find((l) => l.startsWith('| `POST` | `/api/v1/environments` |') && l.includes('required'));
    expect(line, 'a line for POST /api/v1/environments naming its required fields').toBeDefined();
    const [required, optional] = line!.split('optional');
    expect(required).toContain('`name`');
    expect(required).toContain('`position`');
    expect(required).not.toContain('`displayName`');
    expect(optional).toContain('`displayName`');
    // A required query parameter too: resolving a version needs its constraint.
    const resolve = page.split('\n').find((l) => l.startsWith('| `GET` | `/api/v1/artifacts/{name}/resolve` |') && l.includes('required'));
    expect(resolve?.split('optional')[0]).toContain('`constraint`');
  });

  it('the API page describes every field of a promotion’s rollout (the rollout row), and every phase and target state', () => {
    const doc = JSON.parse(readFileSync(join(root, 'functions', 'http', 'openapi.json'), 'utf8'));
    const page = readFileSync(join(root, 'docs', 'reference', 'api.md'), 'utf8');
    const section = page.slice(page.indexOf('## A rollout on a promotion'), page.indexOf('Events (EventBridge source'));
    const resolve = (s: any): any => (s?.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s);
    const detail = resolve(doc.paths['/api/v1/promotions/{id}'].get.responses['200'].content['application/json'].schema);
    const rollout = resolve(detail.properties.rollout);
    const objectOf = (s: any): any => (s?.anyOf ? s.anyOf.find((x: any) => x.type === 'object') : s);
    const target = rollout.properties.waves.items.properties.targets.items;
    for (const field of Object.keys(rollout.properties)) expect(section, `rollout.${field}`).toContain(`\`rollout.${field}`);
    for (const field of Object.keys(target.properties)) expect(section, `targets[].${field}`).toContain(`.${field}\``);
    for (const field of ['halted', 'waiting'])
      for (const key of Object.keys(objectOf(rollout.properties[field]).properties)) expect(section, `${field}.${key}`).toContain(key);
    for (const field of ['confirmation', 'bake', 'alarm', 'git', 'registry'])
      for (const key of Object.keys(objectOf(target.properties[field]).properties)) expect(section, `${field}.${key}`).toContain(key);
    for (const value of [...rollout.properties.phase.enum, ...target.properties.state.enum]) expect(section, value).toContain(`\`${value}\``);
  });

  it('lists every error class with the status the error map gives it (500 when the map has none)', () => {
    const page = errorsPage(
      "/** It went wrong. */\nexport class Boom extends DomainError {\n  readonly code = 'BOOM';\n}\nexport class Quiet extends DomainError {\n  readonly code = 'QUIET';\n}",
      'const STATUS = {\n  BOOM: 418,\n  QUIET: null,\n};',
    );
    expect(page).toContain('| `BOOM` | 418 | It went wrong. |');
    expect(page).toContain('| `QUIET` | 500 |  |');
  });
});
