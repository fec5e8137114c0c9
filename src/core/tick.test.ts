import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTick, tickToJson, tickToJsonLine, type FieldIssue, type Tick } from './tick.ts';

const D = { provider: 'api', currency: 'USD', recvTs: 1_700_000_000_000_000 };

test('a seed-style quote becomes a canonical tick', () => {
  const t = parseTick({ symbol: ' aapl ', price: 190.5, volume: 100, timestamp: '2024-01-02T15:04:05.123456Z' }, 0, D) as Tick;
  assert.equal(t.symbol, 'AAPL');
  assert.equal(t.size, 100);
  assert.equal(t.bid, null);
  assert.equal(t.seq, null);
  assert.equal(t.provider, 'api');
  assert.equal(tickToJson(t).ts, '2024-01-02T15:04:05.123456Z');
});

test('numeric strings are accepted (providers send them), garbage is not', () => {
  const ok = parseTick({ symbol: 'X', price: '12.5', ts: 1_700_000_000 }, 0, D) as Tick;
  assert.equal(ok.price, 12.5);
  const bad = parseTick({ symbol: 'X', price: 'abc', ts: 1_700_000_000 }, 3, D) as FieldIssue[];
  assert.ok(Array.isArray(bad));
  assert.deepEqual(bad.map((i) => [i.index, i.field]), [[3, 'price']]);
  assert.match(bad[0]!.message, /"abc"/);
});

test('every structural problem of a record is reported, naming the field', () => {
  const issues = parseTick({ price: null, ts: 'not a time', bid: true, colour: 'red' }, 7, D) as FieldIssue[];
  const fields = issues.map((i) => i.field).sort();
  assert.deepEqual(fields, ['bid', 'colour', 'price', 'symbol', 'ts']);
  assert.ok(issues.every((i) => i.index === 7));
  assert.deepEqual((parseTick([1, 2], 0, D) as FieldIssue[])[0]!.field, '(record)');
});

test('well-formed but implausible values are left for the checks', () => {
  const t = parseTick({ symbol: 'AAPL', price: -1, ts: 1_700_000_000, bid: 2, ask: 1 }, 0, D);
  assert.ok(!Array.isArray(t));
});

test('the hand-written JSONL line equals JSON.stringify of tickToJson', () => {
  const t = parseTick({ symbol: 'BTC-USD', price: 65000.12, size: 0.0001, bid: 65000, ask: 65000.5, seq: 9, ts: '2024-01-02T03:04:05.000001Z' }, 0, D) as Tick;
  assert.equal(tickToJsonLine(t), JSON.stringify(tickToJson(t)));
  assert.deepEqual(JSON.parse(tickToJsonLine(t, ',"reason":"x"')), { ...tickToJson(t), reason: 'x' });
});
