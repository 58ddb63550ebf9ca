import { TransitionNotAllowed } from '../../kernel/errors.ts';
import type { Actor, Promotion } from '../../kernel/promotion-model.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { ENGINE, patched } from '../aggregate.ts';
import { armSweep } from '../terms/stuck.ts';
import { loadPromotion, writePromotion } from '../write.ts';
import { waveGate, parkedWave, waveStarted } from './start.ts';
import { goOn } from './wave-go.ts';

/**
 * A person halts a rollout before its next wave, and resumes it (resume only clears the halt: the
 * wave then starts through start.ts's checks).
 */

/** Halt: the release manager stops the rollout before its next wave; what is done stays. 409 for a promotion that is not rolling out. */
export async function haltRollout(deps: Deps, ctx: Ctx, id: string, reason: string): Promise<Promotion> {
  const me: Actor = { id: ctx.principal.id, name: ctx.principal.name };
  const { after } = await writePromotion(deps, ctx.principal.tenant, id, (cur) => {
    if (!cur.rollout) throw new TransitionNotAllowed(`Promotion ${id} does not roll out through targets: there are no waves to halt`);
    if (cur.status !== 'EXECUTING') throw new TransitionNotAllowed(`Promotion ${id} is ${cur.status}: only a rollout in progress can be halted`);
    if (cur.rollout.stopping) throw new TransitionNotAllowed(`Promotion ${id} is stopping (${cur.rollout.stopping.reason}): there is no next wave to halt`);
    if (cur.rollout.halted) return null;
    const halted = { by: me.name, at: deps.clock().toISOString(), reason };
    return { next: patched(cur, deps.clock(), { rollout: { ...cur.rollout, halted } }), action: 'promotion.halt', by: me, reason, requestId: ctx.requestId };
  });
  return after ?? (await loadPromotion(deps, ctx.principal.tenant, id));
}

/**
 * Resume: clears the halt, nothing more. A wave parked by the halt then starts through the same check as any
 * wave start (waveGate: freeze windows, break-glass, start windows): at once when it passes; otherwise the
 * parked WaveStart task is handed back (`WaveRecheck`, which the flow retries), so WaveStart itself checks the
 * wave again, says why it waits and until when, and schedules the next look.
 */
export async function resumeRollout(deps: With<'workflow' | 'scheduler'>, ctx: Ctx, id: string, reason?: string): Promise<Promotion> {
  const me: Actor = { id: ctx.principal.id, name: ctx.principal.name };
  const { tenant } = ctx.principal;
  const read = await loadPromotion(deps, tenant, id);
  // Liveness: the sweep looks again a grace from now, so an answer to the parked wave lost after the write below (a
  // crash, a failed call) is given by the sweep, not waited for until the rollout's own deadline.
  if (read.status === 'EXECUTING' && read.rollout?.halted)
    await armSweep(deps, read, new Date(deps.clock().getTime() + deps.tunables.sweepGraceSeconds * 1000));
  const env = await deps.store.getEnvironment(tenant, read.targetEnvironment);
  const now = deps.clock();
  const gate = read.rollout ? await waveGate(deps, read, env, parkedWave(read.rollout), now) : ({ open: true } as const);
  let token: string | null = null;
  let waits: string | null = null;
  const { after, before } = await writePromotion(
    deps,
    tenant,
    id,
    (cur) => {
      token = null;
      waits = null;
      if (!cur.rollout) throw new TransitionNotAllowed(`Promotion ${id} does not roll out through targets: there is nothing to resume`);
      if (cur.status !== 'EXECUTING') throw new TransitionNotAllowed(`Promotion ${id} is ${cur.status}: only a halted rollout can be resumed`);
      if (cur.rollout.stopping) throw new TransitionNotAllowed(`Promotion ${id} is stopping (${cur.rollout.stopping.reason}): it does not go on`);
      if (!cur.rollout.halted) throw new TransitionNotAllowed(`Promotion ${id} is not halted`);
      token = cur.taskToken;
      const resumed = {
        next: patched(cur, now, { taskToken: null, rollout: { ...cur.rollout, halted: null } }),
        action: 'promotion.resume',
        by: me,
        reason,
      };
      // No WaveStart task parked: the halt is cleared and the next WaveStart checks the wave as usual.
      if (!token) return { ...resumed, requestId: ctx.requestId };
      const wave = parkedWave(cur.rollout);
      if (!gate.open) {
        // The halt is cleared; the wave still may not start: it says why, and WaveStart takes it from here.
        waits = gate.reason;
        const waiting = { reason: gate.reason, until: gate.until, for: gate.for };
        return {
          next: patched(cur, now, { taskToken: null, rollout: { ...cur.rollout, halted: null, waiting } }),
          action: 'promotion.resume',
          by: me,
          reason: `${reason ? `${reason}; ` : ''}${gate.reason}`,
          requestId: ctx.requestId,
        };
      }
      // A WaveStart task parked by the halt is answered now: its wave starts (and says so) with the resume. The token
      // stays on the promotion, with the wave to hand on, until the answer is given (handedOn below; the sweep otherwise).
      const why = `it waited for a resume: halted by ${cur.rollout.halted.by}, resumed by ${me.name}${reason ? ` (${reason})` : ''}`;
      const start = waveStarted(deps, cur, wave, now, { halted: null, handOn: wave }, why);
      return { ...resumed, next: { ...start.next, taskToken: token }, reason: reason ?? start.reason, requestId: ctx.requestId, ops: start.ops };
    },
    { read },
  );
  if (token && waits) await deps.workflow.sendTaskFailure(token, 'WaveRecheck', waits);
  // The parked wave goes on: its token answered, or (a wave of many targets) its child execution started with it.
  else if (token) return handOnWave(deps, after!, parkedWave(before.rollout!), token);
  return after!;
}

/**
 * Hands a started wave on to the flow (its parked token answered, or its child execution started with it), then clears
 * the token and `handOn` from the promotion. What fails here is left for the sweep (the token and the wave stay written):
 * the resume itself is done, and the sweep gives the answer a grace later.
 */
export async function handOnWave(deps: With<'workflow'>, p: Promotion, wave: number, token: string): Promise<Promotion> {
  try {
    await goOn(deps, p, wave, token);
  } catch (err) {
    console.warn(
      JSON.stringify({ level: 'warn', message: 'a started wave was not handed on: the sweep hands it on', promotionId: p.id, wave, error: String(err) }),
    );
    return p;
  }
  const { after } = await writePromotion(deps, p.tenant, p.id, (cur) =>
    cur.taskToken === token && cur.rollout?.handOn === wave
      ? { next: patched(cur, deps.clock(), { taskToken: null, rollout: { ...cur.rollout, handOn: null } }), action: null, by: ENGINE }
      : null,
  );
  return after ?? p;
}
