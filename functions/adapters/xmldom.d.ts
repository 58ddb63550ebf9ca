/**
 * What the SAML metadata check uses of @xmldom/xmldom (functions/adapters/federation.ts), imported through its main file:
 * the package's own types reference the DOM library, which would change the whole program's `Headers`, `NodeList` and
 * `RequestInit` to the browser's.
 */
declare module '@xmldom/xmldom/lib/index.js' {
  interface XmlElement {
    localName: string;
    namespaceURI: string | null;
    textContent: string | null;
    getAttribute(name: string): string | null;
    getElementsByTagNameNS(ns: string, name: string): ArrayLike<XmlElement>;
  }
  export class DOMParser {
    constructor(opts?: { errorHandler?: (level: string, msg: string) => void });
    parseFromString(xml: string, mime: string): { documentElement: XmlElement | null } | undefined;
  }
}
