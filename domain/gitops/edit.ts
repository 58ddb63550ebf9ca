import { isMap, parseDocument } from 'yaml';
import { isReservedKey, RESERVED_KEY_MESSAGE } from '../kernel/reserved-keys.ts';

/** The file cannot take the value: what to fix is in the message (the promotion fails with it; nothing is committed). */
export class GitEditConflict extends Error {
  override readonly name = 'GitEditConflict';
}

/**
 * Sets `path` (dot-separated keys) to `value` in a YAML or JSON document, keeping everything else as
 * it is (YAML comments and order included). `changed` false: the document already holds the value.
 */
export function setValue(file: string, text: string, path: string, value: string): { text: string; changed: boolean; previous: unknown } {
  const keys = path.split('.');
  if (keys.some((k) => !k)) throw new GitEditConflict(`path '${path}' has an empty key`);
  // The path is checked where it is set (gitTargetBody); a stored or manifest-made target is checked again here.
  if (keys.some(isReservedKey)) throw new GitEditConflict(`path '${path}': a key ${RESERVED_KEY_MESSAGE}`);
  if (/\.json$/i.test(file)) {
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
    if (previous !== undefined && typeof previous === 'object' && previous !== null)
      throw new GitEditConflict(`${file}: '${path}' holds an object, not a value`);
    if (previous === value) return { text, changed: false, previous };
    Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
    const indent = /^[ \t]+/m.exec(text)?.[0] ?? '  ';
    return { text: JSON.stringify(doc, null, indent) + (text.endsWith('\n') ? '\n' : ''), changed: true, previous };
  }
  const doc = parseDocument(text);
  if (doc.errors.length) throw new GitEditConflict(`${file} is not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); fix the file on the branch`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new GitEditConflict(`${file}: the document is not a mapping, so '${path}' cannot be set`);
  for (let i = 1; i < keys.length; i++) {
    const at = doc.getIn(keys.slice(0, i), true);
    if (at !== undefined && !isMap(at)) throw new GitEditConflict(`${file}: '${keys.slice(0, i).join('.')}' is not a mapping, so '${path}' cannot be set`);
  }
  const previous = doc.getIn(keys);
  if (previous !== undefined && typeof previous === 'object' && previous !== null)
    throw new GitEditConflict(`${file}: '${path}' holds a mapping or list, not a value`);
  if (previous === value) return { text, changed: false, previous };
  doc.setIn(keys, value);
  return { text: doc.toString(), changed: true, previous };
}
