/**
 * The Datadog sites (the "site parameter" of Datadog's documented sites): the clients build
 * `https://api.<site>` (metrics) and `https://http-intake.logs.<site>` (logs) from one of these, so no
 * other host is ever called with a tenant's Datadog key.
 */
export const DATADOG_SITES = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'ddog-gov.com',
] as const;
export type DatadogSite = (typeof DATADOG_SITES)[number];
