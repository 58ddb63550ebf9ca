import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/function.ts';
import { STACK_FACT_PAGES, stackFacts, withStackFacts, type StackFacts } from '../../scripts/docs-reference.ts';
import { SYNTH_TIMEOUT, synthesized } from '../support/cdk-template.ts';

/** The figures the operations pages state about the stack, against the synthesized template (test/support/cdk-template.ts). */
let facts: StackFacts;

beforeAll(() => {
  facts = stackFacts(synthesized().template.toJSON());
}, SYNTH_TIMEOUT);

describe('docs/operations: the stack figures are the template’s', () => {
  for (const file of STACK_FACT_PAGES) {
    it(`${file} states the template's figures (npm run docs writes them)`, () => {
      const page = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      console.log(`${file}: ${facts.resources} resources; the sealing key's readers: ${facts.sealingKeyReaders.join(', ')}`);
      expect(page, `${file} states no stack figure`).toMatch(/<!-- stack:[\w-]+ -->/);
      expect(page, `${file} disagrees with the template: run npm run docs`).toBe(withStackFacts(page, facts));
    });
  }

  it('deploy-aws.md states the resource count and names every function that may read the sealing key', () => {
    const page = readFileSync(path.join(REPO_ROOT, 'docs/operations/deploy-aws.md'), 'utf8');
    expect(page).toContain(`<!-- stack:resources -->${facts.resources}<!-- /stack -->`);
    // The readers are the functions that seal or open (test/infra/stack-iam.test.ts names them from their bundles).
    expect(facts.sealingKeyReaders).toEqual(expect.arrayContaining(['audit-ship', 'notifier', 'secret-writers']));
    for (const name of facts.sealingKeyReaders) expect(page, name).toMatch(new RegExp(`<!-- stack:sealing-key-reader-list -->[^<]*\`${name}\``));
  });

  it('a page whose figure disagrees with the template is caught, and an unknown figure is refused', () => {
    const stale = `holds <!-- stack:resources -->${facts.resources - 11}<!-- /stack --> resources`;
    expect(withStackFacts(stale, facts)).not.toBe(stale);
    expect(() => withStackFacts('<!-- stack:nonsense -->1<!-- /stack -->', facts)).toThrow(/no stack figure named nonsense/);
  });
});
