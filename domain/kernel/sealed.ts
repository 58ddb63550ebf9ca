/**
 * A tenant secret as the table keeps it (a webhook gate's secret, a Slack webhook): sealed with the
 * deployment's key (functions/adapters/secret-box.ts) where it is written, and carried sealed through
 * the store and the domain. The type is opaque, not a string: the compiler refuses to send it (an HMAC
 * key, a URL to fetch), to show it, or to compare it with a plain value. Only the adapters that use the
 * secret (the webhook-gate caller, the Slack sender) open it, so only their functions hold the key.
 */
declare const sealed: unique symbol;
export interface Sealed {
  readonly [sealed]: 'a sealed tenant secret: opened only by the adapter that uses it';
}

/** Seals a secret given in a write (environment create/update, manifest apply, notification settings): composed only where one is written. */
export interface Sealer {
  seal(plain: string): Promise<Sealed>;
  /** Opens a stored value only to compare it with one given again (the same value is kept sealed as it is: no new version). */
  same(stored: Sealed, plain: string): Promise<boolean>;
}
