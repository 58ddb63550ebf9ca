/** The rollout's steps, one chunk the step table loads on a rollout's first step (step/step-table.ts). */
export { rolloutCompleteStep, targetBakeStep, targetBakedStep } from '../rollout/bake.ts';
export { rolloutStartStep } from '../rollout/begin.ts';
export { targetApplyStep } from '../rollout/apply.ts';
export { targetHealthStep } from '../rollout/confirm.ts';
export { waveStartStep } from '../rollout/start.ts';
export { waveApplyStep, waveBakedStep, waveConfirmStep, waveContinueStep, waveEndStep, waveWaitStep } from '../rollout/wave-run.ts';
