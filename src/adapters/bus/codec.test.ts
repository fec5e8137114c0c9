import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tick } from '../../../test/fixtures/ticks.ts';
import { decodeTicks, encodeTicks } from './codec.ts';

test('a batch round-trips exactly, nulls and µs included', () => {
  const ticks = [
    tick({ symbol: 'BTC-USD', price: 65000.123456, size: 0.000123, bid: 65000, ask: 65000.5, seq: 42, currency: 'USD', provider: 'coinbase', at: 1 }),
    tick({ symbol: 'AAPL', price: -1, at: 2 }),
    tick({ symbol: 'ÄPFEL', provider: 'api', currency: 'EUR', at: 3 }),
  ];
  assert.deepEqual(decodeTicks(encodeTicks(ticks)), ticks);
  assert.deepEqual(decodeTicks(encodeTicks([])), []);
});

test('anything the ingest API accepts travels, even an implausible event time', () => {
  const far = tick({ ts: Date.UTC(2999, 0, 1) * 1000, price: -5 });
  assert.deepEqual(decodeTicks(encodeTicks([far])), [far]);
});

test('unaligned buffers decode (transports hand out slices), also from a Node Buffer', () => {
  const raw = encodeTicks([tick({ seq: 7 })]);
  const buf = Buffer.alloc(raw.length + 1);
  buf.set(raw, 1);
  assert.deepEqual(decodeTicks(buf.subarray(1)).map((t) => t.seq), [7]);

  const enc = encodeTicks([tick({ seq: 1 }), tick({ seq: 2 })]);
  const shifted = new Uint8Array(enc.length + 3);
  shifted.set(enc, 3);
  assert.deepEqual(decodeTicks(shifted.subarray(3)).map((t) => t.seq), [1, 2]);
});

test('bad messages are refused, naming the problem', () => {
  const good = encodeTicks([tick()]);
  assert.throws(() => decodeTicks(new TextEncoder().encode('{"symbol":"AAPL"}')), /magic/);
  const v2 = good.slice();
  v2[2] = 2;
  assert.throws(() => decodeTicks(v2), /version 2 is not supported/);
  assert.throws(() => decodeTicks(good.subarray(0, good.length - 1)), { code: 'TL_ERR_BAD_MESSAGE', message: /does not match/ });
  const badTs = good.slice();
  const f = new Float64Array(badTs.buffer, badTs.length - 6 - 7 * 8, 7);
  f[0] = 12;
  f[0] = 1.5;
  assert.throws(() => decodeTicks(badTs), /tick 0: ts 1.5 is not a µs timestamp/);
  const badPrice = good.slice();
  new Float64Array(badPrice.buffer, badPrice.length - 6 - 7 * 8, 7)[1] = Infinity;
  assert.throws(() => decodeTicks(badPrice), /price Infinity/);
  const badCode = good.slice();
  new Uint16Array(badCode.buffer, badCode.length - 6, 3)[0] = 9;
  assert.throws(() => decodeTicks(badCode), /out of the dictionary/);
});
