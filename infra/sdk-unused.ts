import { readFileSync } from 'node:fs';
import type { Plugin } from 'esbuild';

/**
 * Two parts of the AWS SDK every bundle carried and no function on Node runs (test/infra/init-loaded.test.ts
 * holds both reasons against the installed SDK):
 *
 * - A client's package.json (2.3 KiB of DynamoDB's at init), of which the client reads `version` alone, for
 *   its user agent: it is answered with that field.
 * - The SHA-256 written in JavaScript (3.2 KiB at init), the fallback Sha256Node takes when `node:crypto` has
 *   no SHA-256, which no Node build lacks: imported from Sha256Node only, it is answered with a class that
 *   says so if it is ever made. Any other importer gets the module itself.
 */
export const SDK_PACKAGE_JSON = /[\\/]node_modules[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]package\.json$/;
export const SHA256_NODE = /[\\/]node_modules[\\/]@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]checksum[\\/]sha256[\\/]Sha256Node\.js$/;

const NAMESPACE = 'sdk-unused';

export const sdkUnused: Plugin = {
  name: NAMESPACE,
  setup(build) {
    build.onLoad({ filter: SDK_PACKAGE_JSON }, (args) => {
      const { version } = JSON.parse(readFileSync(args.path, 'utf8')) as { version: string };
      return { contents: JSON.stringify({ version }), loader: 'json' };
    });
    build.onResolve({ filter: /^\.\/Sha256Js(\.js)?$/ }, (args) => (SHA256_NODE.test(args.importer) ? { path: 'Sha256Js', namespace: NAMESPACE } : undefined));
    build.onLoad({ filter: /^Sha256Js$/, namespace: NAMESPACE }, () => ({
      contents: `export class Sha256Js { constructor() { throw new Error('SHA-256: this Node has none in node:crypto'); } }`,
      loader: 'js',
    }));
  },
};
