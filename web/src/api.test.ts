import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ApiClient, ApiError, parseSession, withQuery } from './api.ts';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

let calls: Call[] = [];
let next: () => Response;
const realFetch = globalThis.fetch;

beforeEach(() => {
  calls = [];
  globalThis.fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, method: init.method ?? 'GET', headers: init.headers as Record<string, string>, body: (init.body as string | null) ?? null });
    return next();
  }) as typeof fetch;
});

afterEach(() => {
  globalThis.fetch = realFetch;
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const SESSION = { user: { username: 'alice', role: 'analyst' }, csrf: 'c5rf' };

describe('ApiClient', () => {
  it('GETs JSON with the query, leaving empty parameters out', async () => {
    const api = new ApiClient(() => assert.fail('not a 401'));
    next = () => json(200, { bars: [] });
    assert.deepEqual(await api.get('/v1/bars', { symbol: 'AAPL', interval: '1m', limit: 500, run: '', expectation: undefined }), { bars: [] });
    assert.equal(calls[0]!.url, '/v1/bars?symbol=AAPL&interval=1m&limit=500');
    assert.equal(calls[0]!.method, 'GET');
    assert.equal(calls[0]!.headers['x-csrf-token'], undefined, 'no CSRF token on reads');
  });

  it('logs in, then sends the CSRF token on every state-changing request', async () => {
    const api = new ApiClient(() => {});
    next = () => json(200, SESSION);
    const s = await api.login('alice', 'correct horse battery');
    assert.deepEqual(s, SESSION);
    assert.deepEqual(JSON.parse(calls[0]!.body!), { username: 'alice', password: 'correct horse battery' });
    next = () => new Response(null, { status: 204 });
    assert.equal(await api.post('/v1/quarantine/release', { run: 'x' }), null);
    assert.equal(calls[1]!.headers['x-csrf-token'], 'c5rf');
    await api.logout();
    assert.equal(calls[2]!.url, '/auth/logout');
    assert.equal(calls[2]!.headers['x-csrf-token'], 'c5rf');
    await api.post('/x');
    assert.equal(calls[3]!.headers['x-csrf-token'], undefined, 'the token is forgotten at logout');
  });

  it("turns an error body into an ApiError with the server's code and message", async () => {
    const api = new ApiClient(() => {});
    next = () => json(400, { code: 'TL_ERR_VALIDATION', message: 'querystring/interval must be one of 1s, 1m' });
    await assert.rejects(api.get('/v1/bars'), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.deepEqual([e.status, e.code, e.message], [400, 'TL_ERR_VALIDATION', 'querystring/interval must be one of 1s, 1m']);
      return true;
    });
    next = () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' });
    await assert.rejects(api.get('/v1/bars'), { status: 502, code: 'HTTP_502', message: '<html>bad gateway</html>' });
  });

  it('reports a 429 with the Retry-After seconds, or the body details without the header', async () => {
    const api = new ApiClient(() => {});
    next = () => json(429, { code: 'TL_ERR_RATE_LIMITED', message: 'locked' }, { 'retry-after': '840' });
    await assert.rejects(api.login('alice', 'x'), { status: 429, code: 'TL_ERR_RATE_LIMITED', retryAfterSec: 840 });
    next = () => json(429, { code: 'TL_ERR_RATE_LIMITED', message: 'locked', details: { retryAfterSeconds: 30 } });
    await assert.rejects(api.login('alice', 'x'), { retryAfterSec: 30 });
  });

  it('calls the session-ended hook on a 401 from a data request, not from the login or /auth/me', async () => {
    let ended = 0;
    const api = new ApiClient(() => ended++);
    next = () => json(401, { code: 'TL_ERR_UNAUTHENTICATED', message: 'unknown username or wrong password' });
    await assert.rejects(api.login('alice', 'wrong'), { status: 401 });
    assert.equal(await api.me(), null);
    assert.equal(ended, 0);
    await assert.rejects(api.get('/v1/symbols'), { status: 401 });
    assert.equal(ended, 1);
  });

  it('reports an unreachable server as status 0', async () => {
    const api = new ApiClient(() => {});
    globalThis.fetch = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    await assert.rejects(api.get('/v1/symbols'), { status: 0, code: 'NETWORK' });
  });
});

describe('parseSession', () => {
  it('accepts the documented body and refuses an unknown role or a missing token', () => {
    assert.deepEqual(parseSession(SESSION), SESSION);
    // Authentication switched off: the local operator, marked so the page offers no logout.
    assert.deepEqual(parseSession({ user: { username: 'local', role: 'admin' }, csrf: '', expires_at: '', auth: 'off' }), {
      user: { username: 'local', role: 'admin' },
      csrf: '',
      authOff: true,
    });
    assert.throws(() => parseSession({ ...SESSION, user: { username: 'a', role: 'root' } }), { code: 'BAD_SESSION' });
    assert.throws(() => parseSession({ user: SESSION.user }), { code: 'BAD_SESSION' });
    assert.throws(() => parseSession(null), { code: 'BAD_SESSION' });
  });
});

describe('withQuery', () => {
  it('encodes values', () => {
    assert.equal(withQuery('/v1/quarantine', { symbol: 'BRK/B', limit: 100 }), '/v1/quarantine?symbol=BRK%2FB&limit=100');
    assert.equal(withQuery('/v1/symbols', {}), '/v1/symbols');
    assert.equal(withQuery('/v1/symbols'), '/v1/symbols');
  });
});
