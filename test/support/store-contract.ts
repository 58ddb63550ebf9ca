import { beforeAll, describe } from 'vitest';
import type { Store } from '../../domain/ports.ts';
import { accessContract } from './store-contract/access.ts';
import { artifactContract } from './store-contract/artifacts.ts';
import { auditContract } from './store-contract/audit.ts';
import { configContract } from './store-contract/config.ts';
import { newTenant, type Contract } from './store-contract/fixtures.ts';
import { kernelContract } from './store-contract/kernel.ts';
import { notifyContract } from './store-contract/notify.ts';
import { promotionContract } from './store-contract/promotions.ts';
import { verificationContract } from './store-contract/verification.ts';

/**
 * The Store port's contract: what every implementation does, observed through the port alone (the
 * DynamoDB store on DynamoDB Local, test/integration/store-contract.test.ts; the memory store,
 * test/unit/memory-store.test.ts). Per area at least a write read back and a lost condition with
 * the WriteConflict reason it names; listings with their order, filters and cursors. `open` gives a
 * fresh, empty store once for the run; each case works in tenants of its own (ids that are only its).
 */
export function storeContract(
  name: string,
  open: () => Promise<Store> | Store,
  /** puts an item as it is, past the store (what an earlier version of the store wrote) */
  putItem: (store: Store, item: Record<string, unknown>) => Promise<void>,
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store | undefined;
    beforeAll(async () => {
      store = await open();
    });
    const c: Contract = {
      store() {
        if (!store) throw new Error('the store is not open yet');
        return store;
      },
      tenant: newTenant,
      putItem: (item) => putItem(c.store(), item),
    };
    configContract(c);
    promotionContract(c);
    artifactContract(c);
    auditContract(c);
    notifyContract(c);
    accessContract(c);
    kernelContract(c);
    verificationContract(c);
  });
}
