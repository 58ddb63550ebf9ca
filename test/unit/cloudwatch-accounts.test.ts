import { describe, expect, it } from 'vitest';
import { cloudWatchAccountIssues } from '../../domain/config/cloudwatch-accounts.ts';

/** Which targets a CloudWatch attachment measures, and so which accounts must have a registered role. */
const A = '111122223333';
const B = '444455556666';
const templates = [
  { name: 'cw', provider: { type: 'cloudwatch' } },
  { name: 'cw-fixed', provider: { type: 'cloudwatch', account: B } },
  { name: 'prom', provider: { type: 'prometheus' } },
];
const targets = [
  { name: 'canary', wave: 1, account: A, labels: {}, parameters: [], monitors: [], confirm: { mode: 'immediate' as const } },
  { name: 'rest', wave: 2, labels: {}, parameters: [], monitors: [], confirm: { mode: 'immediate' as const } },
];
const issues = (env: Record<string, unknown>, accounts: string[]) =>
  cloudWatchAccountIssues(
    env as never,
    templates,
    accounts.map((account) => ({ account })),
  ).map((i) => `${i.path}: ${/for target '([^']+)'/.exec(i.message)?.[1]}`);

describe('cloudWatchAccountIssues', () => {
  it("checks each target an attachment measures: the environment's all, a wave's its own, a comparison all of them, a target's itself", () => {
    expect(issues({ targets, analysis: [{ template: 'cw' }] }, [A])).toEqual(['body.analysis.0.template: rest']);
    const waves = { targets, rollout: { waves: [{ wave: 1, analysis: [{ template: 'cw' }] }] } };
    expect(issues(waves, [A])).toEqual([]);
    expect(issues({ targets, rollout: { waves: [{ wave: 1, compare: { template: 'cw' } }] } }, [A])).toEqual(['body.rollout.waves.0.compare.template: rest']);
    expect(issues({ targets: [targets[0], { ...targets[1], analysis: [{ template: 'cw' }] }] }, [A])).toEqual(['body.targets.1.analysis.0.template: rest']);
    // Not CloudWatch: nothing to check.
    expect(issues({ targets, analysis: [{ template: 'prom' }] }, [])).toEqual([]);
  });

  it("lets the template's own account win, checks a pre-analysis only by it, and names the implicit target of an environment without targets", () => {
    expect(issues({ targets, analysis: [{ template: 'cw-fixed' }] }, [A])).toEqual(['body.analysis.0.template: canary', 'body.analysis.0.template: rest']);
    expect(issues({ targets, analysis: [{ template: 'cw-fixed' }] }, [B])).toEqual([]);
    expect(issues({ preAnalysis: [{ template: 'cw', lookbackSeconds: 60 }] }, [])).toEqual([]);
    expect(issues({ preAnalysis: [{ template: 'cw-fixed', lookbackSeconds: 60 }] }, [])).toEqual(['body.preAnalysis.0.template: the source environment']);
    expect(issues({ analysis: [{ template: 'cw' }] }, [A, B])).toEqual(['body.analysis.0.template: default']);
  });
});
