import path from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * @middy/core imports `node:stream/web` for one `instanceof ReadableStream`, on a streamed response (none of our
 * functions streams one); loading Node's web streams cost every API function about 4 ms of module init. Only for
 * middy, that import resolves to functions/http/middy-web-streams.ts, which answers the same check from the
 * runtime's global class when it first runs.
 */
export const middyWebStreams: Plugin = {
  name: 'middy-web-streams',
  setup(build) {
    build.onResolve({ filter: /^node:stream\/web$/ }, (args) =>
      /[\\/]@middy[\\/]core[\\/]/.test(args.importer) ? { path: path.join(import.meta.dirname, '..', 'functions', 'http', 'middy-web-streams.ts') } : undefined,
    );
  },
};
