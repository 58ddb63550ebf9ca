import type { Ports, Store } from '#domain/ports';
import { tunables, type AllDeps } from '../../functions/http/deps.ts';

/** Every port, each throwing when called: what a measurement composes for the adapters its measured calls must not use. */
export function unusedPorts(): Ports {
  const unused = () => {
    throw new Error('not used by this measurement');
  };
  return {
    workflow: { start: unused, sendTaskSuccess: unused, sendTaskFailure: unused, startWave: unused },
    events: { publish: unused },
    gates: { call: unused },
    changes: { open: unused },
    probe: { check: unused },
    gitopsStatus: { argocdApplication: unused, fluxKustomization: unused },
    registry: { sync: unused, attach: unused, verifySignature: unused },
    scheduler: { scheduleOnce: unused, scheduleRecurring: unused, cancel: unused },
    anchor: { sign: unused, signBytes: unused, tenantKey: unused, append: unused, list: unused, verify: unused, publicKey: unused },
    directory: { members: unused, byEmail: unused },
    users: { get: unused, statuses: unused, create: unused, setRoles: unused, remove: unused, signOut: unused, everyone: unused },
    identityProviders: { check: unused, sync: unused, remove: unused },
    channels: { slack: unused, teams: unused, email: unused },
    secrets: { resolve: unused },
    sealer: { seal: unused, same: unused },
    auditSenders: { open: unused },
    webhooks: { secrets: { put: unused, get: unused, remove: unused }, scheduler: { scheduleOnce: unused, scheduleRecurring: unused, cancel: unused } },
    deploymentHosts: { githubInstallationToken: unused, githubReview: unused, gitlabApproval: unused },
    ciRuns: { start: unused, read: unused },
    git: {
      commit: unused,
      pushBranch: unused,
      hosts: { check: unused, find: unused, whoami: unused, open: unused, get: unused, merge: unused, close: unused, deleteBranch: unused },
    },
    alarms: { states: unused },
    metrics: { query: unused },
  };
}

/** Deps for measurements that only touch the store: every adapter throws, so a measured call that uses one fails. */
export function storeOnlyDeps(store: Store): AllDeps {
  return {
    store,
    clock: () => new Date(),
    // The domain's tunables as the functions have them (functions/configuration.ts).
    tunables,
    ...unusedPorts(),
  };
}
