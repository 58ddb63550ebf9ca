import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Plugin, PluginBuild } from 'esbuild';

/**
 * An esbuild plugin that takes the AWS SDK's imports past its barrels: in the SDK's own ES modules,
 * `import { AwsJson1_0Protocol } from "@aws-sdk/core/protocols"` becomes an import of the one module
 * that defines `AwsJson1_0Protocol`. Why: with code splitting, esbuild puts a module in a chunk that
 * module init reads whenever the entry's import graph reaches it, even through an import nothing uses;
 * through the barrels (`@aws-sdk/core/protocols` re-exports every protocol) the entry reached the AWS
 * Query, XML and REST protocols that only the clients loaded on first use speak (STS, Scheduler …), so
 * those were read at init in every function. Past the barrels the entry reaches what DynamoDB uses.
 *
 * Only a barrel made of re-exports alone is bypassed, and only an import whose every name it maps to a
 * module; anything else (a namespace import, a name it cannot place) is left as written. A barrel that
 * re-exports a module its package declares to have side effects is left as written too.
 */

const SDK_MODULE = /[\\/]node_modules[\\/](?:@aws-sdk|@smithy)[\\/].*[\\/]dist-es[\\/].*\.js$/;
const NAMED_IMPORT = /^import \{([^}]*)\} from "(@(?:aws-sdk|smithy)\/[^"]+)";?$/gm;
const RE_EXPORT = /^export \{([^}]*)\} from "([^"]+)";?$|^export \* from "([^"]+)";?$/gm;
const COMMENT = /\/\*[\s\S]*?\*\/|\/\/.*$/gm;

/** Where a name a barrel exports is defined: the module and the name it has there. */
interface Source {
  file: string;
  name: string;
}

/** `a, b as c` → [['a', 'a'], ['b', 'c']] (name in the source, name given). */
const specifiers = (list: string): [string, string][] =>
  list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [name, as] = s.split(/\s+as\s+/);
      return [name!, as ?? name!];
    });

/** The names a module (not a barrel) exports itself, or null when it also re-exports or has a default. */
function ownExports(text: string): string[] | null {
  if (/^export (\*|default)/m.test(text) || /^export \{[^}]*\} from/m.test(text)) return null;
  const names = [...text.matchAll(/^export (?:const|let|var|function\*?|async function|class|abstract class) ([\w$]+)/gm)].map((m) => m[1]!);
  for (const m of text.matchAll(/^export \{([^}]*)\};?$/gm)) names.push(...specifiers(m[1]!).map(([, as]) => as));
  return names;
}

/** Whether a package.json's `sideEffects` marks a module (absolute path) as having side effects. */
function hasSideEffects(file: string): boolean {
  let dir = path.dirname(file);
  while (!readable(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return true;
    dir = up;
  }
  const { sideEffects } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { sideEffects?: boolean | string[] };
  if (sideEffects === false) return false;
  if (!Array.isArray(sideEffects)) return true;
  return sideEffects.some((p) => path.join(dir, p) === file);
}

function readable(file: string): boolean {
  try {
    readFileSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Barrels read and imports resolved, shared by the builds of one process (every bundle resolves the SDK alike). */
const barrels = new Map<string, Promise<Map<string, Source> | null>>();
const resolved = new Map<string, Promise<string | null>>();

export function sdkDeepImports(): Plugin {
  return {
    name: 'sdk-deep-imports',
    setup(build: PluginBuild) {
      const resolve = (spec: string, from: string): Promise<string | null> => {
        const key = `${spec}\0${path.dirname(from)}`;
        let known = resolved.get(key);
        if (!known) {
          known = build
            .resolve(spec, { resolveDir: path.dirname(from), kind: 'import-statement' })
            .then((r) => (r.errors.length || r.external || !path.isAbsolute(r.path) ? null : r.path));
          resolved.set(key, known);
        }
        return known;
      };
      const barrel = (file: string): Promise<Map<string, Source> | null> => {
        let known = barrels.get(file);
        if (!known) barrels.set(file, (known = readBarrel(file)));
        return known;
      };
      /** What a barrel exports, name by name, or null when the file is not a barrel this plugin can read through. */
      async function readBarrel(file: string): Promise<Map<string, Source> | null> {
        const text = readFileSync(file, 'utf8');
        if (text.replace(COMMENT, '').replace(RE_EXPORT, '').trim()) return null;
        const map = new Map<string, Source>();
        for (const m of text.matchAll(RE_EXPORT)) {
          const target = await resolve(m[2] ?? m[3]!, file);
          if (!target) return null;
          const inner = await barrel(target);
          if (!inner && hasSideEffects(target)) return null;
          if (m[1] !== undefined) {
            for (const [name, as] of specifiers(m[1])) {
              const source = inner ? inner.get(name) : { file: target, name };
              if (!source) return null;
              map.set(as, source);
            }
          } else if (inner) {
            for (const [name, source] of inner) map.set(name, source);
          } else {
            const names = ownExports(readFileSync(target, 'utf8'));
            if (!names) return null;
            for (const name of names) map.set(name, { file: target, name });
          }
        }
        return map;
      }
      build.onLoad({ filter: SDK_MODULE }, async (args) => {
        const text = readFileSync(args.path, 'utf8');
        let contents = text;
        for (const m of text.matchAll(NAMED_IMPORT)) {
          const file = await resolve(m[2]!, args.path);
          const map = file ? await barrel(file) : null;
          if (!map) continue;
          const direct = specifiers(m[1]!).map(([name, as]) => {
            const source = map.get(name);
            return source && `import { ${source.name} as ${as} } from ${JSON.stringify(source.file)};`;
          });
          if (direct.every(Boolean)) contents = contents.replace(m[0], direct.join('\n'));
        }
        return contents === text ? undefined : { contents, loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}
