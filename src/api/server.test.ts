import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { VERSION, buildApi } from './server.ts';
import { fakeApi, fakeDeps } from './test-fakes.ts';

type TestContext = { after: (fn: () => Promise<unknown>) => void };

async function api(t: TestContext) {
  const built = await fakeApi();
  t.after(() => built.app.close());
  return built;
}

const ROUTES: Array<[string, string]> = [
  ['get', '/health'],
  ['get', '/ready'],
  ['get', '/metrics'],
  ['get', '/v1/symbols'],
  ['get', '/v1/prices/latest'],
  ['get', '/v1/prices/history'],
  ['get', '/v1/bars'],
  ['post', '/v1/ticks'],
  ['get', '/v1/sources'],
  ['get', '/v1/live'],
  ['post', '/ingest/quote'],
  ['get', '/market_data/last_price/{symbol}'],
  ['get', '/prices/latest'],
  ['get', '/v1/quality/suite'],
  ['get', '/v1/quality/runs'],
  ['get', '/v1/quality/runs/{id}'],
  ['get', '/v1/quality/runs/{id}/report'],
  ['get', '/v1/quarantine'],
  ['post', '/v1/quarantine/release'],
  ['post', '/v1/replay'],
  ['post', '/auth/login'],
  ['post', '/auth/logout'],
  ['get', '/auth/me'],
  ['get', '/v1/admin/users'],
  ['post', '/v1/admin/users'],
  ['delete', '/v1/admin/users/{username}'],
  ['put', '/v1/admin/users/{username}/password'],
  ['put', '/v1/admin/users/{username}/role'],
  ['get', '/v1/admin/keys'],
  ['post', '/v1/admin/keys'],
  ['delete', '/v1/admin/keys/{id}'],
  ['get', '/v1/admin/audit'],
  ['get', '/v1/admin/audit/verify'],
  ['post', '/v1/poll-jobs'],
  ['get', '/v1/poll-jobs'],
  ['get', '/v1/poll-jobs/{id}'],
  ['delete', '/v1/poll-jobs/{id}'],
  ['post', '/prices/poll'],
];

describe('OpenAPI and Swagger UI', () => {
  it('/openapi.json describes every route with tags and a success schema', async (t) => {
    const { app } = await api(t);
    const res = await app.inject('/openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, '3.0.3');
    assert.equal(doc.info.title, 'Tickline');
    assert.equal(doc.info.version, VERSION);
    assert.deepEqual(Object.keys(doc.paths).sort(), [...new Set(ROUTES.map(([, p]) => p))].sort());
    for (const [method, path] of ROUTES) {
      const op = doc.paths[path][method];
      assert.ok(op, `${method} ${path}`);
      assert.ok(op.tags?.length > 0, `${method} ${path} has tags`);
      if (op.responses['204']) continue;
      const ok = op.responses['200'] ?? op.responses['201'] ?? op.responses['202'];
      assert.ok(ok?.content, `${method} ${path} has a success schema`);
    }
    const ticks = doc.paths['/v1/ticks'].post;
    assert.deepEqual(Object.keys(ticks.requestBody.content).sort(), ['application/json', 'application/x-ndjson']);
    assert.ok(ticks.responses['422'] && ticks.responses['413']);
    const bars = doc.paths['/v1/bars'].get.parameters.find((p: { name: string }) => p.name === 'interval');
    assert.deepEqual(bars.schema.enum, ['1s', '1m', '5m', '1h', '1d']);
  });

  it('/docs serves the Swagger UI page and its assets locally', async (t) => {
    const { app } = await api(t);
    const page = await app.inject('/docs/');
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.match(page.body, /swagger-ui/);
    assert.doesNotMatch(page.body, /<script[^>]+src="https?:/);
    const bundle = await app.inject('/docs/static/swagger-ui-bundle.js');
    assert.equal(bundle.statusCode, 200);
    const redirect = await app.inject('/docs');
    assert.ok([200, 302].includes(redirect.statusCode));
  });
});

describe('errors', () => {
  it('an unknown route is a 404 JSON error', async (t) => {
    const { app } = await api(t);
    const res = await app.inject('/v2/nothing?x=1');
    assert.equal(res.statusCode, 404);
    assert.match(res.headers['content-type'] as string, /^application\/json/);
    assert.equal(res.json().code, 'TL_ERR_NOT_FOUND');
    assert.match(res.json().message, /GET "\/v2\/nothing"/);
  });

  it('an unexpected error is a 500 with a generic message, logged with the request id', async (t) => {
    const lines: string[] = [];
    const deps = fakeDeps();
    deps.logger = pino(
      { level: 'error' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    deps.store.symbols = async () => {
      throw new Error('password=hunter2 connection reset');
    };
    const app = await buildApi(deps);
    t.after(() => app.close());
    const res = await app.inject({ url: '/v1/symbols', headers: { 'x-request-id': 'req-abc' } });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['x-request-id'], 'req-abc');
    assert.equal(res.json().code, 'TL_ERR_INTERNAL');
    assert.match(res.json().message, /req-abc/);
    assert.doesNotMatch(res.body, /hunter2|connection reset/);
    const logged = lines.map((l) => JSON.parse(l) as { reqId?: string; err?: { message: string } }).find((l) => l.err);
    assert.equal(logged?.reqId, 'req-abc');
    assert.match(logged?.err?.message ?? '', /connection reset/);
  });

  it('a wrong method on a known path is a 404 JSON error, not a 500', async (t) => {
    const { app } = await api(t);
    const res = await app.inject({ method: 'DELETE', url: '/v1/ticks' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'TL_ERR_NOT_FOUND');
  });

  it('a bad query on any route is a 400 naming the field, never a 500', async (t) => {
    const { app } = await api(t);
    for (const url of ['/v1/prices/latest?symbol=', '/v1/bars?symbol=AAPL&limit=-5', '/v1/prices/history?symbol=AAPL&cursor=']) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json().code, 'TL_ERR_VALIDATION');
      assert.match(res.json().message, /^querystring\/\w+ /, url);
    }
  });
});
