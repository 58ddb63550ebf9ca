import * as z from './zod.ts';

/** The shape of an IANA time-zone name (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5, UTC): stated in the document as a pattern. */
export const TIME_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/;

/** Whether the runtime knows the zone (Intl's IANA database, its aliases included). */
export const knownTimeZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** An IANA time zone, in start windows and freeze windows alike: the name's shape (the pattern), then the runtime's zone database. */
export const timeZone = /* @__PURE__ */ z.schema(() =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(64),
      z.regex(TIME_ZONE_NAME, 'must be an IANA time zone, e.g. Europe/Berlin'),
      z.refine(knownTimeZone, { message: 'must be an IANA time zone the zone database knows, e.g. Europe/Berlin' }),
      z.describe("An IANA time zone (the zone database's names and aliases), e.g. Europe/Berlin or UTC"),
    ),
);
