import { Frozen } from '../../kernel/errors.ts';
import { activeWindowOf, nextAllowedOf } from '../../freeze/windows.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import { freezeOverridden } from '../../freeze/break-glass.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import type { FreezeWindow } from '../../freeze/model.ts';
import { ENGINE, moved, patched, waitsToExecute } from '../aggregate.ts';
import { scheduleName } from './schedule-name.ts';
import { loadPromotion, promotionEvent, writePromotion } from '../write.ts';
import type { Next } from '../terms/deadlines.ts';

/**
 * A freeze window over the target when it is time to execute (domain/freeze/windows.ts). A promotion that
 * asked to wait is held: SCHEDULED to the first free time, a schedule resumes it, and the step
 * throws `Frozen`, which the flow catches into its go task. Otherwise it is cancelled, naming the
 * window. An admin's break-glass on the promotion (freezeOverride) lets it through.
 */
export async function freezeHold(deps: With<'scheduler'>, tenant: string, id: string): Promise<{ held: { next: Next } | null; read: Promotion }> {
  // Both at once: the windows are needed whenever the promotion is about to execute, the common case.
  const [p, windows] = await Promise.all([loadPromotion(deps, tenant, id), deps.store.listFreezeWindows(tenant)]);
  if (!waitsToExecute(p) || freezeOverridden(p)) return { held: null, read: p };
  const now = deps.clock();
  const open = await activeWindowOf(windows, p.targetEnvironment, now);
  if (!open) return { held: null, read: p };
  const what = `'${p.targetEnvironment}' is frozen by window ${open.window.id} (${open.window.reason}) until ${open.end.toISOString()}`;
  // Held (whenFrozen: wait) to the first free time, or cancelled naming the window.
  const heldBy =
    p.whenFrozen === 'wait'
      ? { window: open.window.id, reason: open.window.reason, until: (await nextAllowedOf(windows, p.targetEnvironment, now)).toISOString() }
      : null;
  await writePromotion(
    deps,
    tenant,
    id,
    (cur) => {
      if (!waitsToExecute(cur)) return null;
      if (heldBy) {
        const patch = { scheduledAt: heldBy.until, taskToken: null, heldBy };
        const next = cur.status === 'APPROVED' ? moved(cur, 'SCHEDULED', ENGINE, now, patch) : patched(cur, now, patch);
        return { next, action: 'promotion.hold', by: ENGINE, reason: `${what}; it resumes then` };
      }
      const message = `${what}; request it again after the window (or with "whenFrozen": "wait"), or an admin may break glass`;
      const next = moved(cur, 'CANCELLED', ENGINE, now, { taskToken: null, error: { code: 'FROZEN', message } });
      return { next, action: 'promotion.cancel', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Cancelled', next, { reason: message })], reason: message };
    },
    { read: p },
  );
  if (heldBy) {
    await deps.scheduler.scheduleOnce(scheduleName(p), new Date(heldBy.until), { tenant, promotionId: id });
    throw new Frozen(`${what}: held until ${heldBy.until}`);
  }
  return { held: { next: 'done' }, read: p };
}

/**
 * A window that ends early (removed) frees what it held before the end they were told: every promotion its scope
 * holds for a freeze — one SCHEDULED by a window (`heldBy.window`), a rollout whose next wave waits on one
 * (`rollout.waiting.for: "freeze"`) — has its schedule moved to now, through the scheduler as any resume. The
 * schedule's firing decides as it always does (run/schedule.ts): another window still over the environment holds it
 * again until that one ends, and nothing else does. The promotions looked at again, by id.
 */
export async function freezeHoldsEnded(deps: With<'scheduler'>, window: Pick<FreezeWindow, 'tenant' | 'scope'>): Promise<string[]> {
  const { tenant, scope } = window;
  const envs = scope === '*' ? (await deps.store.listEnvironments(tenant)).map((e) => e.name) : [scope];
  const now = deps.clock();
  const woken: string[] = [];
  for (const env of envs) {
    for (const p of await deps.store.activePromotions(tenant, env)) {
      if (!heldByFreeze(p)) continue;
      await deps.scheduler.scheduleOnce(scheduleName(p), now, { tenant, promotionId: p.id });
      woken.push(p.id);
    }
  }
  return woken;
}

/** Whether a freeze window holds the promotion: SCHEDULED by one, or its rollout's next wave waiting on one. */
const heldByFreeze = (p: Promotion) =>
  (p.status === 'SCHEDULED' && !!p.heldBy && 'window' in p.heldBy) ||
  (p.status === 'EXECUTING' && p.rollout?.waiting?.for === 'freeze' && !p.rollout.halted && !p.rollout.stopping);
