import cleanVersion from 'semver/functions/clean.js';
import valid from 'semver/functions/valid.js';
import validRange from 'semver/ranges/valid.js';
import satisfies from 'semver/functions/satisfies.js';
import { ValidationFailed } from '../kernel/errors.ts';
import type { Consumer, ConstraintKind } from './model.ts';

/**
 * What semver decides of a consumer's constraint: its kind (an exact version, a range, a caret range,
 * a tag) and whether a version satisfies it. Its own module so that the promotion's consumer check
 * (consumers-broken.ts) loads semver with `import()` only when the artifact has consumers to check.
 */
export function classify(constraint: string): { kind: ConstraintKind; range: string } {
  const c = constraint.trim();
  if (/^latest-[a-z][a-z0-9-]*$/.test(c) || (/^[^\s<>=^~*|]+-[a-z][a-z0-9-]*$/.test(c) && !valid(cleanVersion(c) ?? ''))) return { kind: 'tag', range: c };
  const clean = cleanVersion(c);
  if (clean && valid(clean)) return { kind: 'exact', range: clean };
  // Manifests write ranges with commas (">=1.2.0, <2.0.0"); semver separates comparators by spaces.
  const range = c.replace(/\s*,\s*/g, ' ');
  if (!validRange(range)) {
    throw new ValidationFailed([
      {
        path: 'constraint',
        message: `'${constraint}' is not an exact version, a semver range (">=1.2.0, <2.0.0"), a caret range ("^1.2.0") or a tag ("latest-prod")`,
      },
    ]);
  }
  return { kind: c.startsWith('^') ? 'caret' : 'range', range };
}

/**
 * The consumers (in order) whose constraint `version` does not satisfy: the one rule a rollback's impact, a promotion's
 * refusal and gate, and the promotions' safe order (domain/promotion/request/safe-order.ts) decide by. A tag constraint
 * follows whatever is there and is never broken.
 */
export function brokenBy(
  consumers: readonly Pick<Consumer, 'name' | 'constraint' | 'environment'>[],
  version: string,
  environment?: string,
): { name: string; constraint: string; reason: string }[] {
  const broken: { name: string; constraint: string; reason: string }[] = [];
  const clean = cleanVersion(version) ?? version;
  for (const c of consumers) {
    // Given an environment: those pinned in it, and those pinned everywhere.
    if (environment !== undefined && c.environment && c.environment !== environment) continue;
    const { kind, range } = classify(c.constraint);
    if (kind === 'tag') continue;
    if (!satisfies(clean, range)) broken.push({ name: c.name, constraint: c.constraint, reason: `${version} does not satisfy it` });
  }
  return broken;
}
