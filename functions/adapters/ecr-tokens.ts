import type { ECRClient } from '@aws-sdk/client-ecr';
import type { Credentials, RefreshingCredentials } from './oci/client.ts';
import { traced } from './tracing.ts';

/**
 * Amazon ECR registries: their Distribution API takes Basic credentials `AWS:<token>`, the token from
 * ecr:GetAuthorizationToken (valid 12 h, for every repository of the region the caller's IAM allows).
 * A static password copied from it would stop working after 12 h, so a registry binding of an ECR origin
 * names no password (`"ecr": true`, functions/adapters/registry-credentials.ts) and its credentials come
 * from here: asked for on first use, kept until REFRESH_BEFORE_MS before the token's `expiresAt`, asked
 * for again after; and asked for again at once when the registry refuses the token (a 401), once per request.
 */

/** `https://<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]` (a private registry of one account and region). */
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$/;

/** The account and region of an ECR registry's origin (or URL), or null when it is not one. */
export function ecrRegistryOf(url: string): { account: string; region: string } | null {
  let host: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' || u.port) return null;
    host = u.hostname;
  } catch {
    return null;
  }
  const m = ECR_HOST.exec(host);
  return m ? { account: m[1]!, region: m[2]! } : null;
}

/** A token is replaced this long before its `expiresAt` (a sync that starts then may run for minutes). */
export const REFRESH_BEFORE_MS = 15 * 60_000;
/** A token whose answer names no expiry is kept this long (ECR's tokens last 12 h). */
const UNDATED_TOKEN_MS = 60 * 60_000;

interface Token {
  credentials: Credentials;
  /** ms since the epoch, by the clock the cache reads */
  refreshAt: number;
}

export interface EcrTokensOptions {
  /** the ECR client of a region (tests); by default one per region, made on first use */
  client?: (region: string) => ECRClient | Promise<ECRClient>;
  /** the clock the cache reads (ms since the epoch) */
  now?: () => number;
}

/** The tokens of this container, one per region (a token of a region serves every registry there the role may use). */
export class EcrTokens {
  private readonly tokens = new Map<string, Token>();
  private readonly pending = new Map<string, Promise<Token>>();
  private readonly clients = new Map<string, Promise<ECRClient>>();
  private readonly now: () => number;

  constructor(private readonly options: EcrTokensOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** The credentials of one ECR origin (throws for an origin that is not ECR's). */
  forOrigin(origin: string): RefreshingCredentials {
    const registry = ecrRegistryOf(origin);
    if (!registry) throw new Error(`${origin} is not an Amazon ECR registry (https://<account>.dkr.ecr.<region>.amazonaws.com)`);
    return {
      current: () => this.current(registry.region),
      refresh: (refused) => this.refresh(registry.region, refused),
    };
  }

  private async current(region: string): Promise<Credentials> {
    const token = this.tokens.get(region);
    if (token && this.now() < token.refreshAt) return token.credentials;
    return (await this.fetch(region)).credentials;
  }

  /** After the registry refused `refused`: a new token, unless another request has already replaced that one. */
  private async refresh(region: string, refused: Credentials): Promise<Credentials> {
    const token = this.tokens.get(region);
    if (token && token.credentials.password !== refused.password && this.now() < token.refreshAt) return token.credentials;
    return (await this.fetch(region)).credentials;
  }

  /** One GetAuthorizationToken at a time per region: concurrent requests wait for the same answer. */
  private fetch(region: string): Promise<Token> {
    let p = this.pending.get(region);
    if (!p) {
      p = this.ask(region).finally(() => this.pending.delete(region));
      this.pending.set(region, p);
    }
    return p;
  }

  private async ask(region: string): Promise<Token> {
    const [client, { GetAuthorizationTokenCommand }] = await Promise.all([this.client(region), import('@aws-sdk/client-ecr')]);
    const r = await client.send(new GetAuthorizationTokenCommand({}));
    const data = r.authorizationData?.[0];
    const decoded = data?.authorizationToken ? Buffer.from(data.authorizationToken, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon <= 0 || colon === decoded.length - 1) throw new Error(`ECR (${region}) answered GetAuthorizationToken without a token`);
    const expiresAt = data!.expiresAt ? new Date(data!.expiresAt).getTime() : this.now() + UNDATED_TOKEN_MS;
    const token: Token = {
      credentials: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) },
      refreshAt: expiresAt - REFRESH_BEFORE_MS,
    };
    this.tokens.set(region, token);
    return token;
  }

  private client(region: string): Promise<ECRClient> {
    let c = this.clients.get(region);
    if (!c) {
      c = this.options.client
        ? Promise.resolve(this.options.client(region))
        : import('@aws-sdk/client-ecr').then(({ ECRClient }) => traced(new ECRClient({ region })));
      this.clients.set(region, c);
    }
    return c;
  }
}
