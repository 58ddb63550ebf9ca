import { createTwoFilesPatch, diffArrays } from 'diff';
import { Document, isMap, isScalar, isSeq, parseDocument, Scalar, type ToStringOptions } from 'yaml';
import { yamlShapeIssue } from '../kernel/bounded.ts';
import { isReservedKey, RESERVED_KEY_MESSAGE } from '../kernel/reserved-keys.ts';
import type { GitEditKind, GitTarget } from './ports.ts';

/** The file cannot take the value: what to fix is in the message (the promotion fails with it; nothing is committed). */
export class GitEditConflict extends Error {
  override readonly name = 'GitEditConflict';
}

export interface Edited {
  text: string;
  /** false: the file already holds the value (nothing to commit) */
  changed: boolean;
  previous: unknown;
}

/**
 * Writes the promoted value into a git target's file the way its edit kind says (GitTarget.edit;
 * `yaml-path` when absent), keeping everything else as it is: YAML comments, order, blank lines, quoting,
 * sequence indentation and long lines; JSON's indentation. `written` is gitValueOf's answer for the
 * target (`<version>@<digest>` for value `version@digest`).
 */
export function editFile(target: Pick<GitTarget, 'edit' | 'file' | 'path' | 'value'>, text: string, written: string): Edited {
  const edit: GitEditKind = target.edit ?? 'yaml-path';
  const { file, path } = target;
  const json = /\.json$/i.test(file);
  switch (edit) {
    case 'yaml-path':
      return setValue(file, text, path, written);
    case 'json-path':
      if (!json) throw new GitEditConflict(`${file} is not a .json file: the json-path edit writes JSON files only`);
      return setJsonValue(file, text, keysOf(path), written);
    case 'helm-values':
      if (!/\.ya?ml$/i.test(file)) throw new GitEditConflict(`${file} is not a .yaml or .yml file: the helm-values edit writes Helm values files only`);
      return setYamlValue(file, text, keysOf(path), written);
    case 'kustomize-image':
      return setKustomizeImage(file, text, path, imageFields(target.value, written));
  }
}

/**
 * Sets `path` (dot-separated keys) to `value` in a YAML or JSON document (by the file's extension), keeping
 * everything else as it is (YAML comments and order included). `changed` false: the document already holds the value.
 */
export function setValue(file: string, text: string, path: string, value: string): Edited {
  const keys = keysOf(path);
  return /\.json$/i.test(file) ? setJsonValue(file, text, keys, value) : setYamlValue(file, text, keys, value);
}

function keysOf(path: string): string[] {
  const keys = path.split('.');
  if (keys.some((k) => !k)) throw new GitEditConflict(`path '${path}' has an empty key`);
  // The path is checked where it is set (gitTargetBody); a stored or manifest-made target is checked again here.
  if (keys.some(isReservedKey)) throw new GitEditConflict(`path '${path}': a key ${RESERVED_KEY_MESSAGE}`);
  return keys;
}

function setJsonValue(file: string, text: string, keys: string[], value: string): Edited {
  const path = keys.join('.');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GitEditConflict(`${file} is not valid JSON (${(err as Error).message}); fix the file on the branch`);
  }
  let node = doc as Record<string, unknown>;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new GitEditConflict(`${file}: the document is not an object, so '${path}' cannot be set`);
  // Own members only: an inherited one (a prototype's) is never walked into or read as the file's value.
  const own = (o: Record<string, unknown>, k: string) => (Object.hasOwn(o, k) ? o[k] : undefined);
  for (const [i, k] of keys.slice(0, -1).entries()) {
    const next = own(node, k);
    if (next === undefined) Object.defineProperty(node, k, { value: {}, enumerable: true, writable: true, configurable: true });
    else if (!next || typeof next !== 'object' || Array.isArray(next))
      throw new GitEditConflict(`${file}: '${keys.slice(0, i + 1).join('.')}' is not an object, so '${path}' cannot be set`);
    node = own(node, k) as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  const previous = own(node, last);
  if (previous !== undefined && typeof previous === 'object' && previous !== null) throw new GitEditConflict(`${file}: '${path}' holds an object, not a value`);
  if (previous === value) return { text, changed: false, previous };
  Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  // A value that was there is replaced where it stands: every other byte (inline objects, one-line arrays) as it was.
  const span = previous === undefined ? undefined : jsonSpan(text, keys);
  if (span) {
    const spliced = text.slice(0, span[0]) + JSON.stringify(value) + text.slice(span[1]);
    // The scanner agrees with JSON.parse (duplicate keys: the last one counts) or the document is re-rendered.
    if (JSON.stringify(JSON.parse(spliced)) === JSON.stringify(doc)) return { text: spliced, changed: true, previous };
  }
  const indent = /^[ \t]+/m.exec(text)?.[0] ?? '  ';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const out = JSON.stringify(doc, null, indent).replace(/\n/g, eol);
  return { text: out + (/\r?\n$/.test(text) ? eol : ''), changed: true, previous };
}

/**
 * Where the value at `keys` (object members only) stands in JSON text that JSON.parse accepted: [start, end), or
 * undefined when a key is missing. The last of duplicate members, as JSON.parse reads them.
 */
function jsonSpan(text: string, keys: string[]): [number, number] | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const skip = (): void => {
    ws();
    const open = text[i];
    if (open === '"') return void str();
    if (open !== '{' && open !== '[') {
      while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++;
      return;
    }
    i++;
    ws();
    if (text[i] === (open === '{' ? '}' : ']')) return void i++;
    for (;;) {
      ws();
      if (open === '{') {
        str();
        ws();
        i++; // :
      }
      skip();
      ws();
      if (text[i++] !== ',') return; // the closing bracket
    }
  };
  let span: [number, number] | undefined = [0, text.length];
  for (const key of keys) {
    i = span[0];
    ws();
    if (text[i] !== '{') return undefined;
    i++;
    ws();
    span = undefined;
    if (text[i] === '}') return undefined;
    for (;;) {
      ws();
      const k = str();
      ws();
      i++; // :
      ws();
      const start = i;
      skip();
      if (k === key) span = [start, i];
      ws();
      if (text[i++] !== ',') break;
    }
    if (!span) return undefined;
  }
  return span;
}

function parseYaml(file: string, text: string, what: string): Document.Parsed {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new GitEditConflict(`${file} is not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); fix the file on the branch`);
  // Aliases limited, cycles refused, nesting bounded (kernel/bounded.ts), before the edit walks the document.
  const shape = yamlShapeIssue(doc);
  if (shape) throw new GitEditConflict(`${file}: the document ${shape}; fix the file on the branch`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new GitEditConflict(`${file}: the document is not a mapping, so ${what} cannot be set`);
  return doc;
}

/**
 * How the file is written back: the yaml library re-renders every node, so the source's own layout is
 * read off the text and given back to it — its indentation, whether a list under a key is indented
 * (`images:\n- name` as kustomize writes it, or `images:\n  - name`), and no folding of long lines
 * (the default folds at 80 columns, rewriting lines nobody asked to change).
 */
function yamlText(doc: Document.Parsed, source: string): string {
  const indent = /^( +)[^\s#]/m.exec(source)?.[1]?.length ?? 2;
  // A block sequence's first item: on the key's own column (not indented) or further in.
  const seq = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\r?\n(?:[ \t]*(?:#[^\n]*)?\r?\n)*( *)- /m.exec(source);
  const options: ToStringOptions = { lineWidth: 0, indent: Math.min(Math.max(indent, 1), 8), indentSeq: seq ? seq[2]!.length > seq[1]!.length : true };
  const out = doc.toString(options);
  return source.includes('\r\n') ? out.replace(/\r?\n/g, '\r\n') : out;
}

/**
 * The edited document as text, where every line the edit did not touch is the source's own line. The
 * library re-renders every node (a comment's spacing, `key:  value`), so the unedited document is rendered
 * too, with the same options, and only the lines where the two renderings differ are taken from the edited
 * one. That needs the unedited rendering to stand line for line with the source (the same lines, whitespace
 * aside); when it does not (flow collections reflowed, say), the edited rendering is the answer.
 */
function renderEdit(source: string, doc: Document.Parsed, unedited: string): string {
  const edited = yamlText(doc, source);
  const lines = (t: string) => t.split(/\r?\n/);
  const src = lines(source);
  const before = lines(unedited);
  const bare = (l: string) => l.replace(/\s+/g, '');
  if (src.length !== before.length || src.some((l, i) => bare(l) !== bare(before[i]!))) return edited;
  const out: string[] = [];
  let at = 0;
  for (const part of diffArrays(before, lines(edited))) {
    if (part.added) out.push(...part.value);
    else if (part.removed) at += part.value.length;
    else {
      out.push(...src.slice(at, at + part.value.length));
      at += part.value.length;
    }
  }
  return out.join(source.includes('\r\n') ? '\r\n' : '\n');
}

/**
 * Writes new values into existing one-line scalars of the source text (plain or quoted), leaving every
 * other byte as it was: what a person would have typed. null: one of them cannot be written in place (a
 * block scalar, or a value whose rendering spans lines); the caller re-renders the document.
 */
function spliceScalars(source: string, changes: { node: Scalar; value: string }[]): string | null {
  const parts: { from: number; to: number; text: string }[] = [];
  for (const { node, value } of changes) {
    if (!node.range || ![Scalar.PLAIN, Scalar.QUOTE_DOUBLE, Scalar.QUOTE_SINGLE].includes(node.type as string)) return null;
    const one = new Document(null);
    // Same quoting as before where it still reads back as the same string (the library picks another when not).
    one.contents = Object.assign(new Scalar(value), { type: node.type });
    const text = one.toString({ lineWidth: 0 }).replace(/\r?\n$/, '');
    const [from, to] = node.range;
    if (/[\r\n]/.test(text) || /[\r\n]/.test(source.slice(from, to))) return null;
    parts.push({ from, to, text });
  }
  let out = source;
  for (const p of parts.sort((a, b) => b.from - a.from)) out = out.slice(0, p.from) + p.text + out.slice(p.to);
  return out;
}

function setYamlValue(file: string, text: string, keys: string[], value: string): Edited {
  const path = keys.join('.');
  const doc = parseYaml(file, text, `'${path}'`);
  for (let i = 1; i < keys.length; i++) {
    const at = doc.getIn(keys.slice(0, i), true);
    if (at !== undefined && !isMap(at)) throw new GitEditConflict(`${file}: '${keys.slice(0, i).join('.')}' is not a mapping, so '${path}' cannot be set`);
  }
  const previous = doc.getIn(keys);
  if (previous !== undefined && typeof previous === 'object' && previous !== null)
    throw new GitEditConflict(`${file}: '${path}' holds a mapping or list, not a value`);
  if (previous === value) return { text, changed: false, previous };
  const node = doc.getIn(keys, true);
  const spliced = isScalar(node) ? spliceScalars(text, [{ node, value }]) : null;
  if (spliced !== null) return { text: spliced, changed: true, previous };
  // A new key (or a block scalar): the document is re-rendered; an existing node keeps its comment and style,
  // and the library quotes a string YAML would read as another type.
  const unedited = yamlText(doc, text);
  doc.setIn(keys, value);
  return { text: renderEdit(text, doc, unedited), changed: true, previous };
}

/** What a kustomize images entry gets: the tag, the digest, or both (kustomize then renders name:tag@digest). */
export function imageFields(value: GitTarget['value'], written: string): { newTag?: string; digest?: string } {
  if (value === 'version') return { newTag: written };
  if (value === 'digest') return { digest: written };
  const at = written.lastIndexOf('@');
  return { newTag: written.slice(0, at), digest: written.slice(at + 1) };
}

const KUSTOMIZATION_FILE = /(^|\/)kustomization\.ya?ml$/;

/**
 * Sets the `images:` entry named `name` of a kustomization (what `kustomize edit set image` does, without
 * the binary): `newTag` and/or `digest` as `want` says. A field `want` does not name is removed — a digest
 * left behind would pin the old image whatever the tag says — and `newName` is left alone. A missing list
 * or entry is added.
 */
export function setKustomizeImage(file: string, text: string, name: string, want: { newTag?: string; digest?: string }): Edited {
  if (!KUSTOMIZATION_FILE.test(file))
    throw new GitEditConflict(`${file} is not a kustomization.yaml: the kustomize-image edit writes a kustomization's images`);
  const doc = parseYaml(file, text, `the image '${name}'`);
  const kind = doc.get('kind');
  if (kind !== undefined && kind !== 'Kustomization' && kind !== 'Component')
    throw new GitEditConflict(`${file} is a ${String(kind)}, not a Kustomization, so the image '${name}' cannot be set`);
  const fields = (['newTag', 'digest'] as const).filter((f) => want[f] !== undefined);
  const images = doc.get('images', true);
  const unedited = yamlText(doc, text);
  if (images === undefined || (isScalar(images) && images.value === null)) {
    doc.set('images', doc.createNode([{ name, ...want }]));
    return { text: renderEdit(text, doc, unedited), changed: true, previous: undefined };
  }
  if (!isSeq(images)) throw new GitEditConflict(`${file}: 'images' is not a list, so the image '${name}' cannot be set`);
  const entry = images.items.find((i) => isMap(i) && i.get('name') === name);
  if (!entry) {
    images.add(doc.createNode({ name, ...want }));
    return { text: renderEdit(text, doc, unedited), changed: true, previous: undefined };
  }
  if (!isMap(entry)) throw new GitEditConflict(`${file}: the image entry '${name}' is not a mapping`);
  const read = (f: string) => {
    const v = entry.get(f);
    if (v !== undefined && v !== null && typeof v === 'object')
      throw new GitEditConflict(`${file}: '${f}' of the image '${name}' holds a mapping or list, not a value`);
    return v === undefined || v === null ? undefined : String(v);
  };
  const previous = { newTag: read('newTag'), digest: read('digest') };
  const stale = (['newTag', 'digest'] as const).filter((f) => !fields.includes(f) && entry.has(f));
  if (fields.every((f) => previous[f] === want[f]) && !stale.length) return { text, changed: false, previous };
  // The usual case, a tag or digest already there replaced: written in place.
  const inPlace = fields.filter((f) => previous[f] !== want[f]).map((f) => ({ node: entry.get(f, true), value: want[f]! }));
  if (!stale.length && inPlace.every((c) => isScalar(c.node))) {
    const spliced = spliceScalars(text, inPlace as { node: Scalar; value: string }[]);
    if (spliced !== null) return { text: spliced, changed: true, previous };
  }
  for (const f of fields) entry.set(f, want[f]);
  for (const f of stale) entry.delete(f);
  return { text: renderEdit(text, doc, unedited), changed: true, previous };
}

/** Lines of a file diff shown on a pull request at most (the rest is counted, not shown). */
const DIFF_LINES = 80;

/**
 * The change of one file as a person reads it in a review: a unified diff (three lines of context) of
 * the file's text before and after the edit, without the patch header's index lines; bounded.
 */
export function fileDiff(file: string, before: string, after: string): string {
  const patch = createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after, undefined, undefined, { context: 3 });
  const lines = patch.split('\n').filter((l) => !/^(?:=+|Index: .*)$/.test(l) && l !== '\\ No newline at end of file');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.length > DIFF_LINES ? [...lines.slice(0, DIFF_LINES), `… ${lines.length - DIFF_LINES} more lines`].join('\n') : lines.join('\n');
}

/** What a file held at the edited place, as a short string (a kustomize entry's tag and digest; absent: null). */
export function previousValue(previous: unknown): string | null {
  if (previous === undefined || previous === null) return null;
  if (typeof previous !== 'object') return String(previous);
  const fields = Object.entries(previous as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== null);
  return fields.length ? fields.map(([k, v]) => `${k} ${String(v)}`).join(', ') : null;
}
