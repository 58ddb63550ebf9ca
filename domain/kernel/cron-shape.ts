/**
 * Whether text is a cron expression at all, before any parser reads it: five fields (minute hour
 * day-of-month month day-of-week), each of cron's characters and of the names cron takes in that field.
 * Every cron a tenant writes (a recurring promotion's calendar, a freeze window's start and end) is
 * checked here first, so prose ("not a cron at all", "every day at nine") is told what to write, never
 * something about a field it never meant (a day of the month).
 */

const FIELDS = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
const FIELD_CHARS = /^[0-9A-Za-z*?,/#-]+$/;
/** The words each field may hold: month and weekday names, and L / W (last, weekday) where cron-parser takes them. */
const WORDS: Record<(typeof FIELDS)[number], RegExp> = {
  minute: /^$/,
  hour: /^$/,
  'day-of-month': /^(L|W|LW)$/i,
  month: /^(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)$/i,
  'day-of-week': /^(SUN|MON|TUE|WED|THU|FRI|SAT|L)$/i,
};

/** What every refusal of text that is not a cron expression says to write. */
export const CRON_SHAPE = `expected a cron expression of 5 fields (minute hour day-of-month month day-of-week) like '0 9 * * 1-5' (weekdays at 09:00)`;

/** Why `text` is not a cron expression (a message for the field), or null when it has cron's shape (a parser then decides). */
export function notACron(text: string): string | null {
  const fields = text.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `is not a cron expression: it has ${fields.length} field${fields.length === 1 ? '' : 's'}; ${CRON_SHAPE}`;
  for (const [i, name] of FIELDS.entries()) {
    const value = fields[i]!;
    const words = value.match(/[A-Za-z]+/g) ?? [];
    const bad = words.find((w) => !WORDS[name].test(w));
    if (!FIELD_CHARS.test(value) || bad !== undefined || !/[0-9*?A-Za-z]/.test(value))
      return `is not a cron expression: its ${name} field '${value}' is not one (numbers, *, ranges a-b, lists a,b and steps */n${
        name === 'month' || name === 'day-of-week' ? `, or ${name === 'month' ? 'month' : 'weekday'} names` : ''
      }); ${CRON_SHAPE}`;
  }
  return null;
}
