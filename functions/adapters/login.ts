import * as env from '../configuration.ts';
/**
 * Where people sign in (OAuth 2.0 authorization code + PKCE): on AWS the user pool's domain
 * (LOGIN_DOMAIN_URL, Cognito's /oauth2/authorize, /oauth2/token, /logout) with the stack's public app
 * client (JWT_AUDIENCE) and the pool as issuer (JWT_ISSUER); locally, when LOGIN_DOMAIN_URL is not
 * set, the local stack's stand-in at /dev/oauth2/… of the address the caller reached (local/oauth.ts),
 * with the local issuer's names. The console and the CLI read this once and take the same code path.
 */
export interface LoginConfig {
  issuer: string;
  clientId: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  logoutEndpoint: string;
  scopes: string[];
  /** the loopback redirect a CLI listens on (registered with the app client on AWS) */
  cliRedirectUri: string;
  /** how ID tokens are signed: RS256 by Cognito, ES256 by the local issuer */
  idTokenSigningAlg: 'RS256' | 'ES256';
  /**
   * Whether the console takes a token handed over in its address (`#token=…`, the local tokens file and
   * automation): on the local stack only (its gateway answers loopback alone). Never on AWS: a link to
   * the console carrying someone's token would sign whoever opens it in as that someone (login CSRF);
   * there only the authorization code flow (with the state the console itself keeps) signs in.
   */
  fragmentSignIn: boolean;
}

/** The loopback address `stageline login` listens on for the code (a fixed port: Cognito matches callback URLs exactly). */
export const CLI_REDIRECT_URI = 'http://localhost:53682/callback';

/** The local issuer's names (local/issuer.ts defaults). */
const LOCAL = { issuer: 'https://stageline.local/issuer', clientId: 'stageline-local' };

export function loginConfig(origin: string): LoginConfig {
  const domain = env.LOGIN_DOMAIN_URL()?.replace(/\/$/, '');
  if (domain) {
    return {
      issuer: env.JWT_ISSUER() ?? '',
      clientId: env.JWT_AUDIENCE() ?? '',
      authorizationEndpoint: `${domain}/oauth2/authorize`,
      tokenEndpoint: `${domain}/oauth2/token`,
      logoutEndpoint: `${domain}/logout`,
      scopes: ['openid', 'email', 'profile'],
      cliRedirectUri: CLI_REDIRECT_URI,
      idTokenSigningAlg: 'RS256',
      fragmentSignIn: false,
    };
  }
  return {
    ...LOCAL,
    authorizationEndpoint: `${origin}/dev/oauth2/authorize`,
    tokenEndpoint: `${origin}/dev/oauth2/token`,
    logoutEndpoint: `${origin}/dev/logout`,
    scopes: ['openid', 'email', 'profile'],
    cliRedirectUri: CLI_REDIRECT_URI,
    idTokenSigningAlg: 'ES256',
    fragmentSignIn: true,
  };
}

/** The sign-in domain's origin on AWS (the console's token call goes there: its CSP allows it); null locally (same origin). */
export function loginOrigin(): string | null {
  const domain = env.LOGIN_DOMAIN_URL();
  return domain ? new URL(domain).origin : null;
}
