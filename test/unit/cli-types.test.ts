import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { tsFilesIn } from '../support/source-files.ts';

const root = join(import.meta.dirname, '..', '..');
const cliFiles = tsFilesIn('cli').map((f) => `cli/${f}`);
const parse = (name: string, text: string) => ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);

/** Every `any` written as a type (`: any`, `as any`, `<any>`, `any[]`, `Promise<any>`, …): read from the syntax tree, so words in strings and comments do not count. */
function anyTypes(sf: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (n.kind === ts.SyntaxKind.AnyKeyword) {
      const { line } = sf.getLineAndCharacterOfPosition(n.getStart(sf));
      found.push(`${sf.fileName}:${line + 1}: ${n.parent.getText(sf).slice(0, 80)}`);
    }
    n.forEachChild(visit);
  };
  visit(sf);
  return found;
}

describe('the CLI is typed against the API', () => {
  it('writes no `any` in cli/: every answer has the type of its route (cli/answers.ts), and what is truly unknown is unknown', () => {
    // Not vacuous: the files are found, and the scan finds what it looks for.
    expect(cliFiles.length).toBeGreaterThan(5);
    expect(cliFiles).toContain('cli/http.ts');
    const sample = parse('sample.ts', "let a: any; const b = c as any; f<any>(); let d: any[]; async function g(): Promise<any> {} const s = 'default: any';");
    expect(anyTypes(sample)).toHaveLength(5);
    expect(cliFiles.flatMap((f) => anyTypes(parse(f, readFileSync(join(root, f), 'utf8'))))).toEqual([]);
  });

  it('imports the response schemas as types only, so running the CLI loads none of them', () => {
    const valueImports = cliFiles.flatMap((f) =>
      parse(f, readFileSync(join(root, f), 'utf8'))
        .statements.filter(ts.isImportDeclaration)
        .filter((d) => ts.isStringLiteral(d.moduleSpecifier) && d.moduleSpecifier.text.includes('functions/'))
        .filter((d) => !d.importClause?.isTypeOnly)
        .map((d) => `${f}: ${d.getText().slice(0, 100)}`),
    );
    expect(valueImports).toEqual([]);
    // And it does import them: the answers are typed from the schemas, not restated.
    expect(readFileSync(join(root, 'cli', 'answers.ts'), 'utf8')).toMatch(/import type \{[^}]*\} from '\.\.\/functions\/http\/responses\//);
  });
});
