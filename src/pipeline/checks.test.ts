import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tick } from '../../test/fixtures/ticks.ts';
import { checkBatch, checkTick } from './checks.ts';

const NOW = tick().ts;
const OPTS = { maxFutureSkewUs: 5_000_000 };

test('each basic check fails for its own reason', () => {
  const cases: Array<[Parameters<typeof tick>[0], string | null]> = [
    [{}, null],
    [{ symbol: 'BRK.B' }, null],
    [{ symbol: 'aapl' }, 'symbol_format'],
    [{ symbol: 'AAPL$??' }, 'symbol_format'],
    [{ price: 0 }, 'price_positive'],
    [{ price: -3 }, 'price_positive'],
    [{ price: Number.NaN }, 'price_positive'],
    [{ size: -1 }, 'size_non_negative'],
    [{ size: 0 }, null],
    [{ at: 5_000_000 }, null],
    [{ at: 5_000_001 }, 'not_in_future'],
    [{ bid: 10, ask: 10 }, null],
    [{ bid: 10.01, ask: 10 }, 'bid_le_ask'],
    [{ bid: -1, ask: 10 }, 'quote_positive'],
  ];
  for (const [over, expected] of cases) {
    assert.equal(checkTick(tick(over), NOW, OPTS)?.check ?? null, expected, JSON.stringify(over));
  }
});

test('details name the observed value', () => {
  assert.match(checkTick(tick({ price: -3 }), NOW, OPTS)!.detail, /-3/);
  assert.match(checkTick(tick({ bid: 11, ask: 10 }), NOW, OPTS)!.detail, /bid 11 > ask 10/);
});

test('a batch splits into good and bad keeping order, with one failure per bad tick', () => {
  const ticks = [tick({ seq: 1 }), tick({ seq: 2, price: -1 }), tick({ seq: 3 }), tick({ seq: 4, symbol: '??' })];
  const r = checkBatch(ticks, NOW, OPTS);
  assert.deepEqual(r.good.map((t) => t.seq), [1, 3]);
  assert.deepEqual(r.bad.map((t) => t.seq), [2, 4]);
  assert.deepEqual(r.failures.map((f) => f.check), ['price_positive', 'symbol_format']);
});
