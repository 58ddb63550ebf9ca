/**
 * Whether a PromQL query parses, with Prometheus' own grammar (@prometheus-io/lezer-promql, the parser of
 * Prometheus' web UI): a template whose query does not parse is refused when it is saved, not when its first
 * measurement runs. Imported only by what saves templates (the parser is about 100 KiB).
 */
import { parser } from '@prometheus-io/lezer-promql';

/** A `{{…}}` placeholder (domain/verification/template.ts): filled when a measurement is taken. */
const PLACEHOLDER = /\{\{\s*[^{}]*?\s*\}\}/g;

/**
 * The query with each placeholder as something that parses where it stands: a number in a range or
 * subquery (`[{{args.window}}]`), a name elsewhere (a metric, a label value inside quotes, an operand).
 */
function withPlaceholdersFilled(query: string): string {
  return query.replace(PLACEHOLDER, (_m, offset: number) => {
    const before = query.slice(0, offset).trimEnd().at(-1);
    const after = query.slice(offset + _m.length).trimStart()[0];
    return before === '[' || before === ':' || after === ']' || after === ':' ? '1' : 'x';
  });
}

/** Why the query does not parse (where the first error is), or null when it does. */
export function promqlProblem(query: string): string | null {
  const text = withPlaceholdersFilled(query);
  if (!text.trim()) return 'is not a PromQL query: it is empty';
  let at = -1;
  parser.parse(text).iterate({
    enter: (node) => {
      if (at < 0 && node.type.isError) at = node.from;
      return at < 0;
    },
  });
  if (at < 0) return null;
  const near = text.slice(at, at + 20);
  return `is not a PromQL query Prometheus can parse: ${near ? `error at character ${at + 1} (near ${JSON.stringify(near)})` : 'it ends too early'}; check brackets, quotes and operators`;
}
