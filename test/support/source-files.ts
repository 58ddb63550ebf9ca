import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** The TypeScript files under a folder of the repository, at any depth, as paths relative to that folder (`kernel/zod.ts` in domain/). */
export const tsFilesIn = (dir: string): string[] => readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
