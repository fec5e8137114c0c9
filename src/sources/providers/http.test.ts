import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { FakeClock } from '../../../test/fixtures/providers/clock.ts';
import { serve, type FixtureServer, type Reply } from '../../../test/fixtures/providers/server.ts';
import { ProviderContext, type CommonOptions } from './context.ts';
import { parseRetryAfter } from './http.ts';

const servers: FixtureServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function setup(replies: (n: number) => Reply, over: CommonOptions = {}): Promise<{ ctx: ProviderContext; server: FixtureServer; clock: FakeClock }> {
  let n = 0;
  const server = await serve(() => replies(++n));
  servers.push(server);
  const clock = new FakeClock();
  const ctx = new ProviderContext(
    'yahoo',
    { baseUrl: server.url, clock, random: () => 0.5, retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 30_000 }, ...over },
    { baseUrl: 'https://unused.example', limits: [{ capacity: 100, perSecond: 100 }] },
  );
  return { ctx, server, clock };
}

const get = (ctx: ProviderContext, signal?: AbortSignal): Promise<string> => ctx.http.get(ctx.url('/x'), (res) => res.body, signal);

test('429 with Retry-After in seconds: the retry waits exactly that long', async () => {
  const { ctx, server, clock } = await setup((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '7' } } : { body: 'ok' }));
  assert.equal(await get(ctx), 'ok');
  assert.deepEqual(clock.sleeps, [7000]);
  assert.equal(server.requests.length, 2);
  assert.match(ctx.health().lastError ?? '', /HTTP 429/);
  assert.equal(ctx.health().circuit, 'closed', 'a rate limit is not an outage');
});

test('429 with Retry-After as an HTTP date: the retry waits until then', async () => {
  const clock = new FakeClock();
  const at = new Date(clock.now() + 12_000).toUTCString();
  const { ctx } = await setup((n) => (n === 1 ? { status: 429, headers: { 'retry-after': at } } : { body: 'ok' }), { clock });
  assert.equal(await get(ctx), 'ok');
  assert.deepEqual(clock.sleeps, [12_000]);
});

test('a Retry-After beyond the max delay ends the request at once and pauses the budget until then', async () => {
  const { ctx, server, clock } = await setup((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '3600' } } : { body: 'ok' }));
  await assert.rejects(get(ctx), (e: { code: string; message: string }) => {
    assert.equal(e.code, 'TL_ERR_PROVIDER');
    assert.match(e.message, /asks to wait 3600 s, longer than the 30000 ms retry limit/);
    return true;
  });
  assert.equal(server.requests.length, 1);
  assert.equal(await get(ctx), 'ok');
  assert.deepEqual(clock.sleeps, [3_600_000], 'the next request waited for the pause');
});

test('5xx is retried with exponential backoff and full jitter', async () => {
  const { ctx, server, clock } = await setup((n) => (n <= 3 ? { status: 503, body: 'upstream down' } : { body: 'ok' }));
  assert.equal(await get(ctx), 'ok');
  // random() = 0.5 of a ceiling of 100, 200, 400 ms.
  assert.deepEqual(clock.sleeps, [50, 100, 200]);
  assert.equal(server.requests.length, 4);
});

test('after maxAttempts the last failure is the error', async () => {
  const { ctx, server } = await setup(() => ({ status: 502, body: '<html>Bad gateway</html>' }), { retry: { maxAttempts: 2, baseDelayMs: 10 } });
  await assert.rejects(get(ctx), /yahoo: HTTP 502 from http:\/\/127\.0\.0\.1:\d+\/x: <html>Bad gateway<\/html> \(gave up after 2 attempts\)/);
  assert.equal(server.requests.length, 2);
});

test('4xx other than 429 is not retried; 404 is TL_ERR_NOT_FOUND', async () => {
  const { ctx, server } = await setup((n) => (n === 1 ? { status: 400, body: '{"error":"bad param"}' } : { status: 404, body: '{}' }));
  await assert.rejects(get(ctx), { code: 'TL_ERR_PROVIDER', message: /HTTP 400 .*bad param/ });
  await assert.rejects(get(ctx), { code: 'TL_ERR_NOT_FOUND' });
  assert.equal(server.requests.length, 2);
  assert.equal(ctx.circuit.state, 'closed');
});

test('a request with no answer times out, and is retried', async () => {
  const { ctx, server } = await setup(() => ({ hang: true }), { timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1 } });
  const started = Date.now();
  await assert.rejects(get(ctx), { code: 'TL_ERR_PROVIDER', message: /no answer within 100 ms .*gave up after 2 attempts/ });
  assert.equal(server.requests.length, 2);
  assert.ok(Date.now() - started < 2000);
});

test('a refused connection is a network error, retried, with the cause in the message', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const clock = new FakeClock();
  const ctx = new ProviderContext('yahoo', { baseUrl: `http://127.0.0.1:${port}`, clock, random: () => 1, retry: { maxAttempts: 3, baseDelayMs: 10 } }, { baseUrl: 'https://unused.example', limits: [{ capacity: 10, perSecond: 10 }] });
  await assert.rejects(get(ctx), /ECONNREFUSED.*gave up after 3 attempts/);
  assert.deepEqual(clock.sleeps, [10, 20]);
});

test('a 5xx storm opens the circuit, which fails fast, then a half-open probe recovers', async () => {
  let healthy = false;
  const { ctx, server, clock } = await setup(() => (healthy ? { body: 'ok' } : { status: 503, body: 'down' }), {
    retry: { maxAttempts: 2, baseDelayMs: 10 },
    circuit: { failureThreshold: 3, coolDownMs: 10_000 },
  });
  await assert.rejects(get(ctx), /gave up after 2 attempts/);
  // The third consecutive failure opens the circuit; the retry is refused by it.
  await assert.rejects(get(ctx), { code: 'TL_ERR_CIRCUIT_OPEN', message: /circuit open after 3 consecutive failures/ });
  assert.equal(server.requests.length, 3);
  await assert.rejects(get(ctx), { code: 'TL_ERR_CIRCUIT_OPEN' });
  assert.equal(server.requests.length, 3, 'an open circuit sends nothing');
  const h = ctx.health();
  assert.equal(h.circuit, 'open');
  assert.equal(h.ok, false);
  assert.equal(h.errorRate, 1);
  assert.match(h.lastError ?? '', /HTTP 503/);

  clock.t += 10_000;
  await assert.rejects(get(ctx), { code: 'TL_ERR_CIRCUIT_OPEN', message: /the probe request failed/ });
  assert.equal(server.requests.length, 4, 'one probe went out and failed');

  clock.t += 10_000;
  healthy = true;
  assert.equal(await get(ctx), 'ok');
  assert.equal(ctx.circuit.state, 'closed');
  assert.equal(ctx.health().ok, true);
  assert.notEqual(ctx.health().lastSuccessAt, null);
});

test('aborting stops a request in the middle of its backoff', async () => {
  const { ctx } = await setup(() => ({ status: 503 }), { clock: undefined, retry: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(new Error('stopping')), 100);
  await assert.rejects(get(ctx, ac.signal), /stopping|aborted/);
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
});

test('Retry-After parsing', () => {
  assert.equal(parseRetryAfter('120', 0), 120_000);
  assert.equal(parseRetryAfter('1.5', 0), 1500);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27, 0)), 60_000);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2016, 0, 1)), 0);
  assert.equal(parseRetryAfter('soon', 0), undefined);
  assert.equal(parseRetryAfter(null, 0), undefined);
});
