import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the CLI knows of the command being run: its options, the API base URL and the token. */

/** The options of the command being run (kebab-case, as typed), with the global ones. */
export interface Values {
  // app keys (stageline keys …)
  name?: string;
  prefix?: string;
  overlap?: number;
  json?: boolean;
  /** manifest plan: replay the promotions of this look-back (7d, 90d, 24h) */
  simulate?: string;
  /** manifest plan --simulate: promotions replayed per request (the CLI follows `next` until the look-back ends) */
  'per-request'?: string;
  url?: string;
  token?: string;
  env?: string;
  source?: string;
  target?: string;
  from?: string;
  to?: string;
  artifact?: string;
  /** promote --bundle and its version; bundles create's members, artifacts and configuration */
  bundle?: string;
  'bundle-digest'?: string;
  member?: string[];
  only?: string[];
  'config-env'?: string;
  'key-pattern'?: string[];
  snapshot?: number;
  config?: boolean;
  'dry-run'?: boolean;
  wait?: boolean;
  timeout?: number;
  override?: boolean;
  comment?: string;
  notes?: string;
  reason?: string;
  'break-glass'?: string;
  limit?: number;
  flag?: boolean;
  flags?: boolean;
  'slack-webhook'?: string;
  'slack-channel'?: string[];
  'slack-team'?: string;
  'teams-webhook'?: string;
  /** false with --no-teams (Microsoft Teams off) */
  teams?: boolean;
  email?: string[];
  approvers?: boolean;
  events?: string;
  start?: string;
  version?: string;
  digest?: string;
  commit?: string;
  branch?: string;
  committedAt?: string;
  format?: 'yaml' | 'json';
  end?: string;
  cron?: string;
  'end-cron'?: string;
  tz?: string;
  /** env hours: the allowed hours' windows ('<cron> for <minutes>'), and --none to remove them */
  window?: string[];
  none?: boolean;
  'when-frozen'?: 'wait' | 'fail';
  'sync-registries'?: boolean;
  output?: string;
  file?: string;
  'public-key'?: string;
  /** attestation verify: the public key file */
  key?: string;
  /** attestation verify: the tenant whose statement it must be (read from the service when the key is) */
  tenant?: string;
  /** audit public-key: the tenant's attestation key instead of the checkpoint key */
  attestation?: boolean;
  'min-seq'?: number;
  // webhooks and git targets
  repo?: string;
  path?: string;
  edit?: string;
  /** false: --no-token-secret */
  'token-secret'?: string | false;
  /** a git target's pull-request mode: the host, or false (--no-pull-request) */
  'pull-request'?: string | false;
  'api-url'?: string;
  'api-token-secret'?: string;
  'app-slug'?: string;
  'webhook-secret'?: string;
  // a CI gate (stageline ci-gate set)
  workflow?: string;
  ref?: string;
  input?: string[];
  poll?: number;
  // a deployment gate (stageline deployment-gate set)
  'host-environment'?: string;
  host?: string;
  'app-id'?: string;
  'key-secret'?: string;
  draft?: boolean;
  'auto-merge'?: boolean;
  reviewer?: string[];
  label?: string[];
  /** a git target's path map: artifact=file:path[@edit] entries given, or false (--no-map) */
  map?: string[] | false;
  value?: string;
  description?: string;
  disable?: boolean;
  enable?: boolean;
  registry?: string;
  repository?: string;
  pattern?: string;
  // promotions
  status?: string;
  type?: string;
  payload?: string;
  at?: string;
  yes?: boolean;
  promotion?: string;
  'auto-start'?: boolean;
  // recurring promotions
  paused?: boolean;
  // metrics
  period?: 'day' | 'week' | 'month';
  // the audit stream's destinations
  kind?: string;
  endpoint?: string;
  'token-env'?: string;
  index?: string;
  sourcetype?: string;
  ack?: boolean;
  'header-env'?: string[];
  site?: string;
  'api-key-env'?: string;
  bucket?: string;
  'from-seq'?: number;
  // change control
  provider?: string;
  instance?: string;
  template?: string;
  'approved-state'?: string[];
  user?: string;
  'service-desk-id'?: string;
  'request-type-id'?: string;
  'planned-start-field'?: string;
  'planned-end-field'?: string;
  // calendar
  days?: string;
}
export const values: Values = {};

/** `stageline login` keeps the URL and token here (mode 0600), so tokens stay out of shell history. */
export const CONFIG_FILE = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'stageline', 'config.json');
const saved = ((): { url?: string; token?: string } => {
  try {
    return JSON.parse(readFileSync(CONFIG_FILE, 'utf8')) as { url?: string; token?: string };
  } catch {
    return {};
  }
})();

/**
 * The API base URL and token: flags, then the environment, then the config file (resolved once
 * the command line is parsed); --break-glass <reason>: an admin override of a guard (protected
 * environment), audited as such.
 */
export const session: { base: string; token: string | undefined; breakGlass: string | undefined } = { base: '', token: undefined, breakGlass: undefined };

/** Called before every command's action with commander's options (camelCase): kept as typed (kebab-case). */
export function resolve(options: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(options)) (values as Record<string, unknown>)[k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = v;
  session.base = (values.url ?? process.env.STAGELINE_URL ?? saved.url ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  session.token = values.token || process.env.STAGELINE_TOKEN || saved.token;
}

/**
 * Ends the command: the message on stderr and the exit code (stageline --help lists them). With --json
 * the error is one JSON object on stderr instead: {"error": {"message", "exitCode", …what the API said}}.
 */
export function fail(message: string, code = 2, detail: Record<string, unknown> = {}): never {
  if (values.json)
    console.error(JSON.stringify({ error: { ...detail, message: typeof detail.message === 'string' ? detail.message : message, exitCode: code } }));
  else console.error(`stageline: ${message}`);
  process.exit(code);
}

/** A JWT's claims, read locally (not verified: the API verifies it). */
export function claims(jwt: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export const q = encodeURIComponent;
export const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} takes a whole number`);
  return n;
};
export const collect = (v: string, prev: string[] = []) => [...prev, v];
