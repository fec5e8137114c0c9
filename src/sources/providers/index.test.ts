import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { fixture, serve, type FixtureServer } from '../../../test/fixtures/providers/server.ts';
import { PROVIDER_NAMES, ProviderMetrics, createProvider, isProviderName, toHealth, type ProviderName } from './index.ts';

const servers: FixtureServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

test('createProvider builds each provider with its mode, minimum interval and history', () => {
  const made = PROVIDER_NAMES.map((name) => createProvider(name, { apiKey: 'k' }));
  assert.deepEqual(
    made.map((p) => [p.name, p.mode, p.minIntervalMs(1), typeof p.history]),
    [
      ['yahoo', 'polling', 2000, 'function'],
      ['alphavantage', 'polling', 3_456_000, 'function'],
      ['coingecko', 'polling', 2000, 'function'],
      ['coinbase', 'streaming', 0, 'undefined'],
    ],
  );
  assert.equal(createProvider('coingecko').minIntervalMs(1), 6000, 'keyless CoinGecko is slower');
  assert.throws(() => createProvider('bloomberg' as ProviderName), { code: 'TL_ERR_CONFIG', message: /unknown provider "bloomberg"; known: yahoo, alphavantage, coingecko, coinbase/ });
  assert.throws(() => createProvider('yahoo', { baseUrl: 'ftp://x' }), { code: 'TL_ERR_CONFIG', message: /baseUrl must use http: or https:/ });
  assert.throws(() => createProvider('coinbase', { wsUrl: 'not a url' }), { code: 'TL_ERR_CONFIG', message: /wsUrl must be an absolute URL/ });
  assert.throws(() => createProvider('yahoo', { timeoutMs: 0 }), { code: 'TL_ERR_CONFIG' });
  assert.throws(() => createProvider('yahoo', { retry: { maxDelayMs: -1 } }), { code: 'TL_ERR_CONFIG', message: /retry.maxDelayMs/ });
  assert.throws(() => createProvider('yahoo', { circuit: { coolDownMs: Number.NaN } }), { code: 'TL_ERR_CONFIG', message: /circuit.coolDownMs/ });
  assert.ok(isProviderName('coinbase'));
  assert.ok(!isProviderName('sim'));
});

test('health snapshots and metrics follow the requests', async () => {
  const s = await serve(() => ({ body: fixture('yahoo-quote.json') }));
  servers.push(s);
  const registry = new Registry();
  const metrics = new ProviderMetrics(registry);
  const p = createProvider('yahoo', { baseUrl: s.url, metrics });
  const before = p.health();
  assert.deepEqual({ ...before }, {
    provider: 'yahoo',
    ok: true,
    circuit: 'closed',
    lastSuccessAt: null,
    lastErrorAt: null,
    lastError: null,
    errorRate: null,
    requests: 0,
    windowSeconds: 300,
    budgetAvailable: 5,
    connected: null,
  });
  assert.deepEqual(toHealth(before), { ok: true, detail: 'closed' });
  await p.quotes(['AAPL']);
  const h = p.health();
  assert.equal(h.requests, 1);
  assert.equal(h.errorRate, 0);
  assert.notEqual(h.lastSuccessAt, null);
  assert.equal(h.budgetAvailable, 4);
  assert.match(toHealth(h).detail ?? '', /^closed; last success \d{4}-/);
  assert.match(await registry.metrics(), /tickline_provider_requests_total\{provider="yahoo",outcome="ok"\} 1/);
  assert.deepEqual(toHealth({ ...h, ok: false, circuit: 'open', lastError: 'yahoo: HTTP 503' }), { ok: false, detail: 'circuit open: yahoo: HTTP 503' });
});
