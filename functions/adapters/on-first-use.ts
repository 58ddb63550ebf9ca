/** A port whose every method is async: what can be handed out before its adapter is made. */
type AsyncPort<T> = { [K in keyof T]: (...args: never[]) => Promise<unknown> };

/**
 * An adapter made on the first call of one of its methods, from a module `import()` loads then: a
 * function whose requests only now and then use the adapter does not read its module (nor the SDK
 * client or libraries under it) at init. `load` must name its module in a static `import('…')`, so
 * the bundler still bundles it (as a chunk of its own) and the deploy checks still see it.
 * `methods` lists the port's methods, every one (the compiler refuses a list that leaves one out).
 * The adapter is made once; a failed load is not kept.
 */
export function onFirstUse<T extends AsyncPort<T>>(load: () => Promise<T>, methods: Record<keyof T, true>): T {
  let made: Promise<T> | undefined;
  const adapter = () =>
    (made ??= load().catch((err: unknown) => {
      made = undefined;
      throw err;
    }));
  const port: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of Object.keys(methods)) {
    port[method] = async (...args) => {
      const a = (await adapter()) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      return a[method]!(...args);
    };
  }
  return port as unknown as T;
}
