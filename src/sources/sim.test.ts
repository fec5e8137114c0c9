import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tick } from '../core/tick.ts';
import { Gate } from '../quality/gate.ts';
import { loadSuite } from '../quality/suite.ts';
import { SimSource, type SimOptions } from './sim.ts';

const base: SimOptions = { symbols: ['AAPL', 'BTC-USD'], rate: 20, seed: 1, badFraction: 0, batchMax: 1000, intervalMs: 1 };
const T0 = 1_700_000_000_000_000;

test('the same seed gives the same prices and sizes; another seed does not', () => {
  const a = new SimSource(base).generate(500, T0, T0 + 1e6);
  const b = new SimSource(base).generate(500, T0, T0 + 1e6);
  const c = new SimSource({ ...base, seed: 2 }).generate(500, T0, T0 + 1e6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((t) => t.price), c.map((t) => t.price));
});

test('ticks are realistic: near the reference price, valid quotes, round lots for equities', () => {
  const ticks = new SimSource(base).generate(10_000, T0, T0 + 1e6);
  const aapl = ticks.filter((t) => t.symbol === 'AAPL');
  const btc = ticks.filter((t) => t.symbol === 'BTC-USD');
  assert.ok(aapl.every((t) => t.price > 150 && t.price < 230), 'AAPL stays near 190 over 250 s of trading time');
  assert.ok(btc.every((t) => t.price > 50_000 && t.price < 80_000));
  assert.ok(ticks.every((t) => t.bid! < t.ask! && (t.price === t.bid || t.price === t.ask)));
  assert.ok(aapl.every((t) => t.size >= 10 && t.size % 10 === 0));
  assert.ok(btc.some((t) => !Number.isInteger(t.size)));
  assert.deepEqual(aapl.slice(0, 3).map((t) => t.seq), [1, 2, 3]);
  assert.ok(new Set(aapl.map((t) => t.price)).size > 5, 'prices move');
  assert.equal(new Gate(loadSuite()).evaluate(ticks).failed.length, 0);
});

test('the bad fraction injects each kind of bad tick, caught by the checks', () => {
  const ticks = new SimSource({ ...base, badFraction: 0.2 }).generate(5_000, T0, T0 + 1e6);
  const r = new Gate(loadSuite()).evaluate(ticks);
  const share = r.failed.length / ticks.length;
  assert.ok(share > 0.15 && share < 0.25, `bad share ${share}`);
  assert.deepEqual(new Set(r.failures.map((f) => f[0]!.expectation)), new Set(['price_positive', 'bid_le_ask', 'symbol_format', 'not_in_future']));
});

test('run() paces the feed and stops at the limit, awaiting each emit (backpressure)', async () => {
  const got: Tick[] = [];
  let inEmit = 0;
  let maxConcurrent = 0;
  const src = new SimSource({ ...base, rate: 500, limit: 300 });
  const started = Date.now();
  await src.run(async (b) => {
    maxConcurrent = Math.max(maxConcurrent, ++inEmit);
    await new Promise((r) => setTimeout(r, 1));
    got.push(...b);
    inEmit--;
  }, new AbortController().signal);
  const secs = (Date.now() - started) / 1000;
  assert.equal(got.length, 300);
  assert.equal(maxConcurrent, 1);
  assert.ok(secs > 0.2, `300 ticks at 1000/s should take ~0.3 s, took ${secs}`);
  for (let i = 1; i < got.length; i++) assert.ok(got[i]!.ts >= got[i - 1]!.ts);
  assert.equal(src.stats().emitted, 300);
});

test('run() emits one batch per interval, not a trickle of small batches, when emit takes a moment', async () => {
  const sizes: number[] = [];
  // 2 symbols × 5,000/s = 10 ticks per millisecond; one batch per 20 ms interval is ~200 ticks.
  const src = new SimSource({ ...base, rate: 5_000, limit: 4_000, intervalMs: 20 });
  await src.run(async (b) => {
    sizes.push(b.length);
    await new Promise((r) => setTimeout(r, 2));
  }, new AbortController().signal);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 4_000);
  const mean = 4_000 / sizes.length;
  assert.ok(mean >= 150, `batches should average ~200 ticks, got ${sizes.length} batches averaging ${mean.toFixed(1)}`);
});
