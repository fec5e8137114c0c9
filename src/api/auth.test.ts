import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { AuthService, openAuthStore, type AuthStore, type Scope } from '../auth/index.ts';
import { loadConfig } from '../config/load.ts';
import { silentLogger } from '../core/log.ts';
import { isLoopback, startPlatform } from '../roles/platform.ts';
import { accessTable, CSRF_HEADER, SESSION_COOKIE, type RouteAccess } from './auth.ts';
import { fakeApi } from './test-fakes.ts';

const FAST = { logN: 4, r: 8, p: 1 };
const PASSWORD = 'correct horse battery staple';

/** A concrete URL for a route pattern. */
function concrete(url: string): string {
  return url
    .replace(':username', 'viewer1')
    .replace(':id', '0123456789abcdef')
    .replace(':symbol', 'AAPL')
    .replace('*', 'app.js');
}

function cookieOf(res: LightMyRequestResponse): string {
  const set = res.headers['set-cookie'];
  const line = (Array.isArray(set) ? set : [set ?? '']).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(line, `a ${SESSION_COOKIE} cookie in ${JSON.stringify(set)}`);
  return line;
}

describe('authentication on the HTTP API', () => {
  let dir: string;
  let store: AuthStore;
  let auth: AuthService;
  let app: FastifyInstance;
  const keys: Partial<Record<string, string>> = {};
  let table: readonly RouteAccess[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickline-auth-api-'));
    store = await openAuthStore(`file://${join(dir, 'auth.json')}`);
    auth = new AuthService({ store, scrypt: FAST });
    await auth.bootstrap(PASSWORD);
    await auth.addUser({ username: 'viewer1', password: PASSWORD, role: 'viewer' }, 'admin');
    await auth.addUser({ username: 'analyst1', password: PASSWORD, role: 'analyst' }, 'admin');
    const sets: Array<[string, Scope[]]> = [
      ['read', ['read']],
      ['ingest', ['ingest']],
      ['readIngest', ['read', 'ingest']],
      ['admin', ['admin']],
      ['revoked', ['admin']],
    ];
    for (const [name, scopes] of sets) keys[name] = (await auth.createKey({ name, scopes, createdBy: 'admin' })).secret;
    const revokedId = /^tl_([0-9a-f]{16})_/.exec(keys.revoked!)![1]!;
    await auth.revokeKey(revokedId, 'admin');
    ({ app } = await fakeApi({ auth }));
    table = accessTable(app);
  });

  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (r: RouteAccess, headers: Record<string, string> = {}) =>
    app.inject({ method: r.method as 'GET', url: concrete(r.url), headers: { 'content-type': 'application/json', ...headers }, payload: r.method === 'GET' || r.method === 'DELETE' ? undefined : '{}' });

  test('every route has an access rule; only the probes, the login and the page are public', () => {
    assert.ok(table.length >= 30, `routes seen: ${table.length}`);
    const pub = table.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`).sort();
    assert.deepEqual(pub, ['GET /', 'GET /*', 'GET /health', 'GET /metrics', 'GET /ready', 'POST /auth/login'].sort());
    const admin = table.filter((r) => r.access === 'admin').map((r) => r.url);
    assert.ok(admin.length >= 10 && admin.every((u) => u.startsWith('/v1/admin/')), admin.join(' '));
    for (const seed of ['/prices/latest', '/market_data/last_price/:symbol', '/ingest/quote']) {
      assert.ok(table.some((r) => r.url === seed && r.access !== 'public'), `${seed} is protected`);
    }
  });

  test('every protected route refuses a missing, malformed, unknown or revoked key with 401', async () => {
    const unknownKey = `tl_ffffffffffffffff_${'A'.repeat(43)}`;
    for (const r of table.filter((x) => x.access !== 'public')) {
      const cases: Array<[string, Record<string, string>]> = [
        ['missing', {}],
        ['not bearer', { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` }],
        ['malformed', { authorization: 'Bearer nope' }],
        ['unknown', { authorization: `Bearer ${unknownKey}` }],
        ['revoked', { authorization: `Bearer ${keys.revoked}` }],
        ['bad cookie', { cookie: `${SESSION_COOKIE}=${'x'.repeat(43)}` }],
      ];
      for (const [what, headers] of cases) {
        const res = await call(r, headers);
        assert.equal(res.statusCode, 401, `${r.method} ${r.url} with a ${what} credential: ${res.body}`);
        assert.equal(res.json().code, 'TL_ERR_UNAUTHENTICATED');
      }
    }
  });

  test('every route refuses a key without the scope it needs with 403, and lets one with it through', async () => {
    const outOfScope: Record<string, string> = { read: keys.ingest!, ingest: keys.read!, admin: keys.readIngest! };
    const inScope: Record<string, string> = { read: keys.read!, ingest: keys.ingest!, admin: keys.admin!, authenticated: keys.read! };
    for (const r of table.filter((x) => x.access !== 'public')) {
      const wrong = outOfScope[r.access];
      if (wrong) {
        const res = await call(r, { authorization: `Bearer ${wrong}` });
        assert.equal(res.statusCode, 403, `${r.method} ${r.url} (needs ${r.access}) with a key lacking it: ${res.body}`);
        assert.match(res.json().message, new RegExp(`needs the "${r.access}" scope`));
      }
      // The live stream never ends by itself: its admission is checked without opening it.
      if (r.url === '/v1/live') continue;
      const res = await call(r, { authorization: `Bearer ${inScope[r.access]!}` });
      assert.ok(res.statusCode !== 401 && res.statusCode !== 403, `${r.method} ${r.url} with the ${r.access} scope: ${res.statusCode} ${res.body}`);
    }
    const admin = await app.inject({ url: '/v1/admin/users', headers: { authorization: `Bearer ${keys.admin}` } });
    assert.equal(admin.statusCode, 200);
    assert.deepEqual(admin.json().users.map((u: { username: string }) => u.username).sort(), ['admin', 'analyst1', 'viewer1']);
  });

  test('public routes answer without credentials', async () => {
    for (const url of ['/health', '/ready', '/metrics']) assert.equal((await app.inject(url)).statusCode, 200, url);
    // An ended session or a wrong key does not keep anyone from the page (or the sign-in form on it).
    for (const headers of [{ cookie: `${SESSION_COOKIE}=${'x'.repeat(43)}` }, { authorization: 'Bearer nope' }]) {
      assert.equal((await app.inject({ url: '/', headers })).statusCode, 200, JSON.stringify(headers));
    }
    const page = await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['content-encoding'], 'gzip');
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  });

  test('a browser session: HttpOnly SameSite cookie, CSRF on unsafe requests, role checks, logout', async () => {
    const bad = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'viewer1', password: 'wrong password!!' } });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.headers['set-cookie'], undefined);

    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'Analyst1', password: PASSWORD } });
    assert.equal(login.statusCode, 200, login.body);
    const setCookie = cookieOf(login);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.doesNotMatch(setCookie, /Secure/, 'plain HTTP: no Secure flag');
    const cookie = setCookie.split(';')[0]!;
    const { csrf, user } = login.json();
    assert.deepEqual(user, { username: 'analyst1', role: 'analyst' });

    const me = await app.inject({ url: '/auth/me', headers: { cookie } });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().csrf, csrf);

    const tick = JSON.stringify([{ symbol: 'AAPL', price: 1, ts: '2026-01-02T15:00:00Z' }]);
    const noCsrf = await app.inject({ method: 'POST', url: '/v1/ticks', headers: { cookie, 'content-type': 'application/json' }, payload: tick });
    assert.equal(noCsrf.statusCode, 403, noCsrf.body);
    assert.match(noCsrf.json().message, /x-csrf-token/);
    const wrongCsrf = await app.inject({ method: 'POST', url: '/v1/ticks', headers: { cookie, 'content-type': 'application/json', [CSRF_HEADER]: 'x' + csrf.slice(1) }, payload: tick });
    assert.equal(wrongCsrf.statusCode, 403);
    const ok = await app.inject({ method: 'POST', url: '/v1/ticks', headers: { cookie, 'content-type': 'application/json', [CSRF_HEADER]: csrf }, payload: tick });
    assert.equal(ok.statusCode, 202, ok.body);

    const adminPage = await app.inject({ url: '/v1/admin/users', headers: { cookie } });
    assert.equal(adminPage.statusCode, 403, 'an analyst is not an admin');

    const out = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, [CSRF_HEADER]: csrf } });
    assert.equal(out.statusCode, 204);
    assert.match(cookieOf(out), /Expires=Thu, 01 Jan 1970/);
    assert.equal((await app.inject({ url: '/v1/symbols', headers: { cookie } })).statusCode, 401, 'the session ended');
  });

  test('repeated wrong passwords lock the login with 429 and Retry-After', async () => {
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 6; i++) {
      last = await app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '10.9.8.7', payload: { username: 'viewer1', password: `wrong password ${i}` } });
    }
    assert.equal(last!.statusCode, 429, last!.body);
    assert.ok(Number(last!.headers['retry-after']) > 0);
    const right = await app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '10.9.8.7', payload: { username: 'viewer1', password: PASSWORD } });
    assert.equal(right.statusCode, 429, 'locked even with the right password');
  });

  test('admins manage users and keys over the API, and every change is in a verified audit chain', async () => {
    const h = { authorization: `Bearer ${keys.admin}` };
    const add = await app.inject({ method: 'POST', url: '/v1/admin/users', headers: h, payload: { username: 'temp1', password: PASSWORD, role: 'viewer' } });
    assert.equal(add.statusCode, 201, add.body);
    const short = await app.inject({ method: 'POST', url: '/v1/admin/users', headers: h, payload: { username: 'temp2', password: 'short', role: 'viewer' } });
    assert.equal(short.statusCode, 400);
    assert.match(short.json().message, /password/);
    assert.equal((await app.inject({ method: 'PUT', url: '/v1/admin/users/temp1/role', headers: h, payload: { role: 'analyst' } })).json().user.role, 'analyst');
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1/admin/users/temp1', headers: h })).statusCode, 204);
    const made = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: h, payload: { name: 'feeder', scopes: ['ingest'] } });
    assert.equal(made.statusCode, 201);
    const { key, secret } = made.json();
    assert.match(secret, /^tl_[0-9a-f]{16}_/);
    const listed = (await app.inject({ url: '/v1/admin/keys', headers: h })).body;
    assert.ok(!listed.includes(secret.slice(20)), 'a key list never holds a secret');
    assert.deepEqual((await app.inject({ method: 'DELETE', url: `/v1/admin/keys/${key.id}`, headers: h })).json(), { revoked: true });
    const revokedUse = await app.inject({ method: 'POST', url: '/v1/ticks', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, payload: '[]' });
    assert.equal(revokedUse.statusCode, 401);

    const audit = (await app.inject({ url: '/v1/admin/audit?limit=50', headers: h })).json();
    assert.equal(audit.verify.ok, true);
    const actions = audit.entries.map((e: { action: string }) => e.action);
    for (const a of ['user.add', 'user.role', 'user.remove', 'key.create', 'key.revoke', 'login.ok', 'login.failed', 'logout']) assert.ok(actions.includes(a), `${a} in ${actions.join(',')}`);
    const keyEntry = audit.entries.find((e: { action: string; target: string }) => e.action === 'key.create' && e.target === key.id);
    assert.equal(keyEntry.actor, `key:${/^tl_([0-9a-f]{16})_/.exec(keys.admin!)![1]}`);
  });

  test('an edited or deleted audit entry is detected through the API', async () => {
    const h = { authorization: `Bearer ${keys.admin}` };
    const file = join(dir, 'auth.json');
    // The store keeps its document in memory: edit the file, then reopen a second API on it.
    await app.close();
    await store.close();
    const original = readFileSync(file, 'utf8');
    const doc = JSON.parse(original);
    doc.audit[1].actor = 'someone-else';
    writeFileSync(file, JSON.stringify(doc));
    store = await openAuthStore(`file://${file}`);
    auth = new AuthService({ store, scrypt: FAST });
    ({ app } = await fakeApi({ auth }));
    const edited = (await app.inject({ url: '/v1/admin/audit/verify', headers: h })).json();
    assert.equal(edited.ok, false);
    assert.equal(edited.firstBad.seq, 2);

    await app.close();
    await store.close();
    const cut = JSON.parse(original);
    cut.audit.splice(3, 1);
    writeFileSync(file, JSON.stringify(cut));
    store = await openAuthStore(`file://${file}`);
    auth = new AuthService({ store, scrypt: FAST });
    ({ app } = await fakeApi({ auth }));
    const deleted = (await app.inject({ url: '/v1/admin/audit/verify', headers: h })).json();
    assert.equal(deleted.ok, false);
    assert.equal(deleted.firstBad.seq, 4, JSON.stringify(deleted));
    assert.match(deleted.firstBad.reason, /missing/);
  });
});

describe('authentication switched off', () => {
  test('isLoopback knows the loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) assert.equal(isLoopback(h), false, h);
  });

  test('the server refuses to listen on a non-loopback address without authentication', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickline-auth-off-'));
    try {
      const config = loadConfig({ env: {}, overrides: { dataDir: dir, host: '0.0.0.0', port: 0, auth: false, simRate: 0 } });
      await assert.rejects(startPlatform({ config, logger: silentLogger() }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TL_ERR_CONFIG');
        assert.match(err.message, /TICKLINE_AUTH=off is only allowed on a loopback address, but TICKLINE_HOST is "0\.0\.0\.0"/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every route is open and the caller is the local operator', async () => {
    const { app } = await fakeApi();
    try {
      assert.equal((await app.inject('/v1/symbols')).statusCode, 200);
      assert.deepEqual((await app.inject('/auth/me')).json().user, { username: 'local', role: 'admin' });
      assert.equal((await app.inject('/v1/admin/users')).statusCode, 503, 'no users without authentication');
    } finally {
      await app.close();
    }
  });
});

describe('sessions over TLS', () => {
  test('the session cookie is Secure when the API is served over HTTPS', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tickline-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const store = await openAuthStore(`file://${join(dir, 'auth.json')}`);
    t.after(() => store.close());
    const auth = new AuthService({ store, scrypt: FAST });
    await auth.bootstrap(PASSWORD);
    const { app } = await fakeApi({ auth, config: { tlsCert: cert, tlsKey: key } });
    t.after(() => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const body = JSON.stringify({ username: 'admin', password: PASSWORD });
    const res = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port, path: '/auth/login', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode ?? 0, cookie: String(r.headers['set-cookie'] ?? '') }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res.status, 200);
    const line = res.cookie;
    assert.match(line, /; Secure/);
    assert.match(line, /HttpOnly/);
  });
});
