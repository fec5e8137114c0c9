/**
 * The CLI's HTTP side against a stub API on 127.0.0.1 that records every request: the admin commands
 * (with an API key, and with a `--user` login session), the credentials every read command sends, and
 * what 401/403 answers print. The contract is the one of src/api/routes/auth.ts and admin.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { runTickline, type CliRun } from './test-harness.ts';

const KEY = `tl_0123456789abcdef_${'A'.repeat(21)}-${'b'.repeat(21)}`;
const NEW_SECRET = `tl_fedcba9876543210_${'Z'.repeat(20)}_${'y'.repeat(22)}`;
const SESSION = 's'.repeat(43);
const CSRF = 'csrf-token-of-the-session';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
  /** Raw text instead of JSON (NDJSON streams). */
  text?: string;
}

const USER = { username: 'carol', role: 'analyst', created_at: '2026-11-21T10:00:00.000Z', updated_at: '2026-11-21T10:00:00.000Z' };
const KEY_VIEW = {
  id: 'fedcba9876543210',
  name: 'loader',
  scopes: ['ingest', 'read'],
  created_by: 'admin',
  created_at: '2026-11-21T10:00:00.000Z',
  revoked_at: null,
  revoked_by: null,
  last_used_at: null,
};
const ENTRY = { seq: 7, at: '2026-11-21T10:00:00.000Z', actor: 'admin', action: 'user.add', target: 'carol', detail: { role: 'analyst' }, prev_hash: 'a'.repeat(64), hash: 'b'.repeat(64) };

/** The stub's routes: `METHOD /path` → answer (or a function of the request). */
function defaultRoutes(): Record<string, Answer | ((s: Seen) => Answer)> {
  return {
    'POST /auth/login': (s) =>
      (s.body as { password?: string }).password === 'right password here'
        ? { status: 200, body: { user: { username: 'admin', role: 'admin' }, csrf: CSRF, expires_at: '2026-11-22T00:00:00.000Z' }, headers: { 'set-cookie': [`tickline_session=${SESSION}; Path=/; HttpOnly; SameSite=Strict`] } }
        : { status: 401, body: { code: 'TL_ERR_UNAUTHENTICATED', message: 'login: unknown username or wrong password' } },
    'POST /auth/logout': { status: 204 },
    'GET /v1/admin/users': { status: 200, body: { users: [USER] } },
    'POST /v1/admin/users': { status: 201, body: { user: USER } },
    'DELETE /v1/admin/users/carol': { status: 204 },
    'PUT /v1/admin/users/carol/password': { status: 204 },
    'PUT /v1/admin/users/carol/role': { status: 200, body: { user: { ...USER, role: 'viewer' } } },
    'GET /v1/admin/keys': { status: 200, body: { keys: [KEY_VIEW] } },
    'POST /v1/admin/keys': { status: 201, body: { key: KEY_VIEW, secret: NEW_SECRET } },
    'DELETE /v1/admin/keys/fedcba9876543210': { status: 200, body: { revoked: true } },
    'GET /v1/admin/audit': { status: 200, body: { entries: [ENTRY], verify: { ok: true, entries: 7 } } },
    'GET /v1/admin/audit/verify': { status: 200, body: { ok: false, entries: 3, firstBad: { seq: 3, reason: 'prevHash does not match the hash of entry seq 2' } } },
    'GET /v1/prices/latest': { status: 200, body: { symbol: 'AAPL', price: 190.5, bid: 190.4, ask: 190.6, size: 10, ts: '2026-11-21T10:00:00.000Z', age_ms: 5, provider: 'sim' } },
    'GET /v1/quality/runs': { status: 200, body: { runs: [] } },
    'POST /v1/replay': { status: 200, text: `${JSON.stringify({ progress: { phase: 'replay', unit: 'hours', done: 1, total: 1, rows: 3 } })}\n${JSON.stringify({ result: { hours: 1, rows: 3 } })}\n` },
  };
}

describe('tickline admin and read commands over HTTP', () => {
  let server: Server;
  let api: string;
  let seen: Seen[] = [];
  let routes = defaultRoutes();
  let dir: string;
  let keyFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tickline-cli-http-'));
    keyFile = join(dir, 'key');
    await writeFile(keyFile, `${KEY}\n`);
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        const url = new URL(req.url!, 'http://stub');
        const s: Seen = { method: req.method!, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body: raw ? JSON.parse(raw) : undefined };
        seen.push(s);
        const route = routes[`${s.method} ${s.path}`];
        const a: Answer = typeof route === 'function' ? route(s) : (route ?? { status: 404, body: { code: 'TL_ERR_NOT_FOUND', message: `no route ${s.method} ${s.path}` } });
        res.writeHead(a.status, { 'content-type': a.text ? 'application/x-ndjson' : 'application/json', ...a.headers });
        res.end(a.text ?? (a.body === undefined ? '' : JSON.stringify(a.body)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen = [];
    routes = defaultRoutes();
  });

  /** Runs a command against the stub with the API key in the environment, and checks no credential leaks to stderr. */
  async function run(args: string[], env: Record<string, string> = { TICKLINE_API_KEY: KEY }, stdin?: string): Promise<CliRun> {
    const r = await runTickline([...args, '--api', api], { env, stdin });
    for (const secret of [KEY, NEW_SECRET, SESSION, CSRF, 'right password here', 'carol new password']) {
      assert.ok(!r.stderr.includes(secret), `stderr shows a secret: ${r.stderr}`);
    }
    return r;
  }

  function bearer(s: Seen): string | undefined {
    return s.headers.authorization;
  }

  test('every admin command sends the configured key as a Bearer token, with the exact request of the contract', async () => {
    const pw = join(dir, 'carol.pw');
    await writeFile(pw, 'carol new password\n');
    const cases: Array<{ args: string[]; stdin?: string; method: string; path: string; body?: unknown; query?: Record<string, string>; out: RegExp }> = [
      { args: ['users', 'list'], method: 'GET', path: '/v1/admin/users', out: /carol\s+analyst/ },
      { args: ['users', 'add', 'carol', '--role', 'analyst', '--password-file', pw], method: 'POST', path: '/v1/admin/users', body: { username: 'carol', password: 'carol new password', role: 'analyst' }, out: /^added user carol \(analyst\)\n$/ },
      { args: ['users', 'passwd', 'carol', '--password-stdin'], stdin: 'carol new password\n', method: 'PUT', path: '/v1/admin/users/carol/password', body: { password: 'carol new password' }, out: /^password of carol changed/ },
      { args: ['users', 'role', 'carol', 'viewer'], method: 'PUT', path: '/v1/admin/users/carol/role', body: { role: 'viewer' }, out: /^carol is now viewer\n$/ },
      { args: ['users', 'remove', 'carol'], method: 'DELETE', path: '/v1/admin/users/carol', out: /^removed user carol\n$/ },
      { args: ['keys', 'list'], method: 'GET', path: '/v1/admin/keys', out: /fedcba9876543210\s+loader\s+ingest,read\s+admin/ },
      { args: ['keys', 'create', '--name', 'loader', '--scope', 'ingest', '--scope', 'read'], method: 'POST', path: '/v1/admin/keys', body: { name: 'loader', scopes: ['ingest', 'read'] }, out: new RegExp(`^${NEW_SECRET}\\n$`) },
      { args: ['keys', 'revoke', 'fedcba9876543210'], method: 'DELETE', path: '/v1/admin/keys/fedcba9876543210', out: /^revoked key fedcba9876543210\n$/ },
      { args: ['audit', 'list', '--limit', '5', '--before', '10'], method: 'GET', path: '/v1/admin/audit', query: { limit: '5', before: '10' }, out: /\n\s*7\s+\S+\s+admin\s+user\.add\s+carol\s+role=analyst\n/ },
    ];
    for (const c of cases) {
      seen = [];
      const r = await run(c.args, undefined, c.stdin);
      assert.equal(r.code, 0, `${c.args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, c.out, c.args.join(' '));
      assert.equal(seen.length, 1, c.args.join(' '));
      const s = seen[0]!;
      assert.equal(`${s.method} ${s.path}`, `${c.method} ${c.path}`);
      assert.equal(bearer(s), `Bearer ${KEY}`);
      assert.equal(s.headers.cookie, undefined);
      assert.deepEqual(s.body, c.body);
      if (c.body !== undefined) assert.equal(s.headers['content-type'], 'application/json');
      if (c.query) assert.deepEqual(s.query, c.query);
    }
  });

  test('keys create --json prints {key, secret}; the secret never reaches stderr', async () => {
    const r = await run(['keys', 'create', '--name', 'loader', '--scope', 'read', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { key: KEY_VIEW, secret: NEW_SECRET });
    const plain = await run(['keys', 'create', '--name', 'loader', '--scope', 'read']);
    assert.match(plain.stderr, /It is shown this once and cannot be shown again: store it now/);
  });

  test('audit verify exits 1 naming the first bad entry; --api-key-file and TICKLINE_API_KEY_FILE give the key', async () => {
    const r = await run(['audit', 'verify', '--api-key-file', keyFile], {});
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'broken at entry seq 3: prevHash does not match the hash of entry seq 2 (3 entries read)\n');
    assert.equal(bearer(seen[0]!), `Bearer ${KEY}`);
    seen = [];
    routes['GET /v1/admin/audit/verify'] = { status: 200, body: { ok: true, entries: 9 } };
    const ok = await run(['audit', 'verify'], { TICKLINE_API_KEY_FILE: keyFile });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'intact: 9 entries\n');
    assert.equal(bearer(seen[0]!), `Bearer ${KEY}`);
  });

  test('--user logs in for the one command, sends cookie and CSRF token instead of a key, then logs out', async () => {
    const r = await run(['keys', 'create', '--name', 'loader', '--scope', 'ingest', '--user', 'admin'], { TICKLINE_API_KEY: KEY, TICKLINE_PASSWORD: 'right password here' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.path}`),
      ['POST /auth/login', 'POST /v1/admin/keys', 'POST /auth/logout'],
    );
    assert.deepEqual(seen[0]!.body, { username: 'admin', password: 'right password here' });
    assert.equal(bearer(seen[0]!), undefined);
    for (const s of seen.slice(1)) {
      assert.equal(s.headers.cookie, `tickline_session=${SESSION}`);
      assert.equal(s.headers['x-csrf-token'], CSRF);
      assert.equal(bearer(s), undefined, 'the session replaces the key');
    }

    // The login password from a file; a GET needs no CSRF token.
    seen = [];
    const pw = join(dir, 'admin.pw');
    await writeFile(pw, 'right password here\n');
    const list = await run(['users', 'list', '--user', 'admin', '--password-file', pw], {});
    assert.equal(list.code, 0, list.stderr);
    assert.equal(seen[1]!.headers.cookie, `tickline_session=${SESSION}`);
    assert.equal(seen[1]!.headers['x-csrf-token'], undefined);
    assert.equal(seen[2]!.path, '/auth/logout');

    // A failing command still logs out.
    seen = [];
    routes['GET /v1/admin/users'] = { status: 500, body: { code: 'TL_ERR_INTERNAL', message: 'boom' } };
    const failed = await run(['users', 'list', '--user', 'admin'], { TICKLINE_PASSWORD: 'right password here' });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /\/v1\/admin\/users answered 500: boom \[TL_ERR_API_CLIENT\]/);
    assert.equal(seen.at(-1)!.path, '/auth/logout');
  });

  test('--user with a wrong password or no password at all', async () => {
    const wrong = await run(['users', 'list', '--user', 'admin'], { TICKLINE_PASSWORD: 'wrong password!!' });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, 'tickline: login as "admin" failed: login: unknown username or wrong password [TL_ERR_UNAUTHENTICATED]\n');
    assert.deepEqual(
      seen.map((s) => s.path),
      ['/auth/login'],
    );
    seen = [];
    const none = await run(['users', 'list', '--user', 'admin'], {});
    assert.equal(none.code, 1);
    assert.match(none.stderr, /--user "admin": no password: set TICKLINE_PASSWORD, give --password-file <path>, or run on a terminal/);
    assert.equal(seen.length, 0, 'nothing sent');
    // A new password that fails the policy is refused before any login.
    const weak = await run(['users', 'add', 'x1', '--role', 'viewer', '--user', 'admin', '--password-stdin'], { TICKLINE_PASSWORD: 'right password here' }, 'short\n');
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /password: must be at least 12 characters long, got 5/);
    assert.equal(seen.length, 0, 'no login for a command that fails on its input');
  });

  test('401 without a key hints at TICKLINE_API_KEY; 401 with one and 403 repeat the server', async () => {
    routes['GET /v1/admin/users'] = (s) =>
      s.headers.authorization
        ? { status: 401, body: { code: 'TL_ERR_UNAUTHENTICATED', message: 'API key: key 0123456789abcdef was revoked' } }
        : { status: 401, body: { code: 'TL_ERR_UNAUTHENTICATED', message: 'authentication required' } };
    const none = await run(['users', 'list'], {});
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^tickline: \/v1\/admin\/users: the API needs credentials: set TICKLINE_API_KEY \(create one with `tickline keys create`\) \(server: authentication required\) \[TL_ERR_UNAUTHENTICATED\]\n$/);
    assert.equal(bearer(seen[0]!), undefined);
    const revoked = await run(['users', 'list']);
    assert.match(revoked.stderr, /the API refused the API key .*\(server: API key: key 0123456789abcdef was revoked\) \[TL_ERR_UNAUTHENTICATED\]/);

    routes['GET /v1/admin/keys'] = { status: 403, body: { code: 'TL_ERR_FORBIDDEN', message: 'scopes ["read"] does not allow "admin"' } };
    const forbidden = await run(['keys', 'list']);
    assert.equal(forbidden.code, 1);
    assert.equal(forbidden.stderr, 'tickline: /v1/admin/keys: the credentials do not allow this: scopes ["read"] does not allow "admin" [TL_ERR_FORBIDDEN]\n');

    routes['POST /auth/login'] = { status: 429, body: { code: 'TL_ERR_RATE_LIMITED', message: 'login: too many failed attempts' }, headers: { 'retry-after': '900' } };
    const limited = await run(['users', 'list', '--user', 'admin'], { TICKLINE_PASSWORD: 'right password here' });
    assert.match(limited.stderr, /login: too many failed attempts \(retry after 900 s\) \[TL_ERR_RATE_LIMITED\]/);
  });

  test('read commands send the key too: latest, quality runs, replay (streamed)', async () => {
    const latest = await run(['latest', 'aapl', '--api-key-file', keyFile], {});
    assert.equal(latest.code, 0, latest.stderr);
    assert.match(latest.stdout, /AAPL\s+190\.5/);
    assert.equal(seen[0]!.query.symbol, 'AAPL');
    assert.equal(bearer(seen[0]!), `Bearer ${KEY}`);

    const runs = await run(['quality', 'runs', '--json']);
    assert.equal(runs.code, 0, runs.stderr);
    assert.equal(bearer(seen[1]!), `Bearer ${KEY}`);

    const replay = await run(['replay', '--zone', 'raw', '--from', '2026-11-21T00:00Z', '--to', '2026-11-21T01:00Z', '--json']);
    assert.equal(replay.code, 0, replay.stderr);
    assert.deepEqual(JSON.parse(replay.stdout), { hours: 1, rows: 3 });
    assert.match(replay.stderr, /replay: 1\/1 hours, 3 rows/, 'progress goes to stderr');
    assert.equal(seen[2]!.path, '/v1/replay');
    assert.equal(bearer(seen[2]!), `Bearer ${KEY}`);
    assert.equal(seen[2]!.headers['x-csrf-token'], undefined);

    routes['GET /v1/prices/latest'] = { status: 401, body: { code: 'TL_ERR_UNAUTHENTICATED', message: 'authentication required' } };
    const denied = await run(['latest', 'AAPL'], {});
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /the API needs credentials: set TICKLINE_API_KEY/);
    routes['POST /v1/replay'] = { status: 403, body: { code: 'TL_ERR_FORBIDDEN', message: 'scopes ["read"] does not allow "ingest"' } };
    const replayDenied = await run(['replay', '--zone', 'raw', '--from', '2026-11-21T00:00Z', '--to', '2026-11-21T01:00Z']);
    assert.match(replayDenied.stderr, /\/v1\/replay: the credentials do not allow this: scopes \["read"\] does not allow "ingest" \[TL_ERR_FORBIDDEN\]/);
  });

  test('the API and the key can come from a --config file', async () => {
    const file = join(dir, 'tickline.json');
    await writeFile(file, JSON.stringify({ apiUrl: api, apiKey: KEY }));
    const r = await runTickline(['users', 'list', '--json', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { users: [USER] });
    assert.equal(bearer(seen[0]!), `Bearer ${KEY}`);
  });

  test('a bad key file or key variable is refused without showing its content', async () => {
    const bad = join(dir, 'bad-key');
    await writeFile(bad, 'not-a-key-but-secret-text\n');
    const r = await run(['latest', 'AAPL', '--api-key-file', bad], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--api-key-file ".*bad-key": the file does not hold an API key tl_<id>_<secret>/);
    assert.ok(!r.stderr.includes('secret-text'));
    const env = await run(['latest', 'AAPL'], { TICKLINE_API_KEY: 'tl_wrong_secret-text' });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /TICKLINE_API_KEY=\*\*\* is invalid/);
    assert.ok(!env.stderr.includes('secret-text'));
    assert.equal(seen.length, 0);
  });
});
