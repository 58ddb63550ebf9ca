import { describe, expect, it } from 'vitest';
import { analysisRow } from '../../domain/promotion/terms/rollout-view.ts';
import type { TargetAnalysisRun } from '../../domain/kernel/rollout-model.ts';
import { analysisLine } from '../../cli/rollout-view.ts';

const measuring: TargetAnalysisRun = {
  template: 'error-rate',
  scope: 'bake',
  spec: {},
  args: [],
  phase: 'Running',
  measurements: [{ at: '2026-11-27T04:00:00.000Z', value: 0.01, phase: 'Successful' } as TargetAnalysisRun['measurements'][number]],
  nextAt: '2026-11-27T04:01:00.000Z',
};

describe('an analysis on a rollout that ended', () => {
  it('is Stopped, never "measuring", once the rollout ended before its answer', () => {
    for (const ended of ['ROLLED_BACK', 'FAILED', 'COMPLETED']) {
      const row = analysisRow(measuring, ended);
      expect(row).toMatchObject({ phase: 'Stopped', nextAt: null, message: 'stopped: the rollout ended before this analysis had its answer' });
      // The CLI's line says the same.
      expect(analysisLine('cell-1', row as never)).toMatch(/^ {2}· cell-1 error-rate: stopped after 1 measurement/);
    }
  });

  it('is still Running, with its next measurement, while the rollout goes on', () => {
    for (const going of ['ROLLING_OUT', 'WAITING', 'HALTED']) {
      expect(analysisRow(measuring, going)).toMatchObject({ phase: 'Running', nextAt: '2026-11-27T04:01:00.000Z', message: null });
    }
  });

  it('keeps an answer it had (a failed analysis stays Failed on a rolled-back rollout)', () => {
    expect(analysisRow({ ...measuring, phase: 'Failed', message: 'result > 0.05' }, 'ROLLED_BACK')).toMatchObject({
      phase: 'Failed',
      message: 'result > 0.05',
    });
  });
});
