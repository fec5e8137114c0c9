import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TicklineError } from '../../core/errors.ts';
import { toMicros } from '../../core/time.ts';
import { fakeApi, type FakeOptions } from '../test-fakes.ts';

const JSON_CT = { 'content-type': 'application/json' };
const NDJSON_CT = { 'content-type': 'application/x-ndjson' };

type TestContext = { after: (fn: () => Promise<unknown>) => void };

async function api(t: TestContext, opts: FakeOptions = {}) {
  const built = await fakeApi(opts);
  t.after(() => built.app.close());
  return built;
}

function good(i = 0): Record<string, unknown> {
  return { symbol: 'aapl', price: 190 + i, size: 5, ts: `2024-01-02T15:04:05.${String(i).padStart(6, '0')}Z` };
}

async function counter(deps: Awaited<ReturnType<typeof fakeApi>>['deps'], route: string, status: string): Promise<number> {
  const m = await deps.metrics.ingestRequests.get();
  return m.values.find((v) => v.labels.route === route && v.labels.status === status)?.value ?? 0;
}

describe('POST /v1/ticks', () => {
  it('ingests a JSON array and answers 202 with the pipeline result', async (t) => {
    const { app, deps } = await api(t);
    const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: JSON_CT, payload: JSON.stringify([good(0), { ...good(1), price: -1 }]) });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { accepted: 2, quarantined: 1, issues: [{ index: 1, reason: 'price_not_positive' }] });
    assert.equal(deps.ingested.length, 1);
    const [first] = deps.ingested[0]!;
    assert.equal(first!.symbol, 'AAPL');
    assert.equal(first!.provider, 'api');
    assert.equal(first!.currency, 'USD');
    assert.equal(first!.ts, toMicros('2024-01-02T15:04:05Z'));
    assert.equal(await counter(deps, '/v1/ticks', '202'), 1);
  });

  it('ingests NDJSON, ignoring blank lines', async (t) => {
    const { app, deps } = await api(t);
    const payload = `${JSON.stringify(good(0))}\r\n\n   \n${JSON.stringify(good(1))}\n`;
    const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: NDJSON_CT, payload });
    assert.equal(res.statusCode, 202);
    assert.equal(res.json().accepted, 2);
    assert.deepEqual(deps.ingested[0]!.map((x) => x.price), [190, 191]);
  });

  it('takes a 10 000-tick body in one batch', async (t) => {
    const { app, deps } = await api(t);
    const ticks = Array.from({ length: 10_000 }, (_, i) => ({ symbol: 'BTC-USD', price: 42_000 + i / 100, size: 0.5, ts: 1_704_207_845_000_000 + i }));
    const started = performance.now();
    const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: JSON_CT, payload: JSON.stringify(ticks) });
    const ms = performance.now() - started;
    assert.equal(res.statusCode, 202);
    assert.equal(deps.ingested.length, 1);
    assert.equal(deps.ingested[0]!.length, 10_000);
    // Generous bound: it takes ~30 ms; this only catches an accidental per-tick await or quadratic step.
    assert.ok(ms < 2_000, `took ${ms} ms`);
  });

  describe('answers 422 TL_ERR_BAD_TICK naming index and field, and writes nothing', () => {
    for (const [name, record, field, pattern] of [
      ['a record missing price', { symbol: 'AAPL', ts: 1_704_207_845 }, 'price', /price is required/],
      ['price "abc"', { symbol: 'AAPL', ts: 1_704_207_845, price: 'abc' }, 'price', /price must be a number, got "abc"/],
      ['a bad timestamp', { symbol: 'AAPL', ts: '2024-13-45T99:00:00Z', price: 1 }, 'ts', /ts must be an ISO 8601 date-time/],
      ['an unknown field', { ...good(), colour: 'red' }, 'colour', /unknown field "colour"/],
      ['a record that is not an object', 42, '(record)', /record must be a JSON object/],
    ] as const) {
      it(name, async (t) => {
        const { app, deps } = await api(t);
        const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: JSON_CT, payload: JSON.stringify([good(0), record, good(2)]) });
        assert.equal(res.statusCode, 422);
        const body = res.json();
        assert.equal(body.code, 'TL_ERR_BAD_TICK');
        assert.equal(body.message, '1 of 3 ticks are malformed; nothing was written');
        assert.equal(body.details.length, 1);
        assert.equal(body.details[0].index, 1);
        assert.equal(body.details[0].field, field);
        assert.match(body.details[0].message, pattern);
        assert.equal(deps.ingested.length, 0);
        assert.equal(await counter(deps, '/v1/ticks', '422'), 1);
      });
    }

    it('with NDJSON line numbers, counting every bad record but listing at most 100 issues', async (t) => {
      const { app, deps } = await api(t);
      const lines = [JSON.stringify(good(0)), ''];
      for (let i = 0; i < 150; i++) lines.push(JSON.stringify({ symbol: 'AAPL', ts: 1_704_207_845, price: 'x' }));
      const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: NDJSON_CT, payload: lines.join('\n') });
      assert.equal(res.statusCode, 422);
      const body = res.json();
      assert.equal(body.message, '150 of 151 ticks are malformed; nothing was written');
      assert.equal(body.details.length, 100);
      assert.deepEqual(body.details[0], { index: 1, line: 3, field: 'price', value: 'x', message: 'price must be a number, got "x"' });
      assert.equal(deps.ingested.length, 0);
    });

    it('truncates echoed values', async (t) => {
      const { app } = await api(t);
      const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: JSON_CT, payload: JSON.stringify([{ ...good(), symbol: 'X'.repeat(5000) }]) });
      assert.equal(res.statusCode, 422);
      assert.ok(res.json().details[0].value.length <= 80);
    });
  });

  describe('answers 4xx for bad requests and calls ingest zero times', () => {
    const cases: Array<[string, Record<string, string>, string, number, string, RegExp]> = [
      ['malformed JSON', JSON_CT, '[{"symbol":"AAPL","price":1,}]', 400, 'TL_ERR_VALIDATION', /request body is not valid JSON: .*position 28/],
      ['truncated JSON', JSON_CT, '[{"symbol":"AAPL"', 400, 'TL_ERR_VALIDATION', /request body is not valid JSON/],
      ['NDJSON with a bad line', NDJSON_CT, `${JSON.stringify(good())}\n\n{"symbol":}\n`, 400, 'TL_ERR_VALIDATION', /^NDJSON line 3 is not valid JSON/],
      ['an empty JSON body', JSON_CT, '', 400, 'TL_ERR_VALIDATION', /body is empty/],
      ['an empty array', JSON_CT, '[]', 400, 'TL_ERR_VALIDATION', /holds no ticks/],
      ['an empty NDJSON body', NDJSON_CT, '\n\n', 400, 'TL_ERR_VALIDATION', /holds no ticks/],
      ['a single object instead of an array', JSON_CT, JSON.stringify(good()), 400, 'TL_ERR_VALIDATION', /must be a JSON array of tick objects/],
      ['a __proto__ key', JSON_CT, '[{"symbol":"AAPL","price":1,"ts":1,"__proto__":{"x":1}}]', 400, 'TL_ERR_VALIDATION', /__proto__/],
      ['text/plain', { 'content-type': 'text/plain' }, 'AAPL 190', 415, 'TL_ERR_UNSUPPORTED_MEDIA', /application\/x-ndjson/],
      ['an unknown content type', { 'content-type': 'application/xml' }, '<tick/>', 415, 'TL_ERR_UNSUPPORTED_MEDIA', /"application\/xml"/],
    ];
    for (const [name, headers, payload, status, code, pattern] of cases) {
      it(name, async (t) => {
        const { app, deps } = await api(t);
        const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers, payload });
        assert.equal(res.statusCode, status, res.body);
        assert.equal(res.json().code, code);
        assert.match(res.json().message, pattern);
        assert.equal(deps.ingested.length, 0);
        assert.equal(await counter(deps, '/v1/ticks', String(status)), 1);
      });
    }

    it('no body at all', async (t) => {
      const { app, deps } = await api(t);
      const res = await app.inject({ method: 'POST', url: '/v1/ticks' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'TL_ERR_VALIDATION');
      assert.equal(deps.ingested.length, 0);
    });

    it('a body over ingestMaxBytes is 413 TL_ERR_PAYLOAD_TOO_LARGE', async (t) => {
      const { app, deps } = await api(t, { config: { ingestMaxBytes: 2048 } });
      const payload = JSON.stringify(Array.from({ length: 100 }, (_, i) => good(i)));
      assert.ok(payload.length > 2048);
      const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: JSON_CT, payload });
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().code, 'TL_ERR_PAYLOAD_TOO_LARGE');
      assert.match(res.json().message, /2048 bytes/);
      assert.equal(deps.ingested.length, 0);
      assert.equal(await counter(deps, '/v1/ticks', '413'), 1);
    });

    it('an over-size body without Content-Length is 413 too', async (t) => {
      const { app, deps } = await api(t, { config: { ingestMaxBytes: 2048 } });
      const payload = Array.from({ length: 100 }, (_, i) => JSON.stringify(good(i))).join('\n');
      const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: { ...NDJSON_CT, 'transfer-encoding': 'chunked' }, payload });
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().code, 'TL_ERR_PAYLOAD_TOO_LARGE');
      assert.equal(deps.ingested.length, 0);
    });
  });

  it('is 503 TL_ERR_UNAVAILABLE when the process has no ingest role', async (t) => {
    const { app, deps } = await api(t, { ingest: null });
    const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: JSON_CT, payload: JSON.stringify([good()]) });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { code: 'TL_ERR_UNAVAILABLE', message: 'this process does not run the ingest role' });
    assert.equal(await counter(deps, '/v1/ticks', '503'), 1);
  });

  it('passes on the status of a TicklineError from the pipeline', async (t) => {
    const { app } = await api(t, {
      ingest: async () => {
        throw new TicklineError('TL_ERR_CLOSED', 'the bus is shut down');
      },
    });
    const res = await app.inject({ method: 'POST', url: '/v1/ticks', headers: JSON_CT, payload: JSON.stringify([good()]) });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { code: 'TL_ERR_CLOSED', message: 'the bus is shut down' });
  });
});
