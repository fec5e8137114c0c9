import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tick } from '../../test/fixtures/ticks.ts';
import { localToUtcMs, sessionOf, type SessionRules } from './calendar.ts';
import { Gate } from './gate.ts';
import { parseSuite } from './suite.ts';

const us = (iso: string) => Date.parse(iso) * 1000;

const SUITE = parseSuite(
  `suite: hours
version: 1
expectations:
  - type: trading_hours
    exchanges:
      XNYS:
        timezone: America/New_York
        open: "09:30"
        close: "16:00"
        holidays: ["2026-12-25"]
        early_closes: { "2026-12-24": "13:00" }
      XLON: { timezone: Europe/London, open: "08:00", close: "16:30" }
      XASX: { timezone: Australia/Sydney, open: "10:00", close: "16:00" }
    symbols:
      XNYS: [AAPL, VOD.L]
      XLON: ['^[A-Z]{2,4}\\.L$']
      XASX: ['^[A-Z]{3}\\.AX$']
`,
  'hours.yaml',
);

/** The instants of `rows` (symbol, ISO time) that fail, as ISO strings. */
function failing(rows: Array<[string, string]>): string[] {
  const r = new Gate(SUITE).evaluate(rows.map(([symbol, iso], i) => tick({ symbol, ts: us(iso), recvTs: us(iso), seq: i })));
  return r.failed.map((t) => new Date(t.ts / 1000).toISOString());
}

describe('trading_hours', () => {
  test('New York session in UTC moves by an hour across the March DST change', () => {
    const rows: Array<[string, string]> = [
      // Friday 2026-03-06, EST (UTC-5): 14:30Z–21:00Z.
      ['AAPL', '2026-03-06T14:29:59.000Z'],
      ['AAPL', '2026-03-06T14:30:00.000Z'],
      ['AAPL', '2026-03-06T20:59:59.999Z'],
      ['AAPL', '2026-03-06T21:00:00.000Z'],
      // Monday 2026-03-09, EDT (UTC-4) since Sunday: 13:30Z–20:00Z.
      ['AAPL', '2026-03-09T13:29:59.000Z'],
      ['AAPL', '2026-03-09T13:30:00.000Z'],
      ['AAPL', '2026-03-09T19:59:59.999Z'],
      ['AAPL', '2026-03-09T20:00:00.000Z'],
      ['AAPL', '2026-03-09T20:30:00.000Z'],
    ];
    assert.deepEqual(failing(rows), [
      '2026-03-06T14:29:59.000Z', '2026-03-06T21:00:00.000Z',
      '2026-03-09T13:29:59.000Z', '2026-03-09T20:00:00.000Z', '2026-03-09T20:30:00.000Z',
    ]);
  });

  test('and back in November', () => {
    assert.deepEqual(failing([
      ['AAPL', '2026-10-30T13:30:00.000Z'], // Friday, EDT: open
      ['AAPL', '2026-11-02T13:30:00.000Z'], // Monday, EST: 08:30, closed
      ['AAPL', '2026-11-02T14:30:00.000Z'],
    ]), ['2026-11-02T13:30:00.000Z']);
  });

  test('weekends, holidays and early closes', () => {
    const gate = new Gate(SUITE);
    const rows = [
      '2026-03-07T15:00:00.000Z', // Saturday
      '2026-12-25T15:00:00.000Z', // Christmas, a Friday
      '2026-12-24T17:59:00.000Z', // 12:59 on an early-close day: open
      '2026-12-24T18:00:00.000Z', // 13:00: closed
      '2026-12-23T18:00:00.000Z', // a normal day: open
    ].map((iso, i) => tick({ symbol: 'AAPL', ts: us(iso), recvTs: us(iso), seq: i }));
    const r = gate.evaluate(rows);
    assert.deepEqual(r.failed.map((t) => t.seq), [0, 1, 3]);
    assert.deepEqual(r.failures.map((f) => f[0]!.threshold), [
      '09:30–16:00 America/New_York; XNYS closed on 2026-03-07 (sat)',
      '09:30–16:00 America/New_York; XNYS closed on 2026-12-25 (holiday)',
      '09:30–16:00 America/New_York; early close 13:00 on 2026-12-24',
    ]);
    assert.deepEqual([r.failures[0]![0]!.column, r.failures[0]![0]!.observed], ['ts', '2026-03-07T15:00:00.000000Z']);
  });

  test('symbols: exact entries win over patterns; unmapped symbols are not evaluated', () => {
    const at = '2026-03-04T17:00:00.000Z'; // 12:00 New York, 17:00 London (closed), 04:00 Sydney (closed)
    const gate = new Gate(SUITE);
    const rows = ['VOD.L', 'BP.L', 'BTC-USD', 'AAPL', 'BHP.AX', 'MSFT'].map((symbol, i) => tick({ symbol, ts: us(at), recvTs: us(at), seq: i }));
    const r = gate.evaluate(rows);
    assert.deepEqual(r.failed.map((t) => t.symbol), ['BP.L', 'BHP.AX']);
    assert.equal(r.expectations[0]!.evaluated, 4);
  });

  test('a session that spans UTC midnight (Sydney, UTC+11 in March)', () => {
    assert.deepEqual(failing([
      ['BHP.AX', '2026-03-03T22:59:00.000Z'], // Wednesday 09:59 in Sydney
      ['BHP.AX', '2026-03-03T23:00:00.000Z'], // 10:00
      ['BHP.AX', '2026-03-04T04:59:00.000Z'], // 15:59
      ['BHP.AX', '2026-03-04T05:00:00.000Z'], // 16:00
      ['BHP.AX', '2026-03-07T01:00:00.000Z'], // Saturday 12:00
    ]), ['2026-03-03T22:59:00.000Z', '2026-03-04T05:00:00.000Z', '2026-03-07T01:00:00.000Z']);
  });

  test('London changes to summer time on its own date (29 March), not New York\'s', () => {
    assert.deepEqual(failing([
      ['BP.L', '2026-03-27T07:59:00.000Z'], // Friday, GMT: 07:59, closed
      ['BP.L', '2026-03-27T08:00:00.000Z'],
      ['BP.L', '2026-03-30T07:00:00.000Z'], // Monday, BST: 08:00, open
      ['BP.L', '2026-03-30T15:30:00.000Z'], // 16:30 BST: closed
    ]), ['2026-03-27T07:59:00.000Z', '2026-03-30T15:30:00.000Z']);
  });
});

describe('calendar', () => {
  const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

  test('local wall times to UTC, including a time skipped by the spring-forward', () => {
    assert.equal(new Date(localToUtcMs('America/New_York', day('2026-03-08'), 1 * 60 + 30)).toISOString(), '2026-03-08T06:30:00.000Z');
    // 02:30 does not exist on 2026-03-08 in New York: it lands an hour later, at 03:30 EDT.
    assert.equal(new Date(localToUtcMs('America/New_York', day('2026-03-08'), 2 * 60 + 30)).toISOString(), '2026-03-08T07:30:00.000Z');
    assert.equal(new Date(localToUtcMs('America/New_York', day('2026-03-08'), 6 * 60)).toISOString(), '2026-03-08T10:00:00.000Z');
    assert.equal(new Date(localToUtcMs('Asia/Kolkata', day('2026-03-08'), 9 * 60)).toISOString(), '2026-03-08T03:30:00.000Z');
  });

  test('sessionOf honours days, holidays and early closes', () => {
    const rules: SessionRules = {
      timezone: 'America/New_York', open: 570, close: 960, days: new Set(['mon', 'tue', 'wed', 'thu', 'fri']),
      holidays: new Set(['2026-12-25']), earlyCloses: new Map([['2026-12-24', 780]]),
    };
    assert.equal(sessionOf(rules, day('2026-12-25')), null);
    assert.equal(sessionOf(rules, day('2026-12-26')), null);
    assert.deepEqual(sessionOf(rules, day('2026-12-24'))?.map((x) => new Date(x / 1000).toISOString()), ['2026-12-24T14:30:00.000Z', '2026-12-24T18:00:00.000Z']);
  });
});
