/**
 * Polling jobs end to end, embedded: a provider (Yahoo's documented quote format, served on 127.0.0.1)
 * configured by URL, a job created over the API whose symbols then show live, bad input refused naming the
 * field, a failing job reporting its error, a malformed payload quarantined, and the job surviving a restart.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixture, serve, type FixtureServer } from '../fixtures/providers/server.ts';
import { filesUnder, getJson, post, readJsonl, start, tempDir, testConfig, until } from './helpers.ts';

interface Job {
  id: string;
  provider: string;
  symbols: string[];
  interval: number;
  status: string;
  runs: number;
  failures: number;
  ticks: number;
  last_error: string | null;
}

describe('polling jobs (embedded)', () => {
  const tmp = tempDir('tickline-poll-');
  let yahoo: FixtureServer;
  let mode: 'ok' | 'forbidden' | 'malformed' = 'ok';

  before(async () => {
    yahoo = await serve((req) => {
      if (req.path !== '/v7/finance/quote') return { status: 404, body: '{}' };
      if (mode === 'forbidden') return { status: 403, body: '{"finance":{"error":{"code":"Forbidden"}}}' };
      // As Yahoo does: only the symbols asked for.
      const asked = new Set((req.query.get('symbols') ?? '').split(','));
      const doc = JSON.parse(fixture(mode === 'malformed' ? 'yahoo-quote-malformed.json' : 'yahoo-quote.json')) as { quoteResponse: { result: Array<{ symbol: string }> } };
      doc.quoteResponse.result = doc.quoteResponse.result.filter((r) => asked.has(r.symbol));
      return { body: JSON.stringify(doc) };
    });
  });
  after(async () => {
    await yahoo.close();
    tmp.remove();
  });

  test('a job shows its symbols live, reports failures, quarantines malformed records, and survives a restart', async () => {
    const config = testConfig(tmp.dir, { yahooUrl: yahoo.url });
    let p = await start(config);
    let id = '';
    try {
      const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ symbols: ['AAPL'], interval: 60, provider: 'bloomberg' }, /^provider: unknown provider "bloomberg"/],
        [{ symbols: [], interval: 60, provider: 'yahoo' }, /^symbols: expected a non-empty list/],
        [{ symbols: ['AAPL', 'not a symbol'], interval: 60 }, /^symbols\[1\]: not a symbol: "not a symbol"/],
        [{ symbols: ['AAPL'], interval: 0.5, provider: 'yahoo' }, /^interval: 0\.5 s is below yahoo's minimum of 2 s/],
        [{ symbols: ['AAPL'], interval: 'often', provider: 'yahoo' }, /^interval: expected a number of seconds/],
        [{ symbols: ['BTC-USD'], interval: 60, provider: 'coinbase' }, /^provider: "coinbase" streams trades and cannot be polled/],
      ];
      for (const [body, message] of bad) {
        const r = await post(`${p.url}/v1/poll-jobs`, JSON.stringify(body));
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(String(r.body.message), message);
      }
      assert.deepEqual((await getJson<{ jobs: Job[] }>(`${p.url}/v1/poll-jobs`)).body.jobs, [], 'nothing stored for bad input');

      const created = await post(`${p.url}/v1/poll-jobs`, JSON.stringify({ symbols: ['aapl', 'MSFT'], interval: 2, provider: 'yahoo' }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      id = String(created.body.id);
      assert.match(id, /^pj_[0-9a-f]{16}$/);

      const latest = await until(async () => {
        const r = await getJson<{ price: number; provider: string }>(`${p.url}/v1/prices/latest?symbol=MSFT`);
        return r.status === 200 ? r.body : undefined;
      }, 10_000, 'MSFT from the polling job');
      assert.equal(latest.provider, 'yahoo');
      assert.equal(latest.price, 430.32);
      const done = await until(async () => {
        const j = (await getJson<Job>(`${p.url}/v1/poll-jobs/${id}`)).body;
        return j.runs >= 1 ? j : undefined;
      });
      assert.equal(done.status, 'ok');
      assert.equal(done.ticks, 2);
      const sources = (await getJson<{ sources: Array<{ name: string }> }>(`${p.url}/v1/sources`)).body.sources;
      assert.ok(sources.some((s) => s.name.startsWith(`poll:${id}`)), JSON.stringify(sources));

      // A provider refusing: the job says so and keeps its schedule.
      mode = 'forbidden';
      const failing = await until(async () => {
        const j = (await getJson<Job>(`${p.url}/v1/poll-jobs/${id}`)).body;
        return j.status === 'failing' ? j : undefined;
      }, 10_000, 'a failing run');
      assert.match(String(failing.last_error), /403/);
      const ready = (await getJson<{ providers: Record<string, { requests: number; last_error: string | null }> }>(`${p.url}/ready`)).body;
      assert.match(String(ready.providers.yahoo?.last_error), /403/);

      // A malformed record: quarantined with the reason, the good ones still used.
      mode = 'malformed';
      await p.stop();
      p = await start(config);
      const quarantined = await until(async () => {
        const rows = filesUnder(join(tmp.dir, 'zones'))
          .filter((f) => f.startsWith('quarantine/'))
          .flatMap((f) => readJsonl(join(tmp.dir, 'zones', f)));
        return rows.find((r) => r.expectation === 'well_formed_payload');
      }, 10_000, 'the malformed AAPL record in quarantine');
      assert.equal(quarantined.symbol, 'AAPL');
      assert.match(String(quarantined.detail), /regularMarketPrice/);

      // After the restart the job is still there and runs again; a good answer clears its error.
      mode = 'ok';
      const again = await until(async () => {
        const j = (await getJson<Job>(`${p.url}/v1/poll-jobs/${id}`)).body;
        return j.status === 'ok' && j.runs > failing.runs ? j : undefined;
      }, 10_000, 'the job running after the restart');
      assert.deepEqual(again.symbols, ['AAPL', 'MSFT']);

      const seed = await post(`${p.url}/prices/poll`, JSON.stringify({ symbols: ['AAPL'], interval: 60, provider: 'yfinance' }));
      assert.equal(seed.status, 200);
      assert.equal(seed.body.status, 'accepted');
      assert.deepEqual(seed.body.config, { symbols: ['AAPL'], interval: 60, provider: 'yahoo' });
      const del = await fetch(`${p.url}/v1/poll-jobs/${String(seed.body.job_id)}`, { method: 'DELETE' });
      assert.equal(del.status, 204);
      assert.equal((await getJson(`${p.url}/v1/poll-jobs/${String(seed.body.job_id)}`)).status, 404);
    } finally {
      await p.stop();
    }
  });
});
