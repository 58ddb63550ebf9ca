import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nodeProblem } from '../../scripts/node-check.ts';

describe('the wrong Node is refused with one clear line', () => {
  it('names the range and the version, and lets a fitting Node through', () => {
    expect(nodeProblem('20.20.2', '>=22.0.0')).toMatch(
      /^Stageline needs Node >=22\.0\.0 \(package\.json engines\); this is Node 20\.20\.2\. Run it through npm/,
    );
    expect(nodeProblem('22.0.0', '>=22.0.0')).toBeUndefined();
    expect(nodeProblem('24.21.0', '>=22.0.0')).toBeUndefined();
    expect(nodeProblem('21.9.0', '>=22')).toBeDefined();
  });

  it('start, chaos, bench and the test run import the check before anything else', () => {
    const first = (f: string) => execFileSync('head', ['-1', f], { encoding: 'utf8' }).trim();
    for (const f of ['local/start.ts', 'chaos/run.ts', 'bench/run.ts']) expect(first(f), f).toBe("import '../scripts/node-check.ts';");
    expect(first('vitest.config.ts')).toBe("import './scripts/node-check.ts';");
  });
});
