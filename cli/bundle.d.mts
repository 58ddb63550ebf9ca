/** The path of the CLI's bundle, made first if it is missing or older than any of its sources (cli/bundle.mjs). */
export function cliBundle(): Promise<string>;
