/** A federated sign-in refused: the message says why (locally a page shows it; on AWS the trigger's throw fails the sign-in). */
export class FederationRefused extends Error {
  override readonly name = 'FederationRefused';
}
