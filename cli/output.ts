import { visibleDocument } from '../domain/kernel/display.ts';
import type { Promotion, RollbackImpact } from './answers.ts';
import { values } from './context.ts';

/**
 * Everything this CLI prints is shown as text, never as terminal control: whatever reaches the
 * console (answers, errors, files it read) has its control and bidi characters escaped
 * (domain/kernel/display.ts); answers are also cleaned string by string, so a line break inside a value
 * cannot start a forged row either.
 */
export function textOnlyConsole(): void {
  for (const stream of ['log', 'error'] as const) {
    const write = console[stream].bind(console);
    console[stream] = (...args: unknown[]) => write(...args.map((a) => (typeof a === 'string' ? visibleDocument(a) : a)));
  }
}

/**
 * Aligned columns with a dashed rule under the header. On a terminal the table
 * fits its width: the widest columns are cut (…) until it does.
 */
export function grid(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const room = process.stdout.isTTY ? process.stdout.columns : 0;
  if (room) {
    const min = head.map((h) => Math.max(h.length, 6));
    while (widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) > room) {
      const i = widths.reduce((best, w, j) => (w - min[j]! > widths[best]! - min[best]! ? j : best), 0);
      if (widths[i]! <= min[i]!) break;
      widths[i]!--;
    }
  }
  const cell = (v: string, w: number) => (v.length > w ? `${v.slice(0, Math.max(0, w - 1))}…` : v.padEnd(w));
  const line = (r: string[]) =>
    r
      .map((v, i) => cell(v ?? '', widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}

export function table(rows: Record<string, unknown>[], cols: string[]): void {
  grid(
    cols.map((c) => c[0]!.toUpperCase() + c.slice(1)),
    rows.map((r) => cols.map((c) => String(r[c] ?? ''))),
  );
}

/** 2024-01-15T15:00:00.000Z → 2024-01-15 15:00:00 (UTC) */
export const when = (iso: string | null | undefined) => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');
/** What a promotion moves: name@version, or config:<type>@<snapshot>. */
export const label = (s: Promotion['subject'] | undefined) =>
  s?.type === 'artifact'
    ? `${s.name}@${s.version}`
    : s?.type === 'bundle'
      ? `bundle:${s.name}@${s.digest.slice(7, 19)}`
      : s?.type === 'config'
        ? `config:${String(s.promotionType).toLowerCase()}@${s.sourceSnapshot.seq}`
        : String(s ?? '');
export const MARK: Record<string, string> = { PASS: '✓', FAIL: '✗', WARN: '!', SKIPPED: '-' };

export function seconds(n: number): string {
  if (n < 90) return `${n} second${n === 1 ? '' : 's'}`;
  const m = Math.round(n / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}

/** A rollback's impact analysis (or, for a config promotion, just what it reverts), as lines. */
export function impactLines(i: Partial<RollbackImpact>): string[] {
  const breaking = i.breakingChanges ?? [];
  const consumers = i.affectedConsumers ?? [];
  const reverts = (i.reverts ?? []).map((r) =>
    r.artifact
      ? `${r.artifact} ${r.from ?? 'nothing'} → ${r.to}`
      : `${r.action} ${r.kind} ${r.key}${r.action === 'modify' ? `: ${JSON.stringify(r.from)} → ${JSON.stringify(r.to)}` : r.action === 'add' ? ` = ${JSON.stringify(r.to)}` : ''}`,
  );
  const rec = i.recommendation === 'SAFE' ? 'SAFE to rollback' : `${i.recommendation}${i.reasons?.length ? ` (${i.reasons.join('; ')})` : ''}`;
  return [
    `Rollback of ${i.environment ?? values.env}: ${reverts.length ? reverts.join(', ') : 'nothing changes'}`,
    `Affected data products: ${consumers.length}${consumers.length ? ` (${consumers.map((c) => `${c.name} pins ${c.constraint}`).join('; ')})` : ''}`,
    `Breaking changes: ${breaking.length}${breaking.length ? ` (${breaking.join('; ')})` : ''}`,
    `Estimated downtime: ${seconds(i.estimatedSeconds ?? 0)}`,
    `Recommendation: ${rec}`,
  ];
}

/** The API's JSON with --json, else what people read. */
export const out = (data: unknown, human: () => void) => (values.json ? console.log(visibleDocument(JSON.stringify(data, null, 2))) : human());
/** A document from the service (manifest, audit export): exact into a pipe or file, made visible on a terminal. */
export const show = (text: string) => process.stdout.write(process.stdout.isTTY ? visibleDocument(text) : text);
