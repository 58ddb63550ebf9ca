import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { claimsFor, tokenGroups, type GroupMapEntry } from '../domain/access/group-mapping.ts';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';

/**
 * A local token issuer standing in for Cognito: it signs Cognito-shaped ID
 * tokens (sub, email, custom:tenant_id, cognito:groups) and verifies them the
 * way API Gateway's JWT authorizer does (signature against the JWKS, issuer,
 * audience, expiry).
 */
export interface DemoUser {
  sub: string;
  email: string;
  tenant: string;
  groups: string[];
  /**
   * The raw groups an identity provider sent for a federated user (`custom:idp_groups`): the token's
   * `cognito:groups` are then what the tenant's group mapping makes of them (claimsFor), as the
   * pre-token-generation trigger does on AWS, and `groups` is not used.
   */
  idpGroups?: string[];
}

export class LocalIssuer {
  private constructor(
    private readonly privateJwk: JWK,
    readonly jwks: JSONWebKeySet,
    readonly issuer: string,
    readonly audience: string,
  ) {}

  /** Keys are generated on first start and kept in `file` (if given) so tokens survive restarts. */
  static async create(opts: { file?: string; issuer?: string; audience?: string } = {}): Promise<LocalIssuer> {
    const issuer = opts.issuer ?? 'https://stageline.local/issuer';
    const audience = opts.audience ?? 'stageline-local';
    if (opts.file && existsSync(opts.file)) {
      const saved = JSON.parse(readFileSync(opts.file, 'utf8')) as { privateJwk: JWK; publicJwk: JWK };
      return new LocalIssuer(saved.privateJwk, { keys: [saved.publicJwk] }, issuer, audience);
    }
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = `local-${Date.now().toString(36)}`;
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    if (opts.file) {
      mkdirSync(dirname(opts.file), { recursive: true });
      writeFileSync(opts.file, JSON.stringify({ privateJwk, publicJwk }), { mode: 0o600 });
    }
    return new LocalIssuer(privateJwk, { keys: [publicJwk] }, issuer, audience);
  }

  /** told about every user a token is signed for (the local directory) */
  onSign?: (user: DemoUser) => void;
  /** the tenant's group mapping, read when a token is signed for a user with IdP groups (the local stack reads the table) */
  groupMapping?: (tenant: string) => Promise<readonly GroupMapEntry[]>;

  /** The token's groups: for a user with IdP groups, what the tenant's mapping makes of them now (nothing unmapped); else the user's groups. */
  async groupsOf(user: DemoUser): Promise<string[]> {
    if (user.idpGroups === undefined) return user.groups;
    return tokenGroups(claimsFor((await this.groupMapping?.(user.tenant)) ?? [], user.idpGroups));
  }

  async sign(user: DemoUser, opts: { expiresIn?: string; audience?: string; issuer?: string; claims?: Record<string, string> } = {}): Promise<string> {
    this.onSign?.(user);
    const key = await importJWK(this.privateJwk, 'ES256');
    const groups = await this.groupsOf(user);
    // Extra claims (a federated sign-in's custom:idp_groups) never override who the token is for.
    return new SignJWT({ ...opts.claims, email: user.email, 'custom:tenant_id': user.tenant, 'cognito:groups': groups, token_use: 'id' })
      .setProtectedHeader({ alg: 'ES256', kid: this.privateJwk.kid })
      .setSubject(user.sub)
      .setIssuer(opts.issuer ?? this.issuer)
      .setAudience(opts.audience ?? this.audience)
      .setIssuedAt()
      .setExpirationTime(opts.expiresIn ?? '12h')
      .sign(key);
  }

  /** What API Gateway's JWT authorizer checks; throws on any failure. */
  async verify(token: string): Promise<JWTPayload> {
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(this.jwks), {
      issuer: this.issuer,
      audience: this.audience,
      algorithms: ['ES256', 'RS256'],
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    // API Gateway's JWT authorizer selects the key by kid and refuses a token without one.
    if (!protectedHeader.kid) throw new Error('token has no kid');
    return payload;
  }
}

export const DEMO_USERS: Record<string, DemoUser> = {
  alice: { sub: 'u-alice', email: 'alice@acme.example', tenant: 'acme', groups: ['admin'] },
  bob: { sub: 'u-bob', email: 'bob@acme.example', tenant: 'acme', groups: ['deployer'] },
  carol: { sub: 'u-carol', email: 'carol@acme.example', tenant: 'acme', groups: ['approver'] },
  dave: { sub: 'u-dave', email: 'dave@acme.example', tenant: 'acme', groups: ['approver'] },
  victor: { sub: 'u-victor', email: 'victor@acme.example', tenant: 'acme', groups: ['viewer'] },
  eve: { sub: 'u-eve', email: 'eve@globex.example', tenant: 'globex', groups: ['admin'] },
  /** a platform operator: creates tenants and their first admins (POST /api/v1/tenants) */
  /** a user of acme's identity provider (federated): her roles come from acme's group mapping of 'Payments Engineers' */
  fiona: { sub: 'u-fiona', email: 'fiona@acme.example', tenant: 'acme', groups: [], idpGroups: ['Payments Engineers'] },
  pat: { sub: 'u-pat', email: 'pat@platform.example', tenant: 'platform', groups: ['admin', 'platform-admin'] },
};
