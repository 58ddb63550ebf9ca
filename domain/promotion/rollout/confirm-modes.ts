import type { Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';
import { isGitOps, type PolledConfirmation, type Target } from '../../kernel/target-schemas.ts';
import type { With } from '../../kernel/deps.ts';
import { confirmArgocd } from './confirm-argocd.ts';
import { confirmFlux } from './confirm-flux.ts';
import { confirmHealth, type Judgement } from './confirm-health.ts';
import { deliveredFor } from './delivered.ts';

/**
 * The polled confirmation modes, one function each (confirm-health.ts, confirm-argocd.ts, confirm-flux.ts): the
 * `target-health` step (confirm.ts) polls a target through the one of its mode, and the bake's end (bake.ts) reads a
 * GitOps target once more through `gitopsHealth`.
 */

export type { Judgement };

/** What the polls call: the health probe, the GitOps controllers' APIs. */
export type PollDeps = With<'probe' | 'gitopsStatus'>;

/** The name of a target's controller object: `{target}` and `{environment}` filled in. */
export const controllerName = (template: string, environment: string, target: string) =>
  template.replaceAll('{target}', target).replaceAll('{environment}', environment);

/** One poll of a target by its confirmation mode. */
export async function pollTarget(deps: PollDeps, p: Promotion, confirm: PolledConfirmation, item: RolloutTarget): Promise<Judgement> {
  const delivered = (seen: string[]) => deliveredFor(deps, p, item, seen);
  switch (confirm.mode) {
    case 'health':
      return confirmHealth(deps, confirm);
    case 'argocd':
      return confirmArgocd(deps, p.tenant, confirm, controllerName(confirm.application, p.targetEnvironment, item.name), delivered);
    case 'flux':
      return confirmFlux(deps, p.tenant, confirm, controllerName(confirm.kustomization, p.targetEnvironment, item.name), delivered);
    case 'fleet':
      // A fleet is counted where its instances were recorded (confirm-fleet.ts, called by the step with the environment).
      throw new Error('a fleet target is counted by fleetConfirm');
  }
}

/**
 * How a GitOps target (argocd, flux) is doing now, read once through its controller: what the bake's end checks (a
 * degraded target, or one that cannot be read, fails its bake) and what a periodic measurement during the bake can
 * call. Null for a target that does not confirm through a GitOps controller.
 */
export async function gitopsHealth(
  deps: With<'gitopsStatus'>,
  tenant: string,
  promotion: Promotion,
  target: Target,
  item: RolloutTarget,
): Promise<Judgement | null> {
  const c = target.confirm;
  if (!isGitOps(c)) return null;
  const p = promotion.tenant === tenant ? promotion : { ...promotion, tenant };
  const delivered = (seen: string[]) => deliveredFor(deps, p, item, seen);
  return c.mode === 'argocd'
    ? confirmArgocd(deps, tenant, c, controllerName(c.application, p.targetEnvironment, item.name), delivered)
    : confirmFlux(deps, tenant, c, controllerName(c.kustomization, p.targetEnvironment, item.name), delivered);
}
