/**
 * A streaming provider configured by TICKLINE_STREAMS, end to end: Coinbase's `matches` messages from a
 * local WebSocket server reach the store and the latest price; a trade-id hole is filled from the REST
 * trades endpoint; the provider's health shows in /ready and its sources list.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { serve, serveWs } from '../fixtures/providers/server.ts';
import { getJson, start, tempDir, testConfig, until } from './helpers.ts';

const T0 = Date.now() - 60_000;

function trade(id: number) {
  return { time: new Date(T0 + id * 10).toISOString(), trade_id: id, price: (68_000 + id).toFixed(2), size: '0.01000000', side: 'buy' };
}

function match(id: number) {
  const t = trade(id);
  return { type: 'match', trade_id: id, maker_order_id: `m${id}`, taker_order_id: `t${id}`, side: 'sell', size: t.size, price: t.price, product_id: 'BTC-USD', sequence: 1000 + id, time: t.time };
}

describe('streams (embedded)', () => {
  const tmp = tempDir('tickline-streams-');
  after(() => tmp.remove());

  test('Coinbase trades flow to the store, a trade-id hole is backfilled, health is reported', async () => {
    const ws = await serveWs();
    // Trades 4 and 5 are missed by the stream: the REST endpoint has them (newest first).
    const rest = await serve((req) => (req.path === '/products/BTC-USD/trades' ? { body: JSON.stringify([trade(6), trade(5), trade(4), trade(3)]) } : { status: 404, body: '{}' }));
    const p = await start(testConfig(tmp.dir, { streams: 'coinbase:BTC-USD', coinbaseUrl: rest.url, coinbaseWsUrl: ws.url }));
    try {
      const conn = await ws.nextSubscribed();
      const sub = ws.connections[conn]!.received[0] as { type: string; product_ids: string[]; channels: unknown[] };
      assert.equal(sub.type, 'subscribe');
      assert.deepEqual(sub.product_ids, ['BTC-USD']);
      for (const id of [1, 2, 3, 6, 7]) ws.connections[conn]!.socket.send(JSON.stringify(match(id)));

      const history = await until(async () => {
        const r = await getJson<{ ticks: Array<{ seq: number; price: number; provider: string }> }>(`${p.url}/v1/prices/history?symbol=BTC-USD&limit=100`);
        return r.status === 200 && r.body.ticks.length >= 7 ? r.body.ticks : undefined;
      }, 10_000, 'seven BTC-USD trades in the store');
      assert.deepEqual(history.map((t) => t.seq).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7], 'the hole filled once, nothing twice');
      assert.ok(history.every((t) => t.provider === 'coinbase'));
      const latest = (await getJson<{ price: number }>(`${p.url}/v1/prices/latest?symbol=BTC-USD`)).body;
      assert.equal(latest.price, 68_007);

      const ready = (await getJson<{ providers: Record<string, { ok: boolean; connected: boolean | null }> }>(`${p.url}/ready`)).body;
      assert.equal(ready.providers.coinbase?.connected, true);
      const sources = (await getJson<{ sources: Array<{ name: string; emitted: number }> }>(`${p.url}/v1/sources`)).body.sources;
      assert.ok(sources.some((s) => /coinbase/.test(s.name) && s.emitted >= 7), JSON.stringify(sources));
    } finally {
      await p.stop();
      await ws.close();
      await rest.close();
    }
  });
});
