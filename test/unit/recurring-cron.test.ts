import { describe, expect, it } from 'vitest';
import { awsCronExpression, checkCalendar, MIN_INTERVAL_SECONDS } from '../../domain/promotion/run/recurring-cron.ts';

const NOW = new Date('2026-11-25T12:00:00Z');
const issues = async (cron: string, tz = 'Europe/Berlin') => (await checkCalendar(cron, tz, NOW)).issues.map((i) => `${i.path}: ${i.message}`);

describe('recurring promotions: the calendar (cron in a time zone)', () => {
  it('takes weekday mornings in Berlin and answers the next times in UTC, across the change to summer time', async () => {
    const c = await checkCalendar('0 9 * * 1-5', 'Europe/Berlin', NOW);
    expect(c.issues).toEqual([]);
    expect(c.next).toEqual([
      '2026-11-26T08:00:00.000Z',
      '2026-11-27T08:00:00.000Z',
      '2026-11-30T08:00:00.000Z',
      '2026-12-01T08:00:00.000Z',
      '2026-12-02T08:00:00.000Z',
    ]);
    const spring = await checkCalendar('0 9 * * 1-5', 'Europe/Berlin', new Date('2027-03-26T12:00:00Z'));
    // Friday 26 March in winter time, Monday 29 March in summer time: 09:00 in Berlin both days.
    expect(spring.next.slice(0, 2)).toEqual(['2027-03-29T07:00:00.000Z', '2027-03-30T07:00:00.000Z']);
  });

  it('refuses what is not a 5-field cron expression, naming body.cron', async () => {
    const shape = "expected a cron expression of 5 fields (minute hour day-of-month month day-of-week) like '0 9 * * 1-5'";
    expect(await issues('0 9 * *')).toEqual([expect.stringMatching(/^body\.cron: is not a cron expression: it has 4 fields; /)]);
    expect((await issues('0 9 * *'))[0]).toContain(shape);
    expect(await issues('0 9 * * * 2027')).toEqual([expect.stringMatching(/^body\.cron: is not a cron expression: it has 6 fields; /)]);
    expect(await issues('0 9 * * $')).toEqual([expect.stringMatching(/^body\.cron: is not a cron expression: its day-of-week field '\$'/)]);
    expect((await issues('hello'))[0]).toContain(shape);
    expect(await issues('61 9 * * *')).toEqual([expect.stringMatching(/^body\.cron: is not a cron expression cron-parser takes/)]);
    expect(await issues('0 9 * * mon-fry')).toEqual([expect.stringMatching(/^body\.cron: is not a cron expression: its day-of-week field 'mon-fry'/)]);
    // Prose of five words is no cron, and is told so (not that it restricts both day fields).
    expect(await issues('not a cron at all')).toEqual([expect.stringMatching(/^body\.cron: is not a cron expression: its minute field 'not'/)]);
    expect(await issues('0 9 L * *')).toEqual([]);
    expect(await issues('0 9 * JAN-MAR MON')).toEqual([]);
  });

  it('refuses a calendar that never fires', async () => {
    expect(await issues('0 9 30 2 *')).toEqual([expect.stringMatching(/^body\.cron: never fires/)]);
    expect(await issues('0 9 31 4 *')).toEqual([expect.stringMatching(/^body\.cron: never fires/)]);
    // A leap day fires, every four years.
    expect(await issues('0 9 29 2 *')).toEqual([]);
  });

  it(`refuses one that fires more often than every ${MIN_INTERVAL_SECONDS / 60} minutes, wherever in its day the short interval is`, async () => {
    expect(await issues('*/5 * * * *')).toEqual([]);
    expect(await issues('*/4 * * * *')).toEqual([expect.stringContaining('fires more often than every 5 minutes (240 s between')]);
    expect(await issues('* * * * *')).toEqual([expect.stringContaining('(60 s between')]);
    expect(await issues('0,2 9 * * 1-5')).toEqual([expect.stringContaining('(120 s between')]);
    // Across midnight: 23:58 then 00:00.
    expect(await issues('0,58 0,23 * * *', 'UTC')).toEqual([expect.stringContaining('(120 s between 2026-11-25T23:58:00.000Z and 2026-11-26T00:00:00.000Z)')]);
    expect(await issues('0 9,17 * * *')).toEqual([]);
  });

  it('refuses both day fields restricted (cron ORs them; EventBridge Scheduler takes one)', async () => {
    expect(await issues('0 9 1 * 1')).toEqual([expect.stringContaining("restricts both the day of the month ('1') and the day of the week ('1')")]);
  });

  it('is written for EventBridge Scheduler: six fields, one day field ?, Sunday = 1, a * step from the first value', () => {
    expect(awsCronExpression('0 9 * * 1-5')).toBe('cron(0 9 ? * 2-6 *)');
    expect(awsCronExpression('0 9 * * *')).toBe('cron(0 9 * * ? *)');
    expect(awsCronExpression('30 6 1 * *')).toBe('cron(30 6 1 * ? *)');
    expect(awsCronExpression('*/15 */2 * * *')).toBe('cron(0/15 0/2 * * ? *)');
    expect(awsCronExpression('0 9 * * 0')).toBe('cron(0 9 ? * 1 *)');
    expect(awsCronExpression('0 9 * * 7')).toBe('cron(0 9 ? * 1 *)');
    expect(awsCronExpression('0 9 * * 1,3,5')).toBe('cron(0 9 ? * 2,4,6 *)');
    expect(awsCronExpression('0 9 * * mon-fri')).toBe('cron(0 9 ? * MON-FRI *)');
    expect(awsCronExpression('0 9 * * 5-7')).toBe('cron(0 9 ? * 6-7,1 *)');
    expect(awsCronExpression('0 9 * * 0-6')).toBe('cron(0 9 ? * 1-7 *)');
    expect(awsCronExpression('0 9 * * 1#2')).toBe('cron(0 9 ? * 2#2 *)');
    expect(awsCronExpression('0 9 * * 5L')).toBe('cron(0 9 ? * 6L *)');
    expect(awsCronExpression('0 9 L * *')).toBe('cron(0 9 L * ? *)');
    expect(awsCronExpression('0 9 1 jan *')).toBe('cron(0 9 1 JAN ? *)');
  });
});
