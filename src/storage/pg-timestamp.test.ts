import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { pgAvailable, TEST_PG_URL } from '../../test/databases.js';
import { pgTimestamp } from './pg-timestamp.js';

const viaDate = (v: string): string => new Date(v).toISOString();
/** What a parser gives, or that it throws (Date cannot read an offset with seconds, as old local times have). */
const outcome = (parse: (v: string) => string, v: string): string => {
  try {
    return parse(v);
  } catch (err) {
    return `throws ${(err as Error).name}`;
  }
};

describe('pgTimestamp', () => {
  it('gives what Date gives for the forms PostgreSQL writes', () => {
    for (const v of [
      '2026-10-02 00:00:00+00',
      '2026-10-02 00:00:00.5+00',
      '2026-10-02 00:00:00.12+00',
      '2026-10-02 00:00:00.123+00',
      '2026-10-02 00:00:00.1234+00',
      '2026-10-02 23:59:59.9995+00',
      '2026-10-02 00:00:00.999999+00',
      '1000-01-01 00:00:00+00',
      '9999-12-31 23:59:59.999999+00',
      // Not rearranged: Date reads these its own way (a year below 1000, another zone).
      '0999-01-01 00:00:00+00',
      '0099-01-01 00:00:00+00',
      '2026-10-02 00:00:00+05:30',
      '2026-10-02 00:00:00.25-08',
      '2026-10-02 00:00:00+01',
    ])
      expect(pgTimestamp(v), v).toBe(viaDate(v));
  });
});

// PostgreSQL's own text of timestamps across the years, with microseconds, in two session time
// zones: each read as Date reads it.
describe.skipIf(!pgAvailable)('pgTimestamp on PostgreSQL text', () => {
  it('gives what Date gives for 20,000 timestamps', async () => {
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    try {
      for (const zone of ['UTC', 'Asia/Kolkata']) {
        await c.query(`set time zone '${zone}'`);
        const { rows } = await c.query<{ t: string }>(
          // Years 1000 to ~6000; every fifth on a whole second, the others with 1 to 6 digits of fraction.
          `select (timestamptz '1000-01-01 00:00:00+00' + i * interval '15773900 seconds'
                   + case when i % 5 = 0 then 0 else i * 0.000173 end * interval '1 second')::text as t
             from generate_series(0, 9999) i`,
        );
        expect(rows.length).toBe(10_000);
        let rearranged = 0;
        for (const { t } of rows) {
          expect(outcome(pgTimestamp, t), t).toBe(outcome(viaDate, t));
          if (t.endsWith('+00')) rearranged++;
        }
        expect(rearranged).toBe(zone === 'UTC' ? 10_000 : 0);
      }
    } finally {
      await c.end();
    }
  });
});
