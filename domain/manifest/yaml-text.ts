import { Document, isMap, isSeq, LineCounter, parseDocument, visit, type Node } from 'yaml';
import { YAML_MAX_ALIASES, yamlShapeIssue } from '../kernel/bounded.ts';
import { ValidationFailed, type Issue } from '../kernel/errors.ts';

/**
 * The manifest's YAML text: reading it (with the line of every node, for messages that name it)
 * and writing it. The yaml library is here only, and this module is loaded by `import()` from
 * document.ts on first use, so a function's module init never reads the library.
 */

/** Where a path of the document is (1-based line), for error messages that name the line and field. */
function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return counter.linePos(node.range[0]).line;
    if (n === 0 && doc.contents?.range) return counter.linePos(doc.contents.range[0]).line;
  }
  return undefined;
}

/** Keys one mapping of a manifest may have (the largest real section, registry links or webhooks, has a few dozen). */
export const MAX_KEYS_PER_MAPPING = 1000;

/**
 * Every mapping of the document: at most MAX_KEYS_PER_MAPPING keys, none twice. Linear in the
 * document's size (a Set per mapping); iterative, so nesting cannot overflow it.
 */
function mappingKeyProblem(root: unknown, counter: LineCounter): Issue | undefined {
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (isMap(node)) {
      const line = () => (node.range ? counter.linePos(node.range[0]).line : '?');
      if (node.items.length > MAX_KEYS_PER_MAPPING)
        return { path: `document:${line()}`, message: `line ${line()}: a mapping has ${node.items.length} keys; at most ${MAX_KEYS_PER_MAPPING} per mapping` };
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key && typeof pair.key === 'object' && 'value' in pair.key ? String((pair.key as { value: unknown }).value) : String(pair.key);
        if (seen.has(key)) {
          const at =
            pair.key && typeof pair.key === 'object' && 'range' in pair.key && (pair.key as Node).range
              ? counter.linePos((pair.key as Node).range![0]).line
              : line();
          return { path: `document:${at}`, message: `line ${at}: map keys must be unique ('${key.slice(0, 100)}' appears twice)` };
        }
        seen.add(key);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      stack.push(...node.items);
    }
  }
  return undefined;
}

/** A read manifest text: its values, and the line a path of it is on. */
export interface ManifestText {
  /** the document's values (aliases limited and cycles refused before: kernel/bounded.ts; the yaml library refuses alias bombs) */
  toJS(): unknown;
  lineOf(path: (string | number)[]): number | undefined;
}

/** Reads YAML (or JSON, which is YAML); a syntax error, a repeated or excess key, or an empty document is refused with its line. */
export function readManifestText(text: string): ManifestText {
  const counter = new LineCounter();
  // Duplicate keys are found below in one pass (the yaml library's own check compares every pair: 24,000 keys took 20-44 s).
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: false });
  if (doc.errors.length) {
    throw new ValidationFailed(
      doc.errors.map((e) => ({ path: `document:${e.linePos?.[0]?.line ?? '?'}`, message: `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}` })),
      'The manifest is not valid YAML/JSON',
    );
  }
  // Aliases limited, an alias inside the node it names (a cycle) refused, nesting bounded: before any walk.
  const shape = yamlShapeIssue(doc);
  if (shape) throw new ValidationFailed([{ path: 'document', message: shape }], 'The manifest is not valid YAML/JSON');
  const keyIssue = mappingKeyProblem(doc.contents, counter);
  if (keyIssue) throw new ValidationFailed([keyIssue], 'The manifest is not valid YAML/JSON');
  if (!isMap(doc.contents) && !isSeq(doc.contents))
    throw new ValidationFailed([{ path: 'document', message: 'must be a mapping with artifacts.promotion' }], 'The manifest is empty');
  return { toJS: () => doc.toJS({ maxAliasCount: YAML_MAX_ALIASES }), lineOf: (path) => lineOf(doc, counter, path) };
}

/**
 * Characters a strict YAML reader refuses raw (outside YAML's printable set: C0 controls but tab and
 * newline, DEL, C1 controls, the BOM, U+FFFE/U+FFFF) or reads as a line break (U+2028, U+2029).
 */
const UNPRINTABLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]/;

/**
 * The manifest as YAML every reader parses back to the same values (PyYAML included): a string that
 * holds an unprintable character is written double-quoted with the character escaped (\uXXXX); the
 * yaml library writes C1 controls and U+2028 raw, even inside quotes.
 */
export function manifestYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && UNPRINTABLE.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  // Only double-quoted scalars hold such characters now, where \uXXXX is an escape.
  return doc
    .toString({ lineWidth: 0 })
    .replace(new RegExp(UNPRINTABLE.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}
