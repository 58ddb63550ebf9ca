import { afterEach, describe, expect, it } from 'vitest';
import { LocalClock } from '../../local/clock.ts';

afterEach(() => {
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
});

describe("the local stack's settable clock", () => {
  it('is refused in a Lambda: a deployed function reads the time AWS keeps', () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'stageline-step';
    expect(() => new LocalClock()).toThrow(/local stack only/);
  });

  it('runs with the wall clock plus what was added; moves forward only', () => {
    const clock = new LocalClock();
    const before = Date.now();
    clock.advance(3600_000);
    expect(clock.now()).toBeGreaterThanOrEqual(before + 3600_000);
    expect(clock.now()).toBeLessThan(Date.now() + 3600_000 + 1000);
    expect(() => clock.advance(-1)).toThrow(/forward only/);
    const at = clock.now();
    clock.advanceTo(at - 60_000);
    expect(clock.now()).toBeGreaterThanOrEqual(at);
  });

  it('fires what waits for a time when the clock reaches it (on the next turn, never inside advance), once; a cancelled wait never fires', async () => {
    const turn = () => new Promise((r) => setTimeout(r, 5));
    const clock = new LocalClock();
    const fired: string[] = [];
    clock.at(clock.now() + 30 * 86_400_000, () => fired.push('month'));
    const cancel = clock.at(clock.now() + 60_000, () => fired.push('cancelled'));
    clock.at(clock.now() + 60_000, () => fired.push('minute'));
    cancel();
    clock.advance(60_000);
    expect(fired).toEqual([]);
    await turn();
    expect(fired).toEqual(['minute']);
    clock.advance(30 * 86_400_000);
    clock.advance(1);
    await turn();
    expect(fired).toEqual(['minute', 'month']);
  });
});
