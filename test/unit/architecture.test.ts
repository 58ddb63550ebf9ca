import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseCircular, parseDependencyTree } from 'dpdm';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../functions/http/router.ts';
import { ALL_HANDLERS, FALLBACK_HANDLER, HANDLERS, ROUTES } from '../../functions/http/routes.ts';
import { FUNCTION_GROUPS, FUNCTIONS, groupOf, handlersOf } from '../../functions/http/topology.ts';
import { serveGroup } from '../../functions/http/group.ts';
import { groupEntrySource } from '../../infra/bundle.ts';
import { CONSOLE_CALLBACK } from '../../infra/identity.ts';
import { tsFilesIn } from '../support/source-files.ts';

const root = join(import.meta.dirname, '..', '..');

/** Whether a call in argument position (not the call's own target chain, not inside a function) sits in `n`. */
function argumentCall(n: ts.Node, isTarget: boolean): boolean {
  if (ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isMethodDeclaration(n) || ts.isGetAccessor(n)) return false;
  if (ts.isCallExpression(n) || ts.isNewExpression(n)) {
    if (!isTarget) return true;
    const callee = ts.isPropertyAccessExpression(n.expression) ? n.expression.expression : n.expression;
    return argumentCall(callee, true) || (n.arguments ?? []).some((a) => argumentCall(a, false));
  }
  if (ts.isAsExpression(n) || ts.isParenthesizedExpression(n) || ts.isSatisfiesExpression(n)) return argumentCall(n.expression, isTarget);
  let found = false;
  n.forEachChild((c) => {
    if (!found && argumentCall(c, false)) found = true;
  });
  return found;
}

describe('architecture', () => {
  it('keeps the domain pure: no AWS SDK, no adapters, no handlers', () => {
    // Every file under domain/, at any depth (domain/promotion/ included).
    const files = tsFilesIn('domain');
    expect(files.some((f) => f.startsWith('promotion'))).toBe(true);
    const offenders = files.flatMap((f) => {
      const text = readFileSync(join(root, 'domain', f), 'utf8');
      return [...text.matchAll(/from\s+['"]([^'"]+)['"]/g)]
        .map((m) => m[1]!)
        .filter(
          (spec) =>
            spec.startsWith('@aws-sdk') ||
            spec.startsWith('@smithy') ||
            // the app's folders by path (a package's own subpath, semver/functions/…, is a package)
            (spec.startsWith('.') && spec.includes('functions/')) ||
            spec.startsWith('#functions') ||
            spec.startsWith('@middy') ||
            (spec.startsWith('.') && spec.includes('local/')) ||
            spec.startsWith('#local'),
        )
        .map((spec) => `${f} imports ${spec}`);
    });
    expect(offenders).toEqual([]);
  });

  it("orders the domain by context: kernel ← audit ← access ← freeze ← config ← artifacts, verification, change ← gitops, attestation ← promotion ← notify, webhooks ← manifest, on every import, types included; no context imports the composition (domain/ports.ts), and a context's ports augment only the kernel's deps", () => {
    const ORDER: Record<string, number> = {
      kernel: 0,
      audit: 1,
      access: 2,
      freeze: 3,
      config: 4,
      artifacts: 5,
      verification: 5,
      change: 5,
      gitops: 6,
      promotion: 7,
      notify: 8,
      webhooks: 8,
      attestation: 6,
      manifest: 9,
    };
    const files = tsFilesIn('domain');
    // Every file lives in a context folder; only the composition (ports.ts) sits at the root.
    expect(files.filter((f) => !f.includes('/') && f !== 'ports.ts')).toEqual([]);
    expect([...new Set(files.filter((f) => f.includes('/')).map((f) => f.split('/')[0]!))].filter((d) => !(d in ORDER))).toEqual([]);
    const wrong: string[] = [];
    for (const f of files) {
      const sf = ts.createSourceFile(f, readFileSync(join(root, 'domain', f), 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
      const from = f.split('/')[0]!;
      const visit = (n: ts.Node): void => {
        if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
          const spec = n.moduleSpecifier.text;
          const typeOnly = ts.isImportDeclaration(n) ? !!n.importClause?.isTypeOnly : n.isTypeOnly;
          const target = spec.startsWith('.')
            ? relative(join(root, 'domain'), resolve(root, 'domain', dirname(f), spec))
            : spec.startsWith('#domain/')
              ? `${spec.slice(8)}.ts`
              : null;
          if (target !== null) {
            const to = target.includes('/') ? target.split('/')[0]! : target;
            if (to === 'ports.ts') {
              if (f !== 'ports.ts') wrong.push(`domain/${f} imports the composition domain/ports.ts (With, Deps, Ctx are domain/kernel/deps.ts's)`);
            } else if (from === 'ports.ts') {
              if (!typeOnly) wrong.push(`domain/ports.ts imports ${spec} at run time`);
            } else if (from !== to && !(ORDER[to]! < ORDER[from]! || (ORDER[to] === ORDER[from] && to === from))) {
              wrong.push(`domain/${f} (${from}) imports ${to}: ${spec}`);
            }
          }
        }
        // A context adds its ports to what a use case is given by augmenting the kernel's deps, and augments nothing else.
        if (ts.isModuleDeclaration(n) && ts.isStringLiteral(n.name)) {
          const augmented = relative(join(root, 'domain'), resolve(root, 'domain', dirname(f), n.name.text));
          if (augmented !== 'kernel/deps.ts') wrong.push(`domain/${f} augments ${n.name.text}`);
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(wrong).toEqual([]);
  });

  it('layers the promotion context: views, status ← sweep ← step ← rollback ← request ← decide ← rollout ← run ← deliver ← terms ← write ← aggregate, ports, on every import between its rooms, types included (docs/architecture/how-it-is-built.md)', () => {
    const ROOMS: Record<string, number> = {
      views: 12,
      status: 12,
      sweep: 11,
      step: 10,
      rollback: 9,
      request: 8,
      decide: 7,
      rollout: 6,
      run: 5,
      deliver: 4,
      terms: 3,
      write: 2,
      aggregate: 1,
      ports: 1,
    };
    const base = join(root, 'domain', 'promotion');
    const roomOf = (path: string) => {
      const r = relative(base, path);
      return r.includes('/') ? r.split('/')[0]! : r.replace(/\.ts$/, '');
    };
    const files = tsFilesIn('domain').filter((f) => f.startsWith('promotion/'));
    expect(files.map((f) => roomOf(join(root, 'domain', f))).filter((r) => !(r in ROOMS))).toEqual([]);
    const wrong: string[] = [];
    let between = 0;
    for (const f of files) {
      const path = join(root, 'domain', f);
      const sf = ts.createSourceFile(f, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
      const from = roomOf(path);
      const visit = (n: ts.Node): void => {
        if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
          const spec = n.moduleSpecifier.text;
          const target = spec.startsWith('.') ? resolve(dirname(path), spec) : spec.startsWith('#domain/') ? join(root, 'domain', `${spec.slice(8)}.ts`) : null;
          if (target?.startsWith(base + '/')) {
            const to = roomOf(target);
            if (to !== from) {
              between++;
              if (!(ROOMS[to]! < ROOMS[from]!)) wrong.push(`domain/${f} (${from}) imports ${to}: ${spec}`);
            }
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(between).toBeGreaterThan(100);
    expect(wrong).toEqual([]);
  });

  it('keeps the HTTP contract beside HTTP: nothing under domain/ imports from functions/, and no domain file exports a RESPONSES or FORMS table', () => {
    const files = tsFilesIn('domain');
    const imports: string[] = [];
    const tables: string[] = [];
    for (const f of files) {
      const sf = ts.createSourceFile(f, readFileSync(join(root, 'domain', f), 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
      const specs: string[] = [];
      const visit = (n: ts.Node): void => {
        // import … from, export … from, import('…'), import x = require('…'), type-only ones too.
        if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
          specs.push(n.moduleSpecifier.text);
        if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0]))
          specs.push(n.arguments[0].text);
        if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) specs.push(n.argument.literal.text);
        if (ts.isExternalModuleReference(n) && ts.isStringLiteral(n.expression)) specs.push(n.expression.text);
        ts.forEachChild(n, visit);
      };
      visit(sf);
      for (const spec of specs) {
        const target = spec.startsWith('.') ? relative(root, resolve(root, 'domain', dirname(f), spec)) : spec;
        if (target.startsWith('functions/') || target.startsWith('#functions')) imports.push(`domain/${f} imports ${spec}`);
      }
      for (const st of sf.statements) {
        if (!ts.isVariableStatement(st) || !st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
        for (const d of st.declarationList.declarations)
          if (ts.isIdentifier(d.name) && /(^|_)(RESPONSES|FORMS)$/.test(d.name.text)) tables.push(`domain/${f} exports ${d.name.text}`);
      }
      if (/(^|\/|-)responses\.ts$/.test(f)) tables.push(`domain/${f}: response schemas belong in functions/http/responses/`);
    }
    expect(files.length).toBeGreaterThan(20);
    expect(imports).toEqual([]);
    expect(tables).toEqual([]);
  });

  it('keeps module-level side effects in Lambda entries only (package.json "sideEffects" lets the bundler drop unused modules; the one exception is zod\'s message locale)', () => {
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).sideEffects).toEqual(['./domain/kernel/zod.ts']);
    const offenders: string[] = [];
    for (const dir of ['domain', 'functions']) {
      const files = tsFilesIn(dir).filter((f) => !/^(handlers|groups)\//.test(f));
      for (const f of files) {
        // A statement at column 0 that calls something (`register(…)`, `x.y(…)`) runs at import for its effect.
        const lines = readFileSync(join(root, dir, f), 'utf8').split('\n');
        lines.forEach((line, i) => {
          // The one exception: zod's global configuration (English messages), set where `z` is defined.
          if (dir === 'domain' && f === join('kernel', 'zod.ts') && /^mini\.config\(/.test(line)) return;
          if (/^(await\s+)?[A-Za-z_$][\w$.]*\s*\(/.test(line) && !/^(function|async|if|for|while|switch|return)\b/.test(line))
            offenders.push(`${dir}/${f}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });

  it('builds no schema a function does not use: module-level zod schemas are marked pure, so the bundler drops the unused ones (and their build at cold start)', () => {
    const missing: string[] = [];
    const files = ['domain', 'functions/http', 'functions/adapters']
      .flatMap((d) => tsFilesIn(d).map((f) => join(d, f)))
      .filter((f) => /from '(zod|#domain\/kernel\/zod|(\.\.?\/)+(domain\/)?(kernel\/)?zod\.ts)'/.test(readFileSync(join(root, f), 'utf8')));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8');
      const sf = ts.createSourceFile(f, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
      // A schema: a call chain rooted at `z` or at another module-level schema.
      const schemas = new Set(['z']);
      const rootOf = (e: ts.Expression): string | null => {
        while (ts.isCallExpression(e) || ts.isPropertyAccessExpression(e) || ts.isParenthesizedExpression(e)) e = e.expression;
        return ts.isIdentifier(e) ? e.text : null;
      };
      const decls = sf.statements
        .filter(ts.isVariableStatement)
        .flatMap((st) => [...st.declarationList.declarations])
        .filter((d) => d.initializer && ts.isIdentifier(d.name) && ts.isCallExpression(d.initializer));
      for (let pass = 0; pass < 3; pass++) for (const d of decls) if (schemas.has(rootOf(d.initializer!) ?? '')) schemas.add((d.name as ts.Identifier).text);
      for (const d of decls) {
        if (!schemas.has(rootOf(d.initializer!) ?? '')) continue;
        const start = d.initializer!.getStart(sf);
        if (!text.slice(Math.max(0, start - 20), start).includes('/* @__PURE__ */')) missing.push(`${f}: ${(d.name as ts.Identifier).text}`);
        // The bundler drops a pure call only if its arguments hold no call (it cannot tell zod/mini's
        // functions are pure): a schema that nests calls is built in `z.schema(() => …)`.
        const init = d.initializer as ts.CallExpression;
        const wrapped = ts.isPropertyAccessExpression(init.expression) && init.expression.name.text === 'schema' && rootOf(init.expression) === 'z';
        if (!wrapped && argumentCall(init, true)) missing.push(`${f}: ${(d.name as ts.Identifier).text} nests calls outside z.schema(() => …)`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('takes zod from one module: domain/kernel/zod.ts (zod/mini, English messages); domain/ and functions/ import no zod package themselves', () => {
    const direct = ['domain', 'functions']
      .flatMap((d) => tsFilesIn(d).map((f) => join(d, f)))
      .filter((f) => f !== join('domain', 'kernel', 'zod.ts') && /from 'zod(\/[^']*)?'/.test(readFileSync(join(root, f), 'utf8')));
    expect(direct).toEqual([]);
    expect(readFileSync(join(root, 'domain', 'kernel', 'zod.ts'), 'utf8')).toMatch(/from 'zod\/mini'/);
  });

  it('has exactly one handler file per handler in the route table (and the deploy-time writer of the app client), and each function group declared once (its entry generated)', () => {
    const files = readdirSync(join(root, 'functions', 'handlers'))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(files).toEqual([...ALL_HANDLERS, CONSOLE_CALLBACK].sort());
    expect(HANDLERS).toContain(FALLBACK_HANDLER);
    // FUNCTION_GROUPS is the one list: no hand-written group entry repeats it.
    expect(existsSync(join(root, 'functions', 'groups'))).toBe(false);
    for (const [group, members] of Object.entries(FUNCTION_GROUPS)) {
      const imported = [...groupEntrySource(group as keyof typeof FUNCTION_GROUPS).matchAll(/handlers\/([a-z-]+)\.ts/g)].map((m) => m[1]);
      expect(imported, group).toEqual([...members]);
    }
    // Every handler runs in exactly one function.
    expect(FUNCTIONS.flatMap((f) => handlersOf(f)).sort()).toEqual([...ALL_HANDLERS].sort());
  });

  it("dispatches a group function's requests to the handler of the route, and loads every group entry with its members", async () => {
    for (const group of Object.keys(FUNCTION_GROUPS)) {
      const handler = await groupOf(group as keyof typeof FUNCTION_GROUPS, (h) => import(`../../functions/handlers/${h}.ts`));
      expect(typeof handler, group).toBe('function');
    }
    const members: Record<string, (e: unknown) => Promise<unknown>> = Object.fromEntries(FUNCTION_GROUPS['rules-read'].map((h) => [h, async () => h]));
    const serve = serveGroup(members);
    expect(await serve({ routeKey: 'GET /api/v1/promotions/rules/{id}' } as never, {} as never)).toBe('rules-get');
    expect(await serve({ routeKey: 'GET /api/v1/promotions/rules' } as never, {} as never)).toBe('rules-list');
    expect(await serve({ routeKey: 'GET /api/v1/approval-policies' } as never, {} as never)).toBe('rules-list');
    expect(() => serveGroup({ ...members, 'no-such-handler': members['rules-list']! })).toThrow(/serves no route of no-such-handler/);
  });

  it('declares each method+path once, and a role on every authenticated route', () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    // A SCIM route's caller is the tenant's SCIM token, a credential of one purpose with no role (it calls /scim/v2 only).
    for (const r of ROUTES) expect(r.auth === 'none' || r.auth === 'scim' ? r.role : (r.role ?? 'missing')).not.toBe('missing');
  });

  it('matches paths like API Gateway: literal segments beat variables, 405 lists allowed methods', () => {
    expect(matchRoute('GET', '/api/v1/config/promotions/diff')).toMatchObject({ kind: 'route', route: { handler: 'diff-environments' } });
    expect(matchRoute('GET', '/api/v1/environments/dev/configs/abc')).toMatchObject({ kind: 'route', params: { env: 'dev', id: 'abc' } });
    expect(matchRoute('PUT', '/api/v1/environments')).toEqual({ kind: 'method-not-allowed', allowed: ['GET', 'POST'] });
    expect(matchRoute('GET', '/api/v2/nothing')).toEqual({ kind: 'not-found' });
  });
  it('keeps every file of infra/ within 250 lines: the stack is composed of parts by concern (infra/part.ts), not one constructor', () => {
    const files = tsFilesIn('infra');
    expect(files).toContain('stack.ts');
    const lines = (f: string) =>
      readFileSync(join(root, 'infra', f), 'utf8')
        .trimEnd()
        .split('\n').length;
    expect(files.filter((f) => lines(f) > 250).map((f) => `infra/${f}: ${lines(f)} lines`)).toEqual([]);
  });

  it('keeps every file of local/ within 500 lines: the local workflow is its runner (workflow.ts), its ASL reading (workflow-asl.ts) and its journal (workflow-journal.ts)', () => {
    const lines = (f: string) =>
      readFileSync(join(root, 'local', f), 'utf8')
        .trimEnd()
        .split('\n').length;
    expect(tsFilesIn('local')).toContain('workflow.ts');
    expect(
      tsFilesIn('local')
        .filter((f) => lines(f) > 500)
        .map((f) => `local/${f}: ${lines(f)} lines`),
    ).toEqual([]);
  });

  it('keeps every file of cli/ within 250 lines (one module per command group) and names production code after the product, not the requirement documents', () => {
    const tsIn = (dir: string) => tsFilesIn(dir).map((f) => `${dir}/${f}`);
    const lines = (f: string) => readFileSync(join(root, f), 'utf8').trimEnd().split('\n').length;
    expect(
      tsIn('cli')
        .filter((f) => lines(f) > 250)
        .map((f) => `${f}: ${lines(f)} lines`),
    ).toEqual([]);
    // Seed numbers belong in the tests that replay the seeds and in README's mapping table.
    const production = ['domain', 'functions', 'infra', 'cli', 'local', 'scripts', 'bench', 'chaos'].flatMap(tsIn);
    const named = production.filter((f) => /seed[ _-]?0\d\d/i.test(readFileSync(join(root, f), 'utf8')));
    expect(named).toEqual([]);
  });

  it('has no runtime import cycle anywhere (type-only imports do not count), and the domain ports are types only', async () => {
    const tree = await parseDependencyTree(
      ['domain/**/*.ts', 'functions/**/*.ts', 'local/**/*.ts', 'cli/**/*.ts', 'infra/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'chaos/**/*.ts'],
      {
        cwd: root,
        context: root,
        transform: true, // drops `import type` and type-only specifiers, as the bundler does
        skipDynamicImports: true,
        tsconfig: join(root, 'tsconfig.json'),
      },
    );
    expect(Object.keys(tree).filter((f) => f.startsWith('domain/')).length).toBeGreaterThan(20);
    expect(parseCircular(tree, true).map((cycle) => cycle.join(' -> '))).toEqual([]);
    const ports = ts.createSourceFile('ports.ts', readFileSync(join(root, 'domain', 'ports.ts'), 'utf8'), ts.ScriptTarget.Latest);
    const runtime = ports.statements.filter(
      (s) =>
        !ts.isInterfaceDeclaration(s) &&
        !ts.isTypeAliasDeclaration(s) &&
        !(ts.isImportDeclaration(s) && s.importClause?.isTypeOnly) &&
        !(ts.isExportDeclaration(s) && s.isTypeOnly),
    );
    expect(runtime.map((s) => s.getText(ports).slice(0, 60))).toEqual([]);
  });

  it('has no import circle at all, type-only imports included: ports and models sit beside their context, below the use cases that take them', async () => {
    const tree = await parseDependencyTree(
      ['domain/**/*.ts', 'functions/**/*.ts', 'local/**/*.ts', 'cli/**/*.ts', 'infra/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'chaos/**/*.ts'],
      { cwd: root, context: root, transform: false, skipDynamicImports: true, tsconfig: join(root, 'tsconfig.json') },
    );
    // The type edges are read: the composition imports every context's ports, a use case imports the kernel's deps, and no context imports the composition.
    expect(tree['domain/ports.ts']?.some((d) => d.id === 'domain/promotion/ports.ts')).toBe(true);
    expect(tree['domain/promotion/decide/approve.ts']?.some((d) => d.id === 'domain/kernel/deps.ts')).toBe(true);
    expect(Object.keys(tree).filter((f) => f.startsWith('domain/') && f !== 'domain/ports.ts' && tree[f]?.some((d) => d.id === 'domain/ports.ts'))).toEqual([]);
    expect(parseCircular(tree, true).map((cycle) => cycle.join(' -> '))).toEqual([]);
    // Every type edge is an import the tools read: no inline `import('…').Name` type in the domain (it would hide an edge from this check and the order above).
    const inline = tsFilesIn('domain').filter((f) => {
      let found = false;
      const visit = (n: ts.Node): void => {
        if (ts.isImportTypeNode(n)) found = true;
        else ts.forEachChild(n, visit);
      };
      visit(ts.createSourceFile(f, readFileSync(join(root, 'domain', f), 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS));
      return found;
    });
    expect(inline).toEqual([]);
    // A context's ports and models take names from the kernel and lower contexts only, never from the composition.
    const leaves = tsFilesIn('domain').filter((f) => /^[a-z]+\/(ports|model)\.ts$/.test(f));
    expect(leaves.length).toBeGreaterThan(8);
    expect(leaves.filter((f) => (tree[`domain/${f}`] ?? []).some((d) => d.id === 'domain/ports.ts'))).toEqual([]);
  });
});
