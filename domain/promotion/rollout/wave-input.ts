import type { WaveBatch, WaveStartInput } from '../ports.ts';

/** A wave's first batch: nothing applied yet, no loop run. */
export const FIRST_BATCH: WaveBatch = { phase: 'apply', offset: 0, done: false, pending: 0, loops: 0, waitSeconds: 0, renew: false };

/**
 * The input of an execution of a wave (statemachines/wave.asl.json), as every adapter starts it: a fixed key order (a
 * retried start sends byte-identical input) and every field the state machine reads (a first execution: part 0 and
 * the first batch; a continuation: its part and where its predecessor was).
 */
export const waveExecutionInput = (input: WaveStartInput) => ({
  tenant: input.tenant,
  promotionId: input.promotionId,
  wave: input.wave,
  bakeSeconds: input.bakeSeconds,
  parentToken: input.parentToken,
  part: input.part ?? 0,
  batch: { ...FIRST_BATCH, ...input.batch },
});
