import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tick } from '../../test/fixtures/ticks.ts';
import type { Tick } from '../core/tick.ts';
import { Gate, type GateResult } from './gate.ts';
import { parseSuite, type Suite } from './suite.ts';

/** 2026-03-04, a Wednesday, 15:00 UTC = 10:00 in New York: inside the NYSE session. */
const T0 = Date.UTC(2026, 2, 4, 15) * 1000;
const S = 1_000_000;

function suiteOf(expectations: string): Suite {
  return parseSuite(`suite: t\nversion: 1\nexpectations:\n${expectations}`, 'inline.yaml');
}

/** A clean tick at T0 + i seconds, with a valid quote and its own seq. */
function good(i: number, over: Partial<Tick> = {}): Tick {
  return tick({ ts: T0 + i * S, recvTs: T0 + i * S + 1000, price: 100 + (i % 3) * 0.01, bid: 99.99, ask: 100.03, seq: i + 1, ...over });
}

function result(r: GateResult, name: string) {
  const e = r.expectations.find((x) => x.name === name);
  assert.ok(e, `no result for ${name}`);
  return e;
}

/**
 * One case per expectation type: a clean row, and a row that fails the expectation (for stateful types,
 * given the clean rows accepted before it in the same batch).
 */
interface TypeCase {
  type: string;
  yaml: string;
  bad(i: number): Tick;
}

const NYSE = `
    exchanges:
      XNYS: { timezone: America/New_York, open: "09:30", close: "16:00" }
    symbols:
      XNYS: [AAPL]`;

const CASES: TypeCase[] = [
  { type: 'not_null', yaml: 'column: bid', bad: (i) => good(i, { bid: null }) },
  { type: 'between', yaml: 'column: price\n    min: 0\n    strict_min: true', bad: (i) => good(i, { price: -1 }) },
  { type: 'matches_regex', yaml: "column: symbol\n    regex: '[A-Z]+'", bad: (i) => good(i, { symbol: 'aapl' }) },
  { type: 'in_set', yaml: 'column: currency\n    values: [USD]', bad: (i) => good(i, { currency: 'EUR' }) },
  // A copy of row 0 (same ts and seq): a duplicate.
  { type: 'unique', yaml: 'columns: [provider, symbol, ts, seq]\n    window: 10m', bad: () => good(0) },
  // Earlier than every clean row.
  { type: 'increasing', yaml: 'column: ts\n    by: [symbol, provider]', bad: (i) => good(i, { ts: T0 - S, recvTs: T0 - S }) },
  { type: 'max_change', yaml: 'column: price\n    by: [symbol]\n    max_pct: 20', bad: (i) => good(i, { price: 150 }) },
  { type: 'bid_le_ask', yaml: '{}', bad: (i) => good(i, { bid: 100.05, ask: 100 }) },
  { type: 'freshness', yaml: 'max_future: 5s', bad: (i) => good(i, { recvTs: T0 + i * S - 6 * S }) },
  // 13:00 UTC is 08:00 in New York: before the open.
  { type: 'trading_hours', yaml: NYSE.trimStart(), bad: (i) => good(i, { ts: T0 - 2 * 3600 * S + i, recvTs: T0 - 2 * 3600 * S + i }) },
];

/** Ten rows, rows 1..bad clean-then-bad: `bad` failing rows at positions 1, 2, ... (row 0 always clean). */
function batchWith(c: TypeCase, bad: number): Tick[] {
  return Array.from({ length: 10 }, (_, i) => (i >= 1 && i <= bad ? c.bad(i) : good(i)));
}

function yamlOf(c: TypeCase, mostly: number): string {
  const params = c.yaml === '{}' ? '' : `\n    ${c.yaml}`;
  return `  - name: check\n    type: ${c.type}\n    mostly: ${mostly}${params}\n`;
}

describe('every expectation type', () => {
  for (const c of CASES) {
    test(`${c.type}: clean rows pass, bad rows fail with a failure record`, () => {
      const clean = new Gate(suiteOf(yamlOf(c, 1))).evaluate(batchWith(c, 0));
      assert.equal(clean.passed.length, 10);
      assert.equal(clean.failed.length, 0);
      assert.equal(clean.verdict, 'PASS');
      assert.deepEqual(
        { evaluated: result(clean, 'check').evaluated, failed: result(clean, 'check').failed, success: result(clean, 'check').success },
        { evaluated: 10, failed: 0, success: true },
      );

      const batch = batchWith(c, 2);
      const r = new Gate(suiteOf(yamlOf(c, 1))).evaluate(batch);
      assert.deepEqual(r.failed, [batch[1], batch[2]]);
      assert.deepEqual(r.passed, batch.filter((_, i) => i !== 1 && i !== 2));
      assert.equal(r.failures.length, 2);
      for (const f of r.failures) {
        assert.equal(f.length, 1);
        assert.equal(f[0]!.expectation, 'check');
        assert.equal(f[0]!.type, c.type);
        assert.equal(f[0]!.action, 'quarantine');
        assert.ok(f[0]!.threshold.length > 0);
      }
      assert.equal(result(r, 'check').failed, 2);
      assert.equal(r.verdict, 'FAIL');
    });

    test(`${c.type}: mostly 0.8 succeeds with exactly 2 of 10 failing, not with 3`, () => {
      const at = new Gate(suiteOf(yamlOf(c, 0.8))).evaluate(batchWith(c, 2));
      assert.deepEqual([result(at, 'check').failed, result(at, 'check').success, at.verdict], [2, true, 'PASS']);
      // mostly never changes routing: the failing rows are quarantined all the same.
      assert.equal(at.failed.length, 2);
      const over = new Gate(suiteOf(yamlOf(c, 0.8))).evaluate(batchWith(c, 3));
      assert.deepEqual([result(over, 'check').failed, result(over, 'check').success, over.verdict], [3, false, 'FAIL']);
    });
  }
});

describe('routing and results', () => {
  const suite = suiteOf(`
  - name: price_positive
    type: between
    column: price
    min: 0
    strict_min: true
  - name: usd
    type: in_set
    column: currency
    values: [USD]
    action: warn
  - name: crossed
    type: bid_le_ask
`);

  test('warn failures route to passed and are counted; quarantine failures list warnings after them', () => {
    const batch = [good(0), good(1, { currency: 'EUR' }), good(2, { price: -1, currency: 'EUR', bid: 2, ask: 1 }), good(3)];
    const r = new Gate(suite).evaluate(batch);
    assert.deepEqual(r.passed, [batch[0], batch[1], batch[3]]);
    assert.deepEqual(r.failed, [batch[2]]);
    assert.equal(r.warned, 1);
    assert.deepEqual(r.failures[0]!.map((f) => [f.expectation, f.action]), [
      ['price_positive', 'quarantine'],
      ['crossed', 'quarantine'],
      ['usd', 'warn'],
    ]);
    assert.deepEqual(r.failures[0]![0], {
      expectation: 'price_positive', type: 'between', column: 'price', observed: -1, threshold: '> 0', action: 'quarantine',
    });
    assert.deepEqual(r.failures[0]![2]!.observed, 'EUR');
    assert.equal(r.failures[0]![2]!.threshold, 'in {USD}');
    // The warn expectation failed twice in 4 rows: reported as unsuccessful, but a warning does not
    // fail the batch; the quarantine expectations that failed do (price_positive with mostly 1).
    assert.deepEqual([result(r, 'usd').failed, result(r, 'usd').success, r.verdict], [2, false, 'FAIL']);
    const onlyWarned = new Gate(suite).evaluate([good(0), good(1, { currency: 'EUR' })]);
    assert.deepEqual([result(onlyWarned, 'usd').success, onlyWarned.verdict], [false, 'PASS']);
  });

  test('results come in suite order with their spec fields', () => {
    const r = new Gate(suite).evaluate([good(0)]);
    assert.deepEqual(r.expectations.map((e) => [e.name, e.type, e.column, e.mostly, e.action]), [
      ['price_positive', 'between', 'price', 1, 'quarantine'],
      ['usd', 'in_set', 'currency', 1, 'warn'],
      ['crossed', 'bid_le_ask', null, 1, 'quarantine'],
    ]);
  });

  test('an empty batch evaluates nothing and passes', () => {
    const r = new Gate(suite).evaluate([]);
    assert.equal(r.verdict, 'PASS');
    assert.ok(r.expectations.every((e) => e.evaluated === 0 && e.success));
  });

  test('a small batch after a large one is judged on its own rows only', () => {
    const gate = new Gate(suite);
    const big = Array.from({ length: 300 }, (_, i) => good(i, { price: -1 }));
    assert.equal(gate.evaluate(big).failed.length, 300);
    const r = gate.evaluate([good(0), good(1)]);
    assert.equal(r.failed.length, 0);
    assert.equal(result(r, 'price_positive').evaluated, 2);
  });

  test('null values are not evaluated; not_null is what catches them', () => {
    const s = suiteOf(`
  - name: bid_positive
    type: between
    column: bid
    min: 0
    strict_min: true
  - name: bid_present
    type: not_null
    column: bid
    action: warn
`);
    const r = new Gate(s).evaluate([good(0, { bid: null }), good(1, { bid: 0 }), good(2)]);
    assert.equal(result(r, 'bid_positive').evaluated, 2);
    assert.equal(result(r, 'bid_positive').failed, 1);
    assert.equal(result(r, 'bid_present').evaluated, 3);
    assert.deepEqual(r.failures[0]!.map((f) => f.expectation), ['bid_positive']);
    assert.equal(r.warned, 1);
  });

  test('a suite built in code is validated when the gate compiles it', () => {
    const bad: Suite = {
      name: 'code', version: '1', file: null,
      expectations: [{ name: 'p', type: 'between', column: 'price', mostly: 1, action: 'quarantine', params: { min: 'zero' } }],
    };
    assert.throws(() => new Gate(bad), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'TL_ERR_SUITE');
      assert.match(e.message, /suite "code": expectation "p" \(expectations\[0\]\): parameter min = "zero": must be a number/);
      return true;
    });
  });
});

describe('between, matches_regex, in_set, bid_le_ask, freshness details', () => {
  test('strict and inclusive bounds, infinities and NaN', () => {
    const s = suiteOf(`
  - name: incl
    type: between
    column: size
    min: 0
    max: 10
  - name: strict
    type: between
    column: price
    min: 1
    max: 2
    strict_min: true
    strict_max: true
`);
    const rows = [
      good(0, { size: 0, price: 1.5 }), good(1, { size: 10, price: 1.000001 }), good(2, { size: 10.5, price: 1.5 }),
      good(3, { size: 5, price: 1 }), good(4, { size: 5, price: 2 }), good(5, { size: Infinity, price: Number.NaN }),
    ];
    const r = new Gate(s).evaluate(rows);
    assert.deepEqual(r.failed.map((t) => t.seq), [3, 4, 5, 6]);
    assert.deepEqual(r.failures.map((f) => f.map((x) => x.expectation)), [['incl'], ['strict'], ['strict'], ['incl', 'strict']]);
    assert.equal(r.failures[1]![0]!.threshold, '> 1 and < 2');
    assert.equal(r.failures[0]![0]!.threshold, '≥ 0 and ≤ 10');
  });

  test('timestamp bounds are ISO 8601 and reported as such', () => {
    const s = suiteOf(`
  - type: between
    column: ts
    min: "2026-03-04T15:00:00Z"
`);
    const r = new Gate(s).evaluate([good(0), good(-1)]);
    assert.equal(r.failed.length, 1);
    assert.deepEqual(r.failures[0]![0], {
      expectation: 'between', type: 'between', column: 'ts', observed: '2026-03-04T14:59:59.000000Z',
      threshold: '≥ 2026-03-04T15:00:00.000000Z', action: 'quarantine',
    });
  });

  test('matches_regex matches the whole value', () => {
    const s = suiteOf("  - type: matches_regex\n    column: symbol\n    regex: 'A+'\n");
    const r = new Gate(s).evaluate([good(0, { symbol: 'AAA' }), good(1, { symbol: 'AAB' }), good(2, { symbol: 'BAA' }), good(3, { symbol: 'AAA' })]);
    assert.deepEqual(r.failed.map((t) => t.symbol), ['AAB', 'BAA']);
    assert.equal(r.failures[0]![0]!.threshold, 'matches /A+/ (whole value)');
  });

  test('in_set on a number column', () => {
    const s = suiteOf('  - type: in_set\n    column: seq\n    values: [1, 2]\n');
    const r = new Gate(s).evaluate([good(0), good(1), good(2), good(3, { seq: null })]);
    assert.deepEqual(r.failed.map((t) => t.seq), [3]);
    assert.equal(result(r, 'in_set').evaluated, 3);
  });

  test('bid_le_ask skips one-sided quotes and reports both sides', () => {
    const s = suiteOf('  - type: bid_le_ask\n');
    const r = new Gate(s).evaluate([good(0, { bid: null, ask: 1 }), good(1, { bid: 5, ask: null }), good(2, { bid: 5, ask: 5 }), good(3, { bid: 5.01, ask: 5 })]);
    assert.deepEqual(r.failed.map((t) => t.seq), [4]);
    assert.equal(result(r, 'bid_le_ask').evaluated, 2);
    assert.deepEqual([r.failures[0]![0]!.column, r.failures[0]![0]!.observed, r.failures[0]![0]!.threshold], ['bid', 5.01, '≤ ask 5']);
  });

  test('freshness compares with received_at, not the wall clock, so old data keeps its verdict', () => {
    const s = suiteOf('  - type: freshness\n    max_age: 1m\n    max_future: 5s\n');
    const old = Date.UTC(2019, 5, 3, 12) * 1000;
    const rows = [
      tick({ ts: old, recvTs: old + 60 * S, seq: 1 }),
      tick({ ts: old, recvTs: old + 60 * S + 1, seq: 2 }),
      tick({ ts: old + 5 * S, recvTs: old, seq: 3 }),
      tick({ ts: old + 5 * S + 1, recvTs: old, seq: 4 }),
    ];
    const r = new Gate(s).evaluate(rows);
    assert.deepEqual(r.failed.map((t) => t.seq), [2, 4]);
    assert.equal(r.failures[0]![0]!.threshold, '≥ received_at − 1m (2019-06-03T12:00:00.000001Z)');
    assert.equal(r.failures[1]![0]!.threshold, '≤ received_at + 5s (2019-06-03T12:00:05.000000Z)');
    assert.equal(r.failures[1]![0]!.observed, '2019-06-03T12:00:05.000001Z');
  });
});

describe('stateful expectations', () => {
  test('max_change: a rejected spike never becomes the reference price, across batches', () => {
    const gate = new Gate(suiteOf('  - type: max_change\n    column: price\n    by: [symbol]\n    max_pct: 20\n'));
    assert.equal(gate.evaluate([good(0, { price: 100 })]).failed.length, 0);
    const spike = gate.evaluate([good(1, { price: 150 })]);
    assert.equal(spike.failed.length, 1);
    assert.equal(spike.failures[0]![0]!.threshold, '≤ 20% change from 100');
    // Compared with 100 again (not with the rejected 150): 110 passes, another 150 fails again.
    const next = gate.evaluate([good(2, { price: 110 }), good(3, { price: 125 }), good(4, { price: 200 })]);
    assert.deepEqual(next.failed.map((t) => t.price), [200]);
    assert.equal(next.failures[0]![0]!.threshold, '≤ 20% change from 125');
  });

  test('max_change: keys are independent; a row rejected by another expectation is not a reference', () => {
    const gate = new Gate(suiteOf(`
  - type: max_change
    column: price
    by: [symbol, provider]
    max_pct: 20
  - type: in_set
    column: currency
    values: [USD]
`));
    const r = gate.evaluate([
      good(0, { price: 100 }),
      good(1, { price: 500, provider: 'other' }),
      good(2, { price: 110, currency: 'EUR' }), // rejected by in_set: 100 stays the reference
      good(3, { price: 125 }),
      good(4, { price: 520, provider: 'other' }),
    ]);
    assert.deepEqual(r.failed.map((t) => t.seq), [3, 4]);
    assert.deepEqual(r.failures[1]!.map((f) => f.expectation), ['max_change']);
  });

  test('max_change by standard deviations starts once min_samples returns are known', () => {
    const gate = new Gate(suiteOf(`
  - type: max_change
    column: price
    max_stddev: 4
    lookback: 10
    min_samples: 5
`));
    // Alternating 100 / 101: returns of about ±1%.
    const calm = Array.from({ length: 5 }, (_, i) => good(i, { price: i % 2 === 0 ? 100 : 101 }));
    // Only 4 returns known: a 10% jump passes.
    const early = gate.evaluate([...calm, good(5, { price: 111 })]);
    assert.equal(early.failed.length, 0);
    gate.reset();
    const rows = [...calm, good(5, { price: 100 }), good(6, { price: 110 }), good(7, { price: 101 })];
    const r = gate.evaluate(rows);
    assert.deepEqual(r.failed.map((t) => t.seq), [7]);
    // Returns +1%, -0.99%, +1%, -0.99%, 0%: σ ≈ 0.995%, so the +10% of row 7 is beyond 4σ.
    assert.equal(r.failures[0]![0]!.threshold, '≤ 4σ change from 100 (σ = 0.995% over 5 returns)');
  });

  test('max_change stale_after: after a long silence the next value starts over', () => {
    const gate = new Gate(suiteOf('  - type: max_change\n    column: price\n    max_pct: 20\n    stale_after: 10m\n'));
    const r = gate.evaluate([
      good(0, { price: 100 }),
      good(60, { price: 150 }), // one minute later: a spike
      good(700, { price: 150 }), // nothing accepted for 11 min: a new level
      good(701, { price: 151 }),
    ]);
    assert.deepEqual(r.failed.map((t) => t.ts), [T0 + 60 * S]);
    assert.equal(r.passed.length, 3);
  });

  test('increasing: per key, strict or not, compared with the last accepted row, across batches', () => {
    const gate = new Gate(suiteOf('  - type: increasing\n    column: ts\n    by: [symbol]\n    strict: true\n'));
    assert.equal(gate.evaluate([good(0), good(1, { symbol: 'MSFT' })]).failed.length, 0);
    const r = gate.evaluate([good(1), good(1), good(0, { symbol: 'MSFT' }), good(2, { symbol: 'MSFT' })]);
    assert.deepEqual(r.failed.map((t) => [t.symbol, t.ts]), [['AAPL', T0 + S], ['MSFT', T0]]);
    assert.equal(r.failures[0]![0]!.threshold, '> 2026-03-04T15:00:01.000000Z (the last accepted row of symbol=AAPL)');
    const lax = new Gate(suiteOf('  - type: increasing\n    column: ts\n'));
    assert.equal(lax.evaluate([good(1), good(1), good(0)]).failed.length, 1);
  });

  test('increasing with action warn: a late row is accepted and becomes the last row', () => {
    const gate = new Gate(suiteOf('  - type: increasing\n    column: ts\n    action: warn\n'));
    const r = gate.evaluate([good(10), good(5), good(7)]);
    assert.equal(r.failed.length, 0);
    assert.equal(r.warned, 1);
    assert.equal(result(r, 'increasing').failed, 1);
  });

  test('unique: duplicates within the window fail, in either order and across batches', () => {
    const gate = new Gate(suiteOf('  - type: unique\n    columns: [symbol, seq]\n    window: 1m\n'));
    assert.equal(gate.evaluate([good(0, { seq: 7 }), good(10, { seq: 8 })]).failed.length, 0);
    const r = gate.evaluate([
      good(50, { seq: 7 }), // 50 s after seq 7: duplicate
      good(5, { seq: 8 }), // 5 s *before* the accepted seq 8: duplicate too
      good(90, { seq: 7 }), // 90 s after the first seq 7 (the second was rejected): not within 1 min
      good(95, { seq: 7, symbol: 'MSFT' }),
      good(120, { seq: 7 }), // 30 s after the accepted one at 90 s
    ]);
    assert.deepEqual(r.failed.map((t) => t.ts), [T0 + 50 * S, T0 + 5 * S, T0 + 120 * S]);
    assert.equal(r.failures[0]![0]!.observed, 'symbol=AAPL, seq=7');
    assert.equal(r.failures[0]![0]!.threshold, 'unique within 1m (same key accepted at 2026-03-04T15:00:00.000000Z)');
    assert.equal(r.failures[0]![0]!.column, null);
  });

  test('unique with the event time in the key: late duplicates are found, rows with a null key are skipped', () => {
    const gate = new Gate(suiteOf('  - type: unique\n    columns: [provider, symbol, ts, seq]\n    window: 10m\n'));
    const first = Array.from({ length: 50 }, (_, i) => good(i));
    assert.equal(gate.evaluate(first).failed.length, 0);
    const again = [good(60), good(3), good(49), good(3, { seq: null }), good(3, { seq: null }), good(3, { provider: 'other' })];
    const r = gate.evaluate(again);
    assert.deepEqual(r.failed, [again[1], again[2]]);
    assert.equal(result(r, 'unique').evaluated, 4);
  });

  test('unique forgets keys older than its window in stream time, and bounds memory with max_keys', () => {
    const gate = new Gate(suiteOf('  - type: unique\n    columns: [symbol, seq]\n    window: 10s\n'));
    gate.evaluate([good(0, { seq: 1 })]);
    // Stream time moves on by more than two windows: the key is forgotten (and would be out of the window).
    gate.evaluate(Array.from({ length: 30 }, (_, i) => good(i + 1, { seq: 100 + i })));
    assert.equal(gate.evaluate([good(31, { seq: 1 })]).failed.length, 0);
    // Within the window it is still remembered.
    assert.equal(gate.evaluate([good(32, { seq: 1 })]).failed.length, 1);

    const small = new Gate(suiteOf('  - type: unique\n    columns: [seq]\n    window: 1d\n    max_keys: 100\n'));
    small.evaluate(Array.from({ length: 1000 }, (_, i) => good(i, { seq: i })));
    // The newest keys are still remembered, the oldest are not.
    assert.equal(small.evaluate([good(1000, { seq: 999 })]).failed.length, 1);
    assert.equal(small.evaluate([good(1001, { seq: 0 })]).failed.length, 0);
  });

  test('unique keeps many keys exactly (no false duplicates among 100,000 distinct keys)', () => {
    const gate = new Gate(suiteOf('  - type: unique\n    columns: [symbol, price, seq]\n    window: 1d\n'));
    const rows = Array.from({ length: 100_000 }, (_, i) => good(i, { symbol: `S${i % 97}`, price: (i % 1013) / 7, seq: i }));
    assert.equal(gate.evaluate(rows).failed.length, 0);
    const dupes = [rows[0]!, rows[54_321]!, rows[99_999]!].map((t) => ({ ...t }));
    assert.equal(gate.evaluate(dupes).failed.length, 3);
  });

  test('a non-finite value fails max_change and increasing and, even when only warned, never becomes the reference', () => {
    const gate = new Gate(suiteOf(`
  - type: max_change
    column: price
    max_pct: 10
    action: warn
  - type: increasing
    column: ts
    action: warn
`));
    const r = gate.evaluate([good(0, { price: Number.NaN, ts: Number.NaN }), good(1, { price: 100 }), good(2, { price: 101 }), good(3, { price: 150 })]);
    assert.equal(r.failed.length, 0);
    assert.deepEqual(r.expectations.map((e) => e.failed), [2, 1]);
    assert.equal(r.warned, 2);
  });

  test('reset() forgets all state', () => {
    const gate = new Gate(suiteOf(`
  - type: unique
    columns: [seq]
    window: 1h
  - type: increasing
    column: ts
  - type: max_change
    column: price
    max_pct: 10
`));
    gate.evaluate([good(10, { seq: 1, price: 100 })]);
    const probe = [good(0, { seq: 1, price: 200 })];
    assert.deepEqual(gate.evaluate(probe).failures[0]!.map((f) => f.expectation), ['unique', 'increasing', 'max_change']);
    gate.reset();
    assert.equal(gate.evaluate(probe).failed.length, 0);
  });
});
