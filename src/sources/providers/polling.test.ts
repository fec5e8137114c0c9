import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FakeClock } from '../../../test/fixtures/providers/clock.ts';
import { fixture, serve, type FixtureServer, type Reply } from '../../../test/fixtures/providers/server.ts';
import type { Tick } from '../../core/tick.ts';
import type { Rejected } from './types.ts';
import { YahooProvider } from './yahoo.ts';

const servers: FixtureServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function server(route: (n: number) => Reply): Promise<FixtureServer> {
  let n = 0;
  const s = await serve(() => route(++n));
  servers.push(s);
  return s;
}

const fast = [{ capacity: 100, perSecond: 100 }];

test('polls every interval and emits each changed quote once', async () => {
  const clock = new FakeClock();
  const ac = new AbortController();
  const moved = fixture('yahoo-quote.json').replace('"regularMarketPrice":189.99', '"regularMarketPrice":190.05');
  const s = await server((n) => {
    if (n === 4) ac.abort();
    return { body: n === 3 ? moved : fixture('yahoo-quote.json') };
  });
  const p = new YahooProvider({ baseUrl: s.url, clock, limits: fast });
  const rejected: Rejected[] = [];
  const src = p.source({ symbols: ['AAPL', 'MSFT', 'VOD.L'], intervalMs: 1000, onRejected: (r) => rejected.push(r) });
  const batches: Tick[][] = [];
  await src.run(async (b) => void batches.push(b), ac.signal);
  assert.deepEqual(
    batches.map((b) => b.map((t) => `${t.symbol}@${t.price}`)),
    [['AAPL@189.99', 'MSFT@430.32', 'VOD.L@0.7246'], ['AAPL@190.05']],
    'the unchanged second poll emitted nothing',
  );
  assert.equal(rejected.length, 0);
  assert.deepEqual(clock.sleeps, [1000, 1000, 1000], 'start-to-start interval (no time passes in a fake request)');
  const st = src.stats();
  assert.equal(st.name, 'yahoo');
  assert.equal(st.emitted, 4);
  assert.equal(st.running, false);
  assert.equal(st.lastError, undefined);
});

test('a failed poll is recorded as lastError and the next interval polls again', async () => {
  const clock = new FakeClock();
  const ac = new AbortController();
  const s = await server((n) => {
    if (n === 2) ac.abort();
    return n === 1 ? { status: 400, body: '{"finance":{"error":{"code":"Bad Request","description":"Missing value for the \\"symbols\\" argument"}}}' } : { body: fixture('yahoo-quote.json') };
  });
  const p = new YahooProvider({ baseUrl: s.url, clock, limits: fast });
  const src = p.source({ symbols: ['AAPL'], intervalMs: 500, onRejected: () => {} });
  await src.run(async () => {}, ac.signal);
  assert.equal(s.requests.length, 2);
  assert.match(src.stats().lastError ?? '', /yahoo: HTTP 400 .*Missing value/);
});

test('rejected records of a poll go to onRejected while the good quotes are emitted', async () => {
  const clock = new FakeClock();
  const ac = new AbortController();
  const s = await server((n) => {
    if (n === 2) ac.abort();
    return { body: fixture('yahoo-quote-malformed.json') };
  });
  const rejected: Rejected[] = [];
  const ticks: Tick[] = [];
  const src = new YahooProvider({ baseUrl: s.url, clock, limits: fast }).source({ symbols: ['AAPL', 'MSFT', 'NVDA'], intervalMs: 100, onRejected: (r) => rejected.push(r) });
  await src.run(async (b) => void ticks.push(...b), ac.signal);
  assert.deepEqual(ticks.map((t) => t.symbol), ['NVDA']);
  assert.deepEqual(rejected.map((r) => r.symbol), ['AAPL', 'MSFT']);
});

test('an interval below the provider minimum, or a bad symbol, is refused', () => {
  const p = new YahooProvider({});
  assert.throws(() => p.source({ symbols: ['AAPL'], intervalMs: 1999 }), (e: { code: string; message: string; details: { minIntervalMs: number } }) => {
    assert.equal(e.code, 'TL_ERR_VALIDATION');
    assert.match(e.message, /intervalMs must be at least 2000 ms for 1 symbol/);
    assert.equal(e.details.minIntervalMs, 2000);
    return true;
  });
  assert.throws(() => p.source({ symbols: ['aapl'], intervalMs: 5000 }), { code: 'TL_ERR_VALIDATION' });
  assert.throws(() => p.source({ symbols: [], intervalMs: 5000 }), { code: 'TL_ERR_VALIDATION' });
  assert.equal(p.source({ symbols: ['AAPL'] }).name, 'yahoo', 'the interval defaults to the minimum');
});

test('stops promptly when aborted in the middle of a retry backoff', async () => {
  const s = await server(() => ({ status: 503, body: 'down' }));
  const p = new YahooProvider({ baseUrl: s.url, limits: fast, retry: { maxAttempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
  const src = p.source({ symbols: ['AAPL'], intervalMs: 60_000 });
  const ac = new AbortController();
  const done = src.run(async () => {}, ac.signal);
  while (s.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(src.stats().running, true);
  const started = Date.now();
  ac.abort();
  await done;
  assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
  assert.equal(src.stats().running, false);
  assert.equal(src.stats().lastError, undefined, 'a stop is not an error');
});
