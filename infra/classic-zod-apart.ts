import { createRequire } from 'node:module';
import type { Plugin } from 'esbuild';

/**
 * A package that validates with classic zod (jira.js, loaded on first use with a Jira change-control rule)
 * gets zod's CommonJS build, a copy of its own, instead of the ES modules our zod/mini schemas share.
 * Classic zod hands out its `z` namespace whole, and that namespace holds `z.core` and `z.locales`: every
 * locale, JSON Schema generation, the schema compiler. esbuild tree-shakes across the whole build but splits
 * chunks by which entries reach a file, and zod/mini reaches zod's core index statically, so all of that
 * landed in the chunks module init reads (403 KiB of the functions that can open a Jira rule). The copy is
 * reached only through the package's `import()`, so it stays in that chunk, read on first use.
 */
export const classicZodApart: Plugin = {
  name: 'classic-zod-apart',
  setup(build) {
    build.onResolve({ filter: /^zod(\/v4|\/v3)?$/ }, (args) =>
      /[\\/]node_modules[\\/]/.test(args.importer) && !/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: createRequire(args.importer).resolve(args.path) }
        : undefined,
    );
  },
};
