import type { With } from '../../kernel/deps.ts';

/** The change tools, which a function running a change-controlled promotion's steps composes (promotion-step, schedule-fire). */
export function withChanges<D extends Partial<With<'changes'>>>(deps: D): D & With<'changes'> {
  if (!deps.changes) throw new Error('a change-controlled promotion, and no change tools composed in this function');
  return deps as D & With<'changes'>;
}
