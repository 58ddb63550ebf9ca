import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Architecture lint (after `tsc --noEmit`): the rules that keep the layers
 * visible. The same domain-purity rule is also a test (test/unit/architecture.test.ts).
 */
const root = join(import.meta.dirname, '..');
const problems: string[] = [];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

for (const f of files(join(root, 'domain'))) {
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
    const spec = m[1]!;
    if (/^@aws-sdk|^@smithy|^@middy|^aws-lambda$|^(\.\.\/)+functions\/|^#functions|^#local|^(\.\.\/)+local\//.test(spec))
      problems.push(`${relative(root, f)}: the domain must not import ${spec}`);
  }
}

// Handlers are thin adapters: parse, call one domain function, map the result.
for (const f of files(join(root, 'functions', 'handlers'))) {
  const lines = readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('//') && !l.trim().startsWith('*') && !l.trim().startsWith('/*'));
  if (lines.length > 45) problems.push(`${relative(root, f)}: ${lines.length} lines; move logic into domain/`);
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('architecture lint: ok');
