/**
 * Refuses a Node the project does not run on, with one clear line, before anything else loads: `npm start`,
 * `npm run chaos`, `npm run bench` and `npm test` import it first. Under an older Node the code fails far from
 * the cause (every promotion of a chaos run ended CANCELLED: `Promise.withResolvers is not a function`).
 * npm puts the project's own Node (the `node` dev dependency) first on PATH; a command run by another Node
 * (a machine's `node`, a global `tsx`) is refused here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The engines range of package.json, or why this Node is outside it (undefined: it fits). */
export function nodeProblem(version: string, range: string): string | undefined {
  const min = /^>=\s*(\d+)(?:\.(\d+))?/.exec(range.trim());
  if (!min) return undefined;
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number) as [number, number];
  const [needMajor, needMinor] = [Number(min[1]), Number(min[2] ?? 0)];
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return `Stageline needs Node ${range} (package.json engines); this is Node ${version}. Run it through npm (npm start, npm test, npm run chaos, npm run bench): npm puts the project's own Node, installed by npm ci, first on PATH.`;
}

const engines = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node ?? '';
const problem = nodeProblem(process.versions.node, engines);
if (problem) {
  console.error(problem);
  process.exit(1);
}
