import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, afterEach, beforeEach, describe, mock, test } from 'node:test';
import { isTicklineError, type ErrorCode } from '../core/errors.ts';
import { allows } from './model.ts';
import { decodeHash } from './password.ts';
import { AuthService, type AuthServiceOptions } from './service.ts';
import { openAuthStore } from './open-store.ts';
import type { AuthStore } from './store.ts';

const FAST = { logN: 4, r: 8, p: 1 };
const HOUR = 3_600_000;
const MIN = 60_000;
const T0 = Date.UTC(2026, 4, 4, 8, 0, 0);
const IP = '192.0.2.10';
const ADMIN_PW = 'the admin password';
const ANN_PW = 'ann password 1234';

const root = await mkdtemp(join(tmpdir(), 'tickline-auth-service-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;

interface Setup {
  service: AuthService;
  store: AuthStore;
  path: string;
  clock: { t: number };
  /** Another service on the same store (as another process would be, minus the process). */
  another(options?: Partial<AuthServiceOptions>): AuthService;
}

let s: Setup;

async function setup(options: Partial<AuthServiceOptions> = {}): Promise<Setup> {
  const path = join(root, `auth-${++n}.json`);
  const store = await openAuthStore(pathToFileURL(path).href);
  const clock = { t: T0 };
  const make = (o: Partial<AuthServiceOptions> = {}): AuthService => new AuthService({ store, scrypt: FAST, now: () => clock.t, ...options, ...o });
  return { service: make(), store, path, clock, another: make };
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, includes: string[] = []): Promise<Error> {
  let caught: Error | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTicklineError(e), `expected a TicklineError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const text of includes) assert.ok(e.message.includes(text), `${JSON.stringify(e.message)} should include ${JSON.stringify(text)}`);
    caught = e;
    return true;
  });
  return caught!;
}

async function actions(service: AuthService): Promise<string[]> {
  return (await service.auditList({ limit: 1000 })).reverse().map((e) => e.action);
}

/** A service with the admin and one analyst, `ann`. */
async function withUsers(): Promise<void> {
  await s.service.bootstrap(ADMIN_PW);
  await s.service.addUser({ username: 'ann', password: ANN_PW, role: 'analyst' }, 'admin');
}

/** Counts calls of a node:crypto function made through the named imports of the auth modules. */
function spyCrypto(name: 'scrypt' | 'timingSafeEqual'): { count: () => number; calls: () => unknown[][]; restore: () => void } {
  const spy = mock.method(crypto, name);
  syncBuiltinESMExports();
  return {
    count: () => spy.mock.callCount(),
    calls: () => spy.mock.calls.map((c) => c.arguments),
    restore: () => {
      spy.mock.restore();
      syncBuiltinESMExports();
    },
  };
}

describe('AuthService', () => {
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(async () => {
    await s.store.close();
  });

  describe('bootstrap', () => {
    test('creates admin once with a random URL-safe password of 24+ characters, returned once', async () => {
      const password = await s.service.bootstrap();
      assert.ok(password);
      assert.match(password, /^[A-Za-z0-9_-]{24,}$/);
      assert.deepEqual((await s.service.listUsers()).map((u) => [u.username, u.role]), [['admin', 'admin']]);
      const session = await s.service.login('admin', password, IP);
      assert.equal(session.user.role, 'admin');
      assert.equal(await s.service.bootstrap(), null);
      assert.equal(await s.service.bootstrap('another admin password'), null);
      assert.equal((await s.service.listUsers()).length, 1);
      assert.deepEqual(await actions(s.service), ['user.add', 'login.ok']);
      const [first] = await s.service.auditList({ before: 2 });
      assert.deepEqual([first?.actor, first?.target, first?.detail], ['system', 'admin', { role: 'admin', bootstrap: true }]);
    });

    test('uses the given password, which must pass the policy', async () => {
      await rejectsWith(s.service.bootstrap('short'), 'TL_ERR_VALIDATION', ['adminPassword', 'at least 12']);
      assert.equal((await s.service.listUsers()).length, 0);
      assert.equal(await s.service.bootstrap(ADMIN_PW), ADMIN_PW);
      await s.service.login('admin', ADMIN_PW, IP);
    });

    test('does nothing when any user exists, even without an admin', async () => {
      await withUsers();
      await s.service.removeUser('ann', 'admin');
      assert.equal(await s.service.bootstrap(), null);
    });
  });

  describe('users', () => {
    test('add, list (no hashes), case-insensitive names, remove', async () => {
      await withUsers();
      const bob = await s.service.addUser({ username: 'Bob.Jones', password: 'bob password 12', role: 'viewer' }, 'admin');
      assert.deepEqual(bob, { username: 'bob.jones', role: 'viewer', createdAt: new Date(T0).toISOString(), updatedAt: new Date(T0).toISOString() });
      await rejectsWith(s.service.addUser({ username: 'BOB.JONES', password: 'bob password 12', role: 'viewer' }, 'admin'), 'TL_ERR_VALIDATION', ['"bob.jones"', 'exists']);
      const users = await s.service.listUsers();
      assert.deepEqual(users.map((u) => u.username), ['admin', 'ann', 'bob.jones']);
      for (const u of users) assert.deepEqual(Object.keys(u).sort(), ['createdAt', 'role', 'updatedAt', 'username']);
      await s.service.login('BOB.Jones', 'bob password 12', IP);
      await s.service.removeUser('Bob.Jones', 'admin');
      assert.deepEqual((await s.service.listUsers()).map((u) => u.username), ['admin', 'ann']);
      await rejectsWith(s.service.removeUser('bob.jones', 'admin'), 'TL_ERR_NOT_FOUND', ['"bob.jones"']);
    });

    test('bad input is refused naming the field and the value', async () => {
      await withUsers();
      await rejectsWith(s.service.addUser({ username: '-bad', password: 'long enough pw', role: 'viewer' }, 'admin'), 'TL_ERR_VALIDATION', ['username', '"-bad"']);
      await rejectsWith(s.service.addUser({ username: 'carl', password: 'long enough pw', role: 'root' as never }, 'admin'), 'TL_ERR_VALIDATION', ['role', '"root"']);
      await rejectsWith(s.service.addUser({ username: 'carl', password: 'too short', role: 'viewer' }, 'admin'), 'TL_ERR_VALIDATION', ['password', 'at least 12']);
      await rejectsWith(s.service.addUser({ username: 'carl', password: 'long enough pw', role: 'viewer' }, ''), 'TL_ERR_VALIDATION', ['actor']);
      await rejectsWith(s.service.setRole('ann', 'boss' as never, 'admin'), 'TL_ERR_VALIDATION', ['role', '"boss"']);
      assert.deepEqual(await actions(s.service), ['user.add', 'user.add'], 'refused operations write no entry');
    });

    test('passwd changes the password and ends every session of the user', async () => {
      await withUsers();
      const a = await s.service.login('ann', ANN_PW, IP);
      const b = await s.service.login('ann', ANN_PW, '192.0.2.11');
      const adminSession = await s.service.login('admin', ADMIN_PW, IP);
      await rejectsWith(s.service.passwd('ann', 'short', 'admin'), 'TL_ERR_VALIDATION', ['at least 12']);
      await s.service.passwd('ANN', 'a brand new password', 'admin');
      await rejectsWith(s.service.session(a.token), 'TL_ERR_UNAUTHENTICATED');
      await rejectsWith(s.service.session(b.token), 'TL_ERR_UNAUTHENTICATED');
      await s.service.session(adminSession.token);
      await rejectsWith(s.service.login('ann', ANN_PW, IP), 'TL_ERR_UNAUTHENTICATED');
      await s.service.login('ann', 'a brand new password', IP);
      const entry = (await s.service.auditList()).find((e) => e.action === 'user.passwd');
      assert.deepEqual([entry?.actor, entry?.target, entry?.detail], ['admin', 'ann', { sessionsEnded: 2 }]);
      await rejectsWith(s.service.passwd('nobody', 'long enough password', 'admin'), 'TL_ERR_NOT_FOUND');
    });

    test('setRole changes the role seen by live sessions; the same role changes nothing', async () => {
      await withUsers();
      const session = await s.service.login('ann', ANN_PW, IP);
      const updated = await s.service.setRole('ann', 'viewer', 'admin');
      assert.equal(updated.role, 'viewer');
      assert.equal((await s.service.session(session.token)).user.role, 'viewer');
      await s.service.setRole('ann', 'viewer', 'admin');
      const roleEntries = (await s.service.auditList()).filter((e) => e.action === 'user.role');
      assert.deepEqual(roleEntries.map((e) => e.detail), [{ from: 'analyst', to: 'viewer' }]);
    });

    test('the last admin can be neither removed nor demoted', async () => {
      await withUsers();
      await rejectsWith(s.service.removeUser('admin', 'admin'), 'TL_ERR_FORBIDDEN', ['"admin"', 'last admin']);
      await rejectsWith(s.service.setRole('admin', 'analyst', 'admin'), 'TL_ERR_FORBIDDEN', ['last admin']);
      await s.service.setRole('ann', 'admin', 'admin');
      await s.service.setRole('admin', 'viewer', 'ann');
      await rejectsWith(s.service.removeUser('ann', 'ann'), 'TL_ERR_FORBIDDEN', ['"ann"']);
      await s.service.removeUser('admin', 'ann');
      assert.deepEqual((await s.service.listUsers()).map((u) => [u.username, u.role]), [['ann', 'admin']]);
    });

    test('two admins removing each other at once leave one admin', async () => {
      await withUsers();
      await s.service.setRole('ann', 'admin', 'admin');
      const results = await Promise.allSettled([s.service.removeUser('admin', 'ann'), s.another().removeUser('ann', 'admin')]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.equal((await s.service.listUsers()).filter((u) => u.role === 'admin').length, 1);
    });
  });

  describe('login and sessions', () => {
    test('login returns a session: random token, CSRF token, user, expiry after the idle timeout', async () => {
      await withUsers();
      const session = await s.service.login('ann', ANN_PW, IP);
      assert.match(session.token, /^[A-Za-z0-9_-]{43}$/);
      assert.match(session.csrf, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(session.csrf, session.token);
      assert.deepEqual(session.user, { username: 'ann', role: 'analyst' });
      assert.equal(session.expiresAt, new Date(T0 + 12 * HOUR).toISOString());
      const again = await s.service.session(session.token);
      assert.deepEqual(again, session);
      const other = await s.service.login('ann', ANN_PW, IP);
      assert.notEqual(other.token, session.token);
      assert.notEqual(other.csrf, session.csrf);
      assert.equal(s.service.checkCsrf(session.token, session.csrf), true);
      assert.equal(s.service.checkCsrf(session.token, other.csrf), false);
      assert.equal(s.service.checkCsrf(session.token, undefined), false);
    });

    test('only the SHA-256 of the token is stored', async () => {
      await withUsers();
      const session = await s.service.login('ann', ANN_PW, IP);
      const file = await readFile(s.path, 'utf8');
      assert.ok(!file.includes(session.token));
      assert.ok(!file.includes(session.csrf));
      assert.ok(file.includes(crypto.createHash('sha256').update(session.token).digest('hex')));
    });

    test('an unknown user and a wrong password fail alike, each after one scrypt verification', async () => {
      await withUsers();
      const scrypt = spyCrypto('scrypt');
      const equal = spyCrypto('timingSafeEqual');
      let unknown: Error;
      let wrong: Error;
      try {
        // The dummy hash is made on first use; warm it so that both cases below do the same work.
        await rejectsWith(s.service.login('nobody', 'whatever password', IP), 'TL_ERR_UNAUTHENTICATED');
        const before = scrypt.count();
        const equalsBefore = equal.count();
        unknown = await rejectsWith(s.service.login('nobody', 'whatever password', IP), 'TL_ERR_UNAUTHENTICATED');
        const forUnknown = scrypt.count() - before;
        wrong = await rejectsWith(s.service.login('ann', 'whatever password', '192.0.2.99'), 'TL_ERR_UNAUTHENTICATED');
        assert.equal(forUnknown, 1);
        assert.equal(scrypt.count() - before - forUnknown, 1);
        assert.equal(equal.count() - equalsBefore, 2, 'both compared in constant time');
        const costs = scrypt.calls().slice(-2).map((args) => (args[3] as { N: number }).N);
        assert.deepEqual(costs, [16, 16], 'the dummy hash costs what a real one does');
      } finally {
        scrypt.restore();
        equal.restore();
      }
      assert.equal(unknown.message, wrong.message);
      await rejectsWith(s.service.login('-not-a-name-', 'whatever password', IP), 'TL_ERR_UNAUTHENTICATED', [unknown.message]);
      await rejectsWith(s.service.login('ann', undefined as never, IP), 'TL_ERR_UNAUTHENTICATED');
      await rejectsWith(s.service.login('ann', 'x'.repeat(100_000), IP), 'TL_ERR_UNAUTHENTICATED');
    });

    test('failed logins are audited without the attempted password or unknown names', async () => {
      await withUsers();
      await rejectsWith(s.service.login('ann', 'wrong password one', IP), 'TL_ERR_UNAUTHENTICATED');
      await rejectsWith(s.service.login('mistyped-secret-name', 'wrong password two', IP), 'TL_ERR_UNAUTHENTICATED');
      const failed = (await s.service.auditList()).filter((e) => e.action === 'login.failed').reverse();
      assert.deepEqual(failed.map((e) => [e.actor, e.target, e.detail]), [
        ['anonymous', 'ann', { ip: IP, reason: 'wrong-password' }],
        ['anonymous', null, { ip: IP, reason: 'unknown-user' }],
      ]);
      const file = await readFile(s.path, 'utf8');
      for (const secret of ['wrong password one', 'wrong password two', 'mistyped-secret-name', ANN_PW, ADMIN_PW]) assert.ok(!file.includes(secret), secret);
    });

    test('clientIp must be an address', async () => {
      await withUsers();
      await rejectsWith(s.service.login('ann', ANN_PW, 'localhost'), 'TL_ERR_VALIDATION', ['clientIp', '"localhost"']);
    });

    test('the idle timeout slides with use; unused for 12 h the session ends', async () => {
      await withUsers();
      const { token } = await s.service.login('ann', ANN_PW, IP);
      s.clock.t += 11 * HOUR;
      assert.equal((await s.service.session(token)).expiresAt, new Date(s.clock.t + 12 * HOUR).toISOString());
      s.clock.t += 11 * HOUR;
      await s.service.session(token); // 22 h after login, 11 h after last use
      s.clock.t += 12 * HOUR - 1;
      await s.service.session(token);
      s.clock.t += 12 * HOUR;
      await rejectsWith(s.service.session(token), 'TL_ERR_UNAUTHENTICATED', ['expired']);
      assert.equal(await s.store.getSession(crypto.createHash('sha256').update(token).digest('hex')), null, 'an expired session is removed');
    });

    test('the last use is written at most once a minute', async () => {
      await withUsers();
      const { token } = await s.service.login('ann', ANN_PW, IP);
      const hash = crypto.createHash('sha256').update(token).digest('hex');
      s.clock.t += 30_000;
      await s.service.session(token);
      assert.equal((await s.store.getSession(hash))?.lastSeenAt, T0);
      s.clock.t += 30_000;
      await s.service.session(token);
      assert.equal((await s.store.getSession(hash))?.lastSeenAt, T0 + MIN);
    });

    test('a session ends 7 days after login however much it is used', async () => {
      await withUsers();
      const { token } = await s.service.login('ann', ANN_PW, IP);
      for (let h = 6; h < 7 * 24; h += 6) {
        s.clock.t = T0 + h * HOUR;
        const view = await s.service.session(token);
        assert.ok(Date.parse(view.expiresAt) <= T0 + 7 * 24 * HOUR);
      }
      assert.equal((await s.service.session(token)).expiresAt, new Date(T0 + 7 * 24 * HOUR).toISOString());
      s.clock.t = T0 + 7 * 24 * HOUR;
      await rejectsWith(s.service.session(token), 'TL_ERR_UNAUTHENTICATED', ['expired']);
    });

    test('timeouts are options', async () => {
      const short = s.another({ sessionIdleMs: 10 * MIN, sessionAbsoluteMs: HOUR });
      await withUsers();
      const { token, expiresAt } = await short.login('ann', ANN_PW, IP);
      assert.equal(expiresAt, new Date(T0 + 10 * MIN).toISOString());
      s.clock.t += 10 * MIN;
      await rejectsWith(short.session(token), 'TL_ERR_UNAUTHENTICATED');
      assert.throws(() => s.another({ sessionIdleMs: 0 }), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_CONFIG' && /sessionIdleMs/.test(e.message));
    });

    test('logout ends the session once; unknown and malformed tokens are refused by session()', async () => {
      await withUsers();
      const { token } = await s.service.login('ann', ANN_PW, IP);
      assert.equal(await s.service.logout(token), true);
      await rejectsWith(s.service.session(token), 'TL_ERR_UNAUTHENTICATED', ['unknown']);
      assert.equal(await s.service.logout(token), false);
      assert.equal(await s.service.logout('nonsense'), false);
      await rejectsWith(s.service.session('nonsense'), 'TL_ERR_UNAUTHENTICATED', ['malformed']);
      await rejectsWith(s.service.session(crypto.randomBytes(32).toString('base64url')), 'TL_ERR_UNAUTHENTICATED', ['unknown']);
      const entry = (await s.service.auditList()).find((e) => e.action === 'logout');
      assert.deepEqual([entry?.actor, entry?.target, entry?.detail.session], ['ann', 'ann', crypto.createHash('sha256').update(token).digest('hex').slice(0, 16)]);
    });

    test('removing a user ends their sessions', async () => {
      await withUsers();
      const { token } = await s.service.login('ann', ANN_PW, IP);
      await s.service.removeUser('ann', 'admin');
      await rejectsWith(s.service.session(token), 'TL_ERR_UNAUTHENTICATED');
    });

    test('a hash made with older parameters is replaced at the next login', async () => {
      await withUsers();
      assert.equal(decodeHash((await s.store.getUser('ann'))!.passwordHash).logN, 4);
      const stronger = s.another({ scrypt: { logN: 5, r: 8, p: 1 } });
      await stronger.login('ann', ANN_PW, IP);
      assert.equal(decodeHash((await s.store.getUser('ann'))!.passwordHash).logN, 5);
      await stronger.login('ann', ANN_PW, IP);
      const oks = (await s.service.auditList()).filter((e) => e.action === 'login.ok').reverse();
      assert.deepEqual(oks.map((e) => e.detail.rehashed), [true, false]);
    });
  });

  describe('login rate limit', () => {
    test('five failures for a username lock it, from any address, until the window passes', async () => {
      await withUsers();
      for (let i = 1; i <= 5; i++) {
        await rejectsWith(s.service.login('ann', 'wrong password!!', `198.51.100.${i}`), 'TL_ERR_UNAUTHENTICATED');
        s.clock.t += MIN;
      }
      const locked = await rejectsWith(s.service.login('ann', ANN_PW, '198.51.100.77'), 'TL_ERR_RATE_LIMITED', ['retry in 600 s']);
      assert.deepEqual((locked as unknown as { details: unknown }).details, { retryAfterSeconds: 600 });
      // Those addresses have one failure each: other users still get in from them.
      await s.service.login('admin', ADMIN_PW, '198.51.100.1');
      s.clock.t += 10 * MIN;
      await s.service.login('ann', ANN_PW, '198.51.100.77');
      const lockedEntries = (await s.service.auditList()).filter((e) => e.action === 'login.locked');
      assert.deepEqual(lockedEntries.map((e) => [e.target, e.detail.by]), [['ann', 'user']]);
    });

    test('five failures from an address lock it for every username; other addresses are unaffected', async () => {
      await withUsers();
      for (const name of ['u1', 'u2', 'u3', 'u4', 'admin']) {
        await rejectsWith(s.service.login(name, 'wrong password!!', IP), 'TL_ERR_UNAUTHENTICATED');
      }
      await rejectsWith(s.service.login('ann', ANN_PW, IP), 'TL_ERR_RATE_LIMITED', ['retry in 900 s']);
      await s.service.login('ann', ANN_PW, '192.0.2.200');
      s.clock.t += 15 * MIN;
      await s.service.login('ann', ANN_PW, IP);
    });

    test('parallel attempts cannot slip past the limit', async () => {
      await withUsers();
      const attempts = await Promise.allSettled(
        Array.from({ length: 12 }, () => s.service.login('ann', 'wrong password!!', IP)),
      );
      const codes = attempts.map((a) => (a.status === 'rejected' && isTicklineError(a.reason) ? a.reason.code : a.status));
      assert.deepEqual(codes.filter((c) => c === 'TL_ERR_UNAUTHENTICATED').length, 5);
      assert.deepEqual(codes.filter((c) => c === 'TL_ERR_RATE_LIMITED').length, 7);
    });

    test('a successful login does not count against its address', async () => {
      await withUsers();
      for (let i = 0; i < 4; i++) await rejectsWith(s.service.login(`nobody${i}`, 'wrong password!!', IP), 'TL_ERR_UNAUTHENTICATED');
      for (let i = 0; i < 3; i++) await s.service.login('ann', ANN_PW, IP);
      await rejectsWith(s.service.login('nobody9', 'wrong password!!', IP), 'TL_ERR_UNAUTHENTICATED');
      await rejectsWith(s.service.login('ann', ANN_PW, IP), 'TL_ERR_RATE_LIMITED');
    });

    test('names that cannot exist share one limiter key, so junk input cannot fill its memory', async () => {
      await withUsers();
      for (let i = 1; i <= 5; i++) {
        await rejectsWith(s.service.login(`-${'x'.repeat(i * 1000)}`, 'wrong password!!', `198.51.100.${i}`), 'TL_ERR_UNAUTHENTICATED');
      }
      await rejectsWith(s.service.login('Not Valid!', 'wrong password!!', '198.51.100.99'), 'TL_ERR_RATE_LIMITED');
      await s.service.login('ann', ANN_PW, '198.51.100.99');
    });

    test('IPv6 addresses are counted per /64', async () => {
      await withUsers();
      for (let i = 1; i <= 5; i++) {
        await rejectsWith(s.service.login(`user${i}`, 'wrong password!!', `2001:db8:7:7::${i}`), 'TL_ERR_UNAUTHENTICATED');
      }
      await rejectsWith(s.service.login('ann', ANN_PW, '2001:db8:7:7:ffff::1'), 'TL_ERR_RATE_LIMITED');
      await s.service.login('ann', ANN_PW, '2001:db8:7:8::1');
    });

    test('a success resets the username count', async () => {
      await withUsers();
      for (let i = 1; i <= 4; i++) await rejectsWith(s.service.login('ann', 'wrong password!!', `198.51.100.${i}`), 'TL_ERR_UNAUTHENTICATED');
      await s.service.login('ann', ANN_PW, '198.51.100.50');
      for (let i = 5; i <= 8; i++) await rejectsWith(s.service.login('ann', 'wrong password!!', `198.51.100.${i}`), 'TL_ERR_UNAUTHENTICATED');
      await s.service.login('ann', ANN_PW, '198.51.100.51');
    });

    test('limits are options, and remembered keys are bounded', async () => {
      const strict = s.another({ loginLimit: { maxFailures: 2, windowMs: MIN, maxKeys: 4 } });
      await withUsers();
      await rejectsWith(strict.login('ann', 'wrong password!!', IP), 'TL_ERR_UNAUTHENTICATED');
      await rejectsWith(strict.login('ann', 'wrong password!!', '192.0.2.2'), 'TL_ERR_UNAUTHENTICATED');
      await rejectsWith(strict.login('ann', ANN_PW, '192.0.2.3'), 'TL_ERR_RATE_LIMITED', ['retry in 60 s']);
      // Two more failing name/address pairs push the oldest keys (ann's among them) out of 4.
      await rejectsWith(strict.login('x1', 'wrong password!!', '192.0.2.4'), 'TL_ERR_UNAUTHENTICATED');
      await rejectsWith(strict.login('x2', 'wrong password!!', '192.0.2.5'), 'TL_ERR_UNAUTHENTICATED');
      await strict.login('ann', ANN_PW, '192.0.2.3');
    });
  });

  describe('API keys', () => {
    test('a key is tl_<id>_<secret>, shown once, stored as a hash, and authenticates with its scopes', async () => {
      await withUsers();
      const created = await s.service.createKey({ name: ' feed writer ', scopes: ['read', 'ingest', 'read'], createdBy: 'admin' });
      assert.match(created.secret, /^tl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.secret.slice(3, 19), created.key.id);
      assert.deepEqual(created.key, {
        id: created.key.id,
        name: 'feed writer',
        scopes: ['ingest', 'read'],
        createdBy: 'admin',
        createdAt: new Date(T0).toISOString(),
        revokedAt: null,
        revokedBy: null,
        lastUsedAt: null,
      });
      const listed = await s.service.listKeys();
      assert.equal(listed.length, 1);
      assert.ok(!JSON.stringify(listed).includes(created.secret.slice(20)));
      assert.ok(!('secretHash' in listed[0]!));
      const file = await readFile(s.path, 'utf8');
      assert.ok(!file.includes(created.secret.slice(20)), 'the secret is not stored');
      assert.ok(file.includes(crypto.createHash('sha256').update(created.secret.slice(20)).digest('hex')));

      const identity = await s.service.authenticateKey(created.secret);
      assert.deepEqual(identity, { keyId: created.key.id, scopes: ['ingest', 'read'] });
      assert.deepEqual(await s.service.authenticateKey(`Bearer ${created.secret}`), identity);
      assert.equal(allows(identity.scopes, 'ingest'), true);
      assert.equal(allows(identity.scopes, 'admin'), false);
    });

    test('malformed, unknown, wrong-secret and revoked keys are refused', async () => {
      await withUsers();
      const { secret, key } = await s.service.createKey({ name: 'k', scopes: ['read'], createdBy: 'admin' });
      const otherSecret = crypto.randomBytes(32).toString('base64url');
      for (const bad of ['', 'tl_', secret.slice(0, -1), secret.replace('tl_', 'tk_'), `${secret}x`, secret.toUpperCase(), 42, null]) {
        await rejectsWith(s.service.authenticateKey(bad as string), 'TL_ERR_UNAUTHENTICATED', ['malformed']);
      }
      await rejectsWith(s.service.authenticateKey(`tl_0123456789abcdef_${otherSecret}`), 'TL_ERR_UNAUTHENTICATED', ['unknown']);
      await rejectsWith(s.service.authenticateKey(`tl_${key.id}_${otherSecret}`), 'TL_ERR_UNAUTHENTICATED', ['unknown']);
      assert.equal(await s.service.revokeKey(key.id, 'admin'), true);
      assert.equal(await s.service.revokeKey(key.id, 'admin'), false);
      await rejectsWith(s.service.authenticateKey(secret), 'TL_ERR_UNAUTHENTICATED', ['revoked']);
      const [listed] = await s.service.listKeys();
      assert.deepEqual([listed?.revokedAt, listed?.revokedBy], [new Date(T0).toISOString(), 'admin']);
      await rejectsWith(s.service.revokeKey('ffffffffffffffff', 'admin'), 'TL_ERR_NOT_FOUND', ['"ffffffffffffffff"']);
    });

    test('the secret is compared in constant time, also when the id is unknown', async () => {
      await withUsers();
      const { key } = await s.service.createKey({ name: 'k', scopes: ['read'], createdBy: 'admin' });
      const secret = crypto.randomBytes(32).toString('base64url');
      const equal = spyCrypto('timingSafeEqual');
      try {
        await rejectsWith(s.service.authenticateKey(`tl_${key.id}_${secret}`), 'TL_ERR_UNAUTHENTICATED');
        await rejectsWith(s.service.authenticateKey(`tl_0000000000000000_${secret}`), 'TL_ERR_UNAUTHENTICATED');
        assert.equal(equal.count(), 2);
      } finally {
        equal.restore();
      }
    });

    test('scopes and names are checked', async () => {
      await withUsers();
      await rejectsWith(s.service.createKey({ name: 'k', scopes: [], createdBy: 'admin' }), 'TL_ERR_VALIDATION', ['scopes']);
      await rejectsWith(s.service.createKey({ name: 'k', scopes: ['write' as never], createdBy: 'admin' }), 'TL_ERR_VALIDATION', ['"write"']);
      await rejectsWith(s.service.createKey({ name: '  ', scopes: ['read'], createdBy: 'admin' }), 'TL_ERR_VALIDATION', ['name']);
      await rejectsWith(s.service.createKey({ name: 'a\nb', scopes: ['read'], createdBy: 'admin' }), 'TL_ERR_VALIDATION', ['name']);
      await rejectsWith(s.service.createKey({ name: 'k', scopes: ['read'], createdBy: '' }), 'TL_ERR_VALIDATION', ['createdBy']);
      const { secret } = await s.service.createKey({ name: 'all', scopes: ['admin'], createdBy: 'admin' });
      const identity = await s.service.authenticateKey(secret);
      assert.deepEqual(['ingest', 'read', 'admin'].map((x) => allows(identity.scopes, x as never)), [true, true, true]);
    });

    test('lastUsedAt is written at most once a minute', async () => {
      await withUsers();
      const { secret, key } = await s.service.createKey({ name: 'k', scopes: ['read'], createdBy: 'admin' });
      const lastUsed = async (): Promise<string | null> => (await s.store.getKey(key.id))!.lastUsedAt;
      await s.service.authenticateKey(secret);
      assert.equal(await lastUsed(), new Date(T0).toISOString());
      s.clock.t += 59_999;
      await s.service.authenticateKey(secret);
      assert.equal(await lastUsed(), new Date(T0).toISOString());
      s.clock.t += 1;
      await s.service.authenticateKey(secret);
      assert.equal(await lastUsed(), new Date(T0 + MIN).toISOString());
    });
  });

  describe('audit log', () => {
    test('every operation appends its action, and the chain verifies', async () => {
      await s.service.bootstrap(ADMIN_PW);
      await s.service.addUser({ username: 'ann', password: ANN_PW, role: 'analyst' }, 'admin');
      const session = await s.service.login('ann', ANN_PW, IP);
      await rejectsWith(s.service.login('ann', 'not the password', IP), 'TL_ERR_UNAUTHENTICATED');
      await s.service.logout(session.token);
      await s.service.passwd('ann', 'another ann password', 'admin');
      await s.service.setRole('ann', 'viewer', 'admin');
      const { key, secret } = await s.service.createKey({ name: 'feed', scopes: ['ingest'], createdBy: 'admin' });
      await s.service.revokeKey(key.id, 'admin');
      await s.service.recordConfigChange('admin', { key: 'TICKLINE_SIM_RATE', from: 20, to: 50 });
      await s.service.removeUser('ann', 'admin');
      assert.deepEqual(await actions(s.service), [
        'user.add',
        'user.add',
        'login.ok',
        'login.failed',
        'logout',
        'user.passwd',
        'user.role',
        'key.create',
        'key.revoke',
        'config.change',
        'user.remove',
      ]);
      const entries = (await s.service.auditList()).reverse();
      assert.deepEqual(entries.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      assert.deepEqual(entries.map((e) => e.at), entries.map(() => new Date(T0).toISOString()));
      assert.deepEqual([entries[7]!.actor, entries[7]!.target, entries[7]!.detail], ['admin', key.id, { name: 'feed', scopes: 'ingest' }]);
      assert.deepEqual(await s.service.auditVerify(), { ok: true, entries: 11 });
      const everything = JSON.stringify(entries) + (await readFile(s.path, 'utf8'));
      for (const secretText of [ADMIN_PW, ANN_PW, 'another ann password', 'not the password', session.token, session.csrf, secret, secret.slice(20)]) {
        assert.ok(!everything.includes(secretText), `no secret in the log or the store: ${secretText.slice(0, 6)}…`);
      }
    });

    test('auditList pages newest first and checks its options', async () => {
      await withUsers();
      for (let i = 0; i < 5; i++) await s.service.recordConfigChange('admin', { key: `K${i}`, to: i });
      const page = await s.service.auditList({ limit: 3 });
      assert.deepEqual(page.map((e) => e.seq), [7, 6, 5]);
      assert.deepEqual((await s.service.auditList({ limit: 3, before: 5 })).map((e) => e.seq), [4, 3, 2]);
      assert.deepEqual((await s.service.auditList({ before: 2 })).map((e) => e.seq), [1]);
      await rejectsWith(s.service.auditList({ limit: 0 }), 'TL_ERR_VALIDATION', ['limit', '0']);
      await rejectsWith(s.service.auditList({ limit: 1001 }), 'TL_ERR_VALIDATION', ['limit']);
      await rejectsWith(s.service.auditList({ before: -1 }), 'TL_ERR_VALIDATION', ['before', '-1']);
    });

    test('config changes keep passwords out: URLs are redacted, secret-named keys hidden', async () => {
      await withUsers();
      const url = await s.service.recordConfigChange('admin', { key: 'TICKLINE_STORE', from: 'postgres://app:hunter2@db/x', to: 'postgres://app:swordfish@db2/x' });
      assert.deepEqual(url.detail, { from: 'postgres://app:***@db/x', to: 'postgres://app:***@db2/x' });
      const secret = await s.service.recordConfigChange('admin', { key: 'TICKLINE_REDIS_PASSWORD', to: 'plain-secret' });
      assert.deepEqual(secret.detail, { from: null, to: '[redacted]' }, 'an unset value stays null');
      assert.ok(!(await readFile(s.path, 'utf8')).includes('hunter2'));
    });

    test('a chain rewritten together with its head is caught with an external anchor', async () => {
      await withUsers();
      const anchor = await s.service.auditHead();
      assert.deepEqual(await s.service.auditVerify({ anchor }), { ok: true, entries: 2 });
      const r = await s.service.auditVerify({ anchor: { seq: 2, hash: 'a'.repeat(64) } });
      assert.equal(r.ok, false);
      assert.equal(r.firstBad?.seq, 2);
    });
  });
});
