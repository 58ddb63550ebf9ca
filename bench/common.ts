import type { DynamoStore } from '../functions/adapters/dynamo-store.ts';
import type { Deps } from '#domain/ports';

/** Shared by the bench sections: output helpers and deps for measurements that only touch the store. */
export const heading = (s: string) => console.log(`\n${s}\n${'='.repeat(s.length)}`);
export const sub = (s: string) => console.log(`\n${s}\n${'-'.repeat(s.length)}`);
export const fmt = (n: number, digits = 1) => n.toFixed(digits);
export const int = (n: number) => n.toLocaleString('en-US');

/** Linear-interpolated quantile (q in 0..1). */
export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};

/** Deps whose workflow, bus, gates and registry throw: the measured calls must not use them. */
export function storeOnlyDeps(store: DynamoStore): Deps {
  const unused = () => {
    throw new Error('not used by this benchmark');
  };
  return {
    store,
    clock: () => new Date(),
    workflow: { start: unused, sendTaskSuccess: unused, sendTaskFailure: unused },
    events: { publish: unused },
    gates: { call: unused },
    registry: { sync: unused, attach: unused, verifySignature: unused },
    scheduler: { scheduleOnce: unused, cancel: unused },
    anchor: { sign: unused, append: unused, list: unused, verify: unused, publicKey: unused },
  };
}
