import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import { MemoryCache } from '../adapters/cache/memory.ts';
import { silentLogger } from '../core/log.ts';
import type { Tick } from '../core/tick.ts';
import { LiveHub, TICKS_PER_EVENT } from './live.ts';

const T0 = 1_700_000_000_000_000;
const tick = (symbol: string, i: number, price = 100 + i): Tick => ({ symbol, ts: T0 + i, price, size: 1, bid: null, ask: null, currency: 'USD', provider: 'sim', seq: i, recvTs: T0 + i });

async function serve(hub: LiveHub, symbol: string | null): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => void hub.attach(res, symbol));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/`, server };
}

/** Reads server-sent events for `ms`, parsed. */
async function events(url: string, ms: number): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const out: Array<{ event: string; data: Record<string, unknown> }> = [];
  let buf = '';
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    for await (const chunk of res.body!) {
      buf += Buffer.from(chunk as Uint8Array).toString();
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const ev = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (ev && data) out.push({ event: ev, data: JSON.parse(data) as Record<string, unknown> });
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return out;
}

test('live: current quotes first, then only what changed, coalesced per symbol at the render rate', async () => {
  const cache = new MemoryCache();
  await cache.put([tick('AAPL', 1), tick('MSFT', 1)]);
  const hub = new LiveHub({ cache, logger: silentLogger(), renderHz: 4 });
  const { url, server } = await serve(hub, null);
  const reading = events(url, 1_300);
  await new Promise((r) => setTimeout(r, 150));
  // 500 updates of one symbol in a burst: the client gets the newest, not 500 events.
  for (let i = 2; i < 502; i++) await cache.put([tick('AAPL', i)]);
  const got = await reading;
  await hub.close();
  server.close();
  const quotes = got.filter((e) => e.event === 'quotes');
  const first = quotes[0]!.data.quotes as Array<{ symbol: string; price: number }>;
  assert.deepEqual(first.map((q) => q.symbol).sort(), ['AAPL', 'MSFT'], 'the current prices come first');
  assert.ok(quotes.length <= 1 + 6, `at most ~4 events a second (got ${quotes.length} in 1.3 s)`);
  const last = quotes.at(-1)!.data.quotes as Array<{ symbol: string; price: number }>;
  assert.deepEqual(last, [{ symbol: 'AAPL', price: 601, bid: null, ask: null, size: 1, ts: '2023-11-14T22:13:20.000501Z', provider: 'sim', received_at: '2023-11-14T22:13:20.000501Z' }]);
  assert.equal(hub.clients, 0);
});

test('live: a symbol subscriber gets its new ticks, bounded per event with the drop counted', async () => {
  const cache = new MemoryCache();
  const hub = new LiveHub({ cache, logger: silentLogger(), renderHz: 2 });
  const { url, server } = await serve(hub, 'AAPL');
  const reading = events(url, 900);
  await new Promise((r) => setTimeout(r, 100));
  await cache.put(Array.from({ length: 300 }, (_, i) => tick('AAPL', i)).concat([tick('MSFT', 1)]));
  const got = await reading;
  await hub.close();
  server.close();
  const ticks = got.filter((e) => e.event === 'ticks');
  assert.equal(ticks.length, 1);
  assert.equal((ticks[0]!.data.ticks as unknown[]).length, TICKS_PER_EVENT);
  assert.equal(ticks[0]!.data.dropped, 300 - TICKS_PER_EVENT);
  assert.ok(!JSON.stringify(ticks).includes('MSFT'), 'only the subscribed symbol');
});
