import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tick } from '../core/tick.ts';
import { SimSource, type SimOptions } from '../sources/sim.ts';
import { Gate } from './gate.ts';
import { loadSuite } from './suite.ts';

const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'BTC-USD', 'ETH-USD'];
const base: SimOptions = { symbols: SYMBOLS, rate: 50, seed: 42, badFraction: 0, batchMax: 10_000, intervalMs: 1 };
/** Wednesday 2026-11-18, 15:00 UTC: 10:00 in New York, inside the session. */
const FROM = Date.UTC(2026, 10, 18, 15) * 1000;
const MINUTE = 60_000_000;

test('the default suite passes a realistic simulated feed completely, batch after batch', () => {
  const sim = new SimSource(base);
  const gate = new Gate(loadSuite());
  for (let k = 0; k < 10; k++) {
    const batch = sim.generate(5_000, FROM + k * MINUTE, FROM + (k + 1) * MINUTE);
    const r = gate.evaluate(batch);
    assert.equal(r.failed.length, 0, JSON.stringify(r.failures[0]));
    assert.equal(r.passed.length, batch.length);
    assert.equal(r.warned, 0);
    assert.equal(r.verdict, 'PASS', JSON.stringify(r.expectations.filter((e) => !e.success)));
  }
});

test('late ticks and equities outside the session only warn', () => {
  const sim = new SimSource({ ...base, seed: 7 });
  const gate = new Gate(loadSuite());
  const night = Date.UTC(2026, 10, 18, 3) * 1000;
  const first = sim.generate(2_000, night, night + MINUTE);
  assert.equal(gate.evaluate(first).failed.length, 0);
  // Ticks from two minutes earlier arrive afterwards: each key goes back in time once (a warning), and
  // the late tick, accepted, becomes the key's last row for the ones after it.
  const late = sim.generate(2_000, night - 2 * MINUTE, night - MINUTE).map((t) => ({ ...t, recvTs: night + 2 * MINUTE }));
  const r = gate.evaluate(late);
  assert.equal(r.failed.length, 0, JSON.stringify(r.failures[0]));
  const byName = new Map(r.expectations.map((e) => [e.name, e]));
  assert.equal(byName.get('ts_increasing')!.failed, SYMBOLS.length);
  // Crypto is not mapped to an exchange: only the six equities are evaluated, and all are out of hours.
  const equities = late.filter((t) => !t.symbol.endsWith('-USD')).length;
  assert.deepEqual([byName.get('trading_hours')!.evaluated, byName.get('trading_hours')!.failed], [equities, equities]);
  // Warned: every equity tick, and the first late tick of each crypto pair.
  assert.equal(r.warned, equities + 2);
});

/** The kind of damage the simulator did to a tick, read from the tick itself. */
function damage(t: Tick): string | null {
  if (t.symbol.includes('$')) return 'symbol_format';
  if (t.price < 0) return 'price_positive';
  if (t.bid !== null && t.ask !== null && t.bid > t.ask) return 'bid_le_ask';
  if (t.ts > t.recvTs + 5_000_000) return 'not_in_future';
  return null;
}

test('the four kinds of injected bad ticks are quarantined under their basic check names, and nothing else is', () => {
  const sim = new SimSource({ ...base, badFraction: 0.2 });
  const gate = new Gate(loadSuite());
  const seen = new Map<string, number>();
  for (let k = 0; k < 5; k++) {
    const batch = sim.generate(4_000, FROM + k * MINUTE, FROM + (k + 1) * MINUTE);
    const r = gate.evaluate(batch);
    const bad = batch.filter((t) => damage(t) !== null);
    assert.ok(bad.length > 600 && bad.length < 1000, `about 20% bad, got ${bad.length}`);
    assert.deepEqual(r.failed, bad);
    r.failed.forEach((t, i) => {
      const kind = damage(t)!;
      const names = r.failures[i]!.map((f) => f.expectation);
      // The injected problem is reported first (a negative price is also a spike, reported after it).
      assert.equal(names[0], kind, `${JSON.stringify(t)}: ${names.join(', ')}`);
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
    });
  }
  assert.deepEqual([...seen.keys()].sort(), ['bid_le_ask', 'not_in_future', 'price_positive', 'symbol_format']);
});
