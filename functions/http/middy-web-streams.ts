/**
 * `node:stream/web` as @middy/core sees it in a Lambda bundle (infra/bundle.ts bundlePlugins). Middy reads
 * `ReadableStream` from it for one check, `body instanceof ReadableStream`, made only when a handler streams its
 * response. This class answers that check from the runtime's global ReadableStream, looked up when it runs, so
 * module init does not load Node's web streams.
 */
export class ReadableStream {
  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof globalThis.ReadableStream;
  }
}
