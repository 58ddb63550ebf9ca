import { buildFunctions } from './bundle.ts';

/**
 * `node --import tsx infra/bundle-child.ts '{"names":[…],"traceSdk":false,"root":"…"}'`: builds those
 * functions (infra/bundle.ts buildFunctions). bundleFunction runs it in a child process so that the
 * stack, which is made synchronously, gets bundles built with plugins (esbuild's asynchronous API).
 */
const { names, traceSdk, root } = JSON.parse(process.argv[2]!) as { names: string[]; traceSdk: boolean; root: string };
await buildFunctions(names, traceSdk, root);
