import type { CheckedProvider, IdentityProviderConnection, IdentityProviders } from '#domain/access/federation';
import { ValidationFailed } from '#domain/kernel/errors';
import { guardedFetch, OutboundRefused, readLimited } from './outbound.ts';

/** The most a metadata or discovery document may weigh (an Entra ID federation metadata document is ~60 KB). */
const METADATA_MAX_BYTES = 512 * 1024;

/** A fetch init's headers as guardedFetch takes them. */
export const headersOf = (h: RequestInit['headers']) => {
  const out: Record<string, string> = {};
  new Headers(h).forEach((v, k) => (out[k] = v));
  return out;
};

const refuse = (path: string, message: string): never => {
  throw new ValidationFailed([{ path, message }]);
};

/** Why an outbound read failed, in words for the admin (the class of address, never the address). */
const reason = (err: unknown) =>
  err instanceof OutboundRefused
    ? err.message
    : err instanceof Error && err.name === 'TimeoutError'
      ? 'it did not answer within 10 s'
      : 'it could not be reached';

/**
 * Reads an OIDC issuer's discovery document through the outbound rules (public addresses only after
 * DNS, no redirects) with oauth4webapi's discovery, which checks that the document names this issuer.
 */
export async function discoverOidc(issuer: string) {
  const oauth = await import('oauth4webapi');
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return refuse('body.oidc.issuer', 'must be a URL');
  }
  let res: Response;
  try {
    res = await oauth.discoveryRequest(url, {
      algorithm: 'oidc',
      [oauth.customFetch]: (input: string, init: RequestInit) => guardedFetch(input, { method: init.method, headers: headersOf(init.headers) }),
      [oauth.allowInsecureRequests]: url.protocol === 'http:',
    });
  } catch (err) {
    return refuse('body.oidc.issuer', `the discovery document ${issuer}/.well-known/openid-configuration could not be read: ${reason(err)}`);
  }
  if (res.status !== 200) return refuse('body.oidc.issuer', `the discovery document answered ${res.status}, not 200: is this the issuer URL?`);
  try {
    // Bounded: the body is read once, at most METADATA_MAX_BYTES.
    const text = await readLimited(res, METADATA_MAX_BYTES);
    const as = await oauth.processDiscoveryResponse(url, new Response(text, { status: 200, headers: { 'content-type': 'application/json' } }));
    if (!as.authorization_endpoint || !as.token_endpoint || !as.jwks_uri)
      return refuse('body.oidc.issuer', 'the discovery document names no authorization_endpoint, token_endpoint or jwks_uri');
    return as;
  } catch (err) {
    if (err instanceof ValidationFailed) throw err;
    return refuse('body.oidc.issuer', `the discovery document is not one of this issuer: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** What a SAML IdP's metadata says: its entity id, its single sign-on URL (HTTP-Redirect or HTTP-POST) and signing certificates. */
export async function parseSamlMetadata(xml: string, path: string): Promise<{ entityId: string; ssoUrl: string; certificates: string[] }> {
  const { DOMParser } = await import('@xmldom/xmldom/lib/index.js');
  let problem: string | null = null;
  const doc = new DOMParser({
    errorHandler: (level: string, msg: string) => {
      if (level !== 'warning') problem ??= msg;
    },
  }).parseFromString(xml, 'text/xml');
  if (problem || !doc?.documentElement) return refuse(path, `is not an XML document: ${String(problem ?? 'empty').split('\n')[0]}`);
  const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
  const root = doc.documentElement;
  const entity = root.localName === 'EntityDescriptor' && root.namespaceURI === MD ? root : null;
  if (!entity) return refuse(path, 'is not SAML 2.0 metadata: the document element must be an md:EntityDescriptor');
  const entityId = entity.getAttribute('entityID') ?? '';
  if (!entityId) return refuse(path, 'names no entityID');
  const idp = entity.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  if (!idp) return refuse(path, 'has no IDPSSODescriptor: this is not an identity provider’s metadata');
  const sso = Array.from(idp.getElementsByTagNameNS(MD, 'SingleSignOnService'));
  const pick =
    sso.find((s) => s.getAttribute('Binding') === 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect') ??
    sso.find((s) => s.getAttribute('Binding') === 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
  const ssoUrl = pick?.getAttribute('Location') ?? '';
  if (!ssoUrl) return refuse(path, 'names no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding');
  const certificates = Array.from(idp.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate'))
    .map((c) => (c.textContent ?? '').replace(/\s+/g, ''))
    .filter(Boolean);
  if (!certificates.length) return refuse(path, 'has no signing certificate (KeyDescriptor X509Certificate): responses could not be verified');
  return { entityId, ssoUrl, certificates };
}

/** Reads SAML metadata from its URL through the outbound rules. */
export async function fetchSamlMetadata(url: string): Promise<string> {
  let res: Response;
  try {
    res = await guardedFetch(url, { headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
  } catch (err) {
    return refuse('body.saml.metadataUrl', `could not be read: ${reason(err)}`);
  }
  if (res.status >= 300 && res.status < 400) return refuse('body.saml.metadataUrl', `answered a redirect (${res.status}): give the URL it redirects to`);
  if (res.status !== 200) return refuse('body.saml.metadataUrl', `answered ${res.status}, not 200`);
  try {
    return await readLimited(res, METADATA_MAX_BYTES);
  } catch (err) {
    return refuse('body.saml.metadataUrl', `could not be read: ${reason(err)}`);
  }
}

/** The checks every mode runs at save (the metadata read through the outbound rules). */
export async function checkProvider(conn: Parameters<IdentityProviders['check']>[0]): Promise<CheckedProvider> {
  if (conn.kind === 'oidc') {
    await discoverOidc(conn.oidc!.issuer);
    return {};
  }
  const fromUrl = conn.saml?.metadataUrl;
  const xml = fromUrl ? await fetchSamlMetadata(fromUrl) : conn.saml!.metadataXml!;
  const meta = await parseSamlMetadata(xml, fromUrl ? 'body.saml.metadataUrl' : 'body.saml.metadataXml');
  return { saml: { metadataXml: xml, entityId: meta.entityId, ssoUrl: meta.ssoUrl } };
}

/** Locally there is no user pool: the local issuer reads the connection itself (local/federation.ts). */
export const localIdentityProviders: IdentityProviders = {
  check: checkProvider,
  async sync(_conn: IdentityProviderConnection) {},
  async remove(_conn: IdentityProviderConnection) {},
};
