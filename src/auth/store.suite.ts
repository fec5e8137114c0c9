/**
 * Conformance suite of the AuthStore port: every adapter runs it (store.file.test.ts,
 * store.postgres.test.ts). It checks the port's promises with the store alone, then the audit-chain
 * tamper detection through AuthService with the adapter's storage edited behind its back.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isTicklineError } from '../core/errors.ts';
import { EMPTY_HEAD, verifyChain } from './audit.ts';
import type { AuditEvent, KeyRecord, SessionRecord, UserRecord } from './model.ts';
import { AuthService } from './service.ts';
import type { AuthStore } from './store.ts';

/** One store on fresh storage, and ways to reach that storage directly. */
export interface StoreFixture {
  store: AuthStore;
  /** Closes `store` and opens the same storage again (the file is re-read; Postgres keeps its rows). */
  reopen(): Promise<AuthStore>;
  /** A second store on the same storage, open at once with the first, or null when the adapter forbids that. */
  openSecond(): Promise<AuthStore | null>;
  /** Changes fields of the audit entry `seq` in the storage itself, bypassing the store. */
  editAuditEntry(seq: number, fields: { detail?: Record<string, unknown>; hash?: string }): Promise<void>;
  /** Deletes the audit entry `seq` in the storage itself, bypassing the store (the head is left alone). */
  deleteAuditEntry(seq: number): Promise<void>;
  /** Closes what is open and removes the storage. */
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();
const FAST = { logN: 4, r: 8, p: 1 };

function user(username: string, role: UserRecord['role'] = 'viewer', at = T0): UserRecord {
  return { username, role, passwordHash: `scrypt$4$8$1$c2FsdHNhbHRzYWx0c2FsdA$${username}`, createdAt: iso(at), updatedAt: iso(at) };
}

function session(tokenHash: string, username: string, createdAt = T0, lastSeenAt = createdAt): SessionRecord {
  return { tokenHash, username, clientIp: '192.0.2.1', createdAt, lastSeenAt };
}

function key(id: string, at = T0): KeyRecord {
  return {
    id,
    name: `key ${id}`,
    scopes: ['ingest', 'read'],
    secretHash: 'ab'.repeat(32),
    createdBy: 'admin',
    createdAt: iso(at),
    revokedAt: null,
    revokedBy: null,
    lastUsedAt: null,
  };
}

function ev(i: number, detail: AuditEvent['detail'] = { i }): AuditEvent {
  return { at: iso(T0 + i * 1000), actor: 'admin', action: 'config.change', target: `k${i}`, detail };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTicklineError(e), `expected a TicklineError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

export function authStoreConformance(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`auth store conformance: ${name}`, () => {
    let fx: StoreFixture;
    let store: AuthStore;
    beforeEach(async () => {
      fx = await makeFixture();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    test('a new store is empty', async () => {
      assert.deepEqual(await store.listUsers(), []);
      assert.deepEqual(await store.listKeys(), []);
      assert.equal(await store.getUser('admin'), null);
      assert.equal(await store.getKey('0123456789abcdef'), null);
      assert.equal(await store.getSession('00'.repeat(32)), null);
      assert.deepEqual(await store.auditHead(), EMPTY_HEAD);
      assert.deepEqual(await store.auditPage(undefined, 10), []);
      assert.deepEqual(await store.auditRange(0, 10), []);
    });

    test('users: put, get, replace, list by name, delete with their sessions', async () => {
      await store.transaction(async (tx) => {
        await tx.putUser(user('zed'));
        await tx.putUser(user('alice', 'admin'));
        await tx.putUser(user('bob'));
        assert.deepEqual(await tx.getUser('alice'), user('alice', 'admin'), 'a transaction reads its own writes');
      });
      assert.deepEqual((await store.listUsers()).map((u) => u.username), ['alice', 'bob', 'zed']);
      const changed = { ...user('bob', 'analyst'), passwordHash: 'scrypt$new', updatedAt: iso(T0 + 5000) };
      await store.transaction(async (tx) => {
        await tx.putUser(changed);
        await tx.putSession(session('aa'.repeat(32), 'bob'));
        await tx.putSession(session('bb'.repeat(32), 'alice'));
      });
      assert.deepEqual(await store.getUser('bob'), changed);
      await store.transaction((tx) => tx.deleteUser('bob'));
      assert.equal(await store.getUser('bob'), null);
      assert.equal(await store.getSession('aa'.repeat(32)), null, 'the sessions of a removed user go with them');
      assert.ok(await store.getSession('bb'.repeat(32)));
    });

    test('sessions: put, get, touch forward only, drop, end per user, expire', async () => {
      await store.transaction(async (tx) => {
        await tx.putUser(user('alice'));
        await tx.putUser(user('bob'));
        await tx.putSession(session('01'.repeat(32), 'alice', T0));
        await tx.putSession(session('02'.repeat(32), 'alice', T0 - 10_000));
        await tx.putSession(session('03'.repeat(32), 'bob', T0 - 100_000, T0 - 1000));
        await tx.putSession(session('04'.repeat(32), 'bob', T0, T0 - 50_000));
      });
      assert.deepEqual(await store.getSession('01'.repeat(32)), session('01'.repeat(32), 'alice', T0));
      await store.touchSession('01'.repeat(32), T0 + 60_000);
      assert.equal((await store.getSession('01'.repeat(32)))?.lastSeenAt, T0 + 60_000);
      await store.touchSession('01'.repeat(32), T0 + 30_000);
      assert.equal((await store.getSession('01'.repeat(32)))?.lastSeenAt, T0 + 60_000, 'a late touch does not move it back');
      await store.touchSession('ff'.repeat(32), T0);
      assert.equal(await store.getSession('ff'.repeat(32)), null, 'touching a missing session creates nothing');
      // Idle before T0 - 20 000 or created before T0 - 60 000: 03 (created too early) and 04 (idle).
      assert.equal(await store.transaction((tx) => tx.deleteExpiredSessions(T0 - 20_000, T0 - 60_000)), 2);
      assert.equal(await store.getSession('03'.repeat(32)), null);
      assert.equal(await store.getSession('04'.repeat(32)), null);
      assert.equal(await store.transaction((tx) => tx.deleteUserSessions('alice')), 2);
      assert.equal(await store.getSession('01'.repeat(32)), null);
      await store.transaction((tx) => tx.putSession(session('05'.repeat(32), 'bob')));
      await store.dropSession('05'.repeat(32));
      assert.equal(await store.getSession('05'.repeat(32)), null);
    });

    test('keys: insert once, list by creation, revoke once, touch', async () => {
      await store.transaction(async (tx) => {
        await tx.insertKey(key('00000000000000b2', T0 + 1));
        await tx.insertKey(key('00000000000000a1', T0 + 2));
        await tx.insertKey(key('00000000000000c3', T0));
      });
      assert.deepEqual((await store.listKeys()).map((k) => k.id), ['00000000000000c3', '00000000000000b2', '00000000000000a1']);
      assert.deepEqual(await store.getKey('00000000000000a1'), key('00000000000000a1', T0 + 2));
      await assert.rejects(store.transaction((tx) => tx.insertKey(key('00000000000000a1'))), (e: unknown) => isTicklineError(e));
      await store.transaction((tx) => tx.revokeKey('00000000000000a1', iso(T0 + 10), 'alice'));
      await store.transaction((tx) => tx.revokeKey('00000000000000a1', iso(T0 + 20), 'bob'));
      const revoked = await store.getKey('00000000000000a1');
      assert.deepEqual([revoked?.revokedAt, revoked?.revokedBy], [iso(T0 + 10), 'alice'], 'the first revocation stands');
      await store.touchKey('00000000000000b2', iso(T0 + 60_000));
      assert.equal((await store.getKey('00000000000000b2'))?.lastUsedAt, iso(T0 + 60_000));
      await store.touchKey('ffffffffffffffff', iso(T0));
      assert.equal(await store.getKey('ffffffffffffffff'), null);
    });

    test('audit: appended entries are chained, read back byte for byte, paged both ways', async () => {
      const details: AuditEvent['detail'][] = [{ i: 1 }, { text: 'é ✓ "quoted" \\ \u2028', n: -0.5, big: 2 ** 53 - 1, yes: true, none: null }, {}, { z: 1, a: 2 }];
      const appended = [];
      for (let i = 0; i < details.length; i++) appended.push(await store.transaction((tx) => tx.appendAudit(ev(i + 1, details[i]!))));
      for (let i = 5; i <= 12; i++) appended.push(await store.transaction((tx) => tx.appendAudit(ev(i))));
      assert.deepEqual(appended.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.deepEqual(await store.auditHead(), { seq: 12, hash: appended[11]!.hash });
      assert.deepEqual(await store.auditRange(0, 100), appended);
      assert.deepEqual(await store.auditRange(10, 100), appended.slice(10));
      assert.deepEqual(await store.auditRange(3, 2), appended.slice(3, 5));
      assert.deepEqual(await store.auditPage(undefined, 3), appended.slice(9).reverse());
      assert.deepEqual(await store.auditPage(5, 10), appended.slice(0, 4).reverse());
      assert.deepEqual(await verifyChain(store), { ok: true, entries: 12 });
    });

    test('a transaction that throws leaves nothing behind, including its audit entries', async () => {
      await store.transaction((tx) => tx.appendAudit(ev(1)));
      const boom = new Error('boom');
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.putUser(user('ghost'));
          await tx.insertKey(key('00000000000000ff'));
          await tx.appendAudit(ev(2));
          throw boom;
        }),
        (e: unknown) => e === boom,
      );
      assert.equal(await store.getUser('ghost'), null);
      assert.equal(await store.getKey('00000000000000ff'), null);
      assert.equal((await store.auditHead()).seq, 1);
      const next = await store.transaction((tx) => tx.appendAudit(ev(3)));
      assert.equal(next.seq, 2, 'the sequence has no hole where the failed transaction was');
      assert.deepEqual(await verifyChain(store), { ok: true, entries: 2 });
    });

    test('concurrent transactions are serialized: no lost update, no duplicate seq', async () => {
      const second = await fx.openSecond();
      const stores = second ? [store, second] : [store];
      await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          stores[i % stores.length]!.transaction(async (tx) => {
            // Read-modify-write on one record: without serialization increments get lost.
            const counter = await tx.getUser('counter');
            const n = counter ? Number(counter.passwordHash) : 0;
            await tx.putUser({ ...user('counter'), passwordHash: String(n + 1) });
            await tx.appendAudit(ev(i + 1));
          }),
        ),
      );
      assert.equal((await store.getUser('counter'))?.passwordHash, '24');
      assert.deepEqual(await verifyChain(store), { ok: true, entries: 24 });
      await second?.close();
    });

    test('everything survives closing and opening again', async () => {
      await store.transaction(async (tx) => {
        await tx.putUser(user('alice', 'admin'));
        await tx.putSession(session('0a'.repeat(32), 'alice'));
        await tx.insertKey(key('0123456789abcdef'));
        await tx.appendAudit(ev(1, { note: 'kept' }));
      });
      const before = {
        users: await store.listUsers(),
        keys: await store.listKeys(),
        session: await store.getSession('0a'.repeat(32)),
        audit: await store.auditRange(0, 10),
        head: await store.auditHead(),
      };
      const reopened = await fx.reopen();
      await rejectsWith(store.listUsers(), 'TL_ERR_CLOSED');
      assert.deepEqual(
        {
          users: await reopened.listUsers(),
          keys: await reopened.listKeys(),
          session: await reopened.getSession('0a'.repeat(32)),
          audit: await reopened.auditRange(0, 10),
          head: await reopened.auditHead(),
        },
        before,
      );
    });

    describe('audit tampering in the storage is detected', () => {
      /** A service over the fixture's store that has done one of each operation. */
      async function busyService(): Promise<AuthService> {
        let t = T0;
        const service = new AuthService({ store, scrypt: FAST, now: () => (t += 1000) });
        const adminPassword = await service.bootstrap('first admin password');
        assert.ok(adminPassword);
        await service.addUser({ username: 'ann', password: 'ann password 1', role: 'analyst' }, 'admin');
        await service.login('ann', 'ann password 1', '192.0.2.9');
        const { key: k } = await service.createKey({ name: 'feed', scopes: ['ingest'], createdBy: 'admin' });
        await service.revokeKey(k.id, 'admin');
        await service.recordConfigChange('admin', { key: 'TICKLINE_SIM_RATE', from: 20, to: 50 });
        return service;
      }

      async function verifyAfterReopen(): Promise<Awaited<ReturnType<AuthService['auditVerify']>>> {
        store = await fx.reopen();
        return new AuthService({ store, scrypt: FAST }).auditVerify();
      }

      test('an untouched log verifies', async () => {
        const service = await busyService();
        const head = await service.auditHead();
        assert.equal(head.seq, 6);
        assert.deepEqual(await verifyAfterReopen(), { ok: true, entries: 6 });
      });

      test('an edited detail', async () => {
        await busyService();
        await fx.editAuditEntry(2, { detail: { role: 'admin' } });
        const r = await verifyAfterReopen();
        assert.equal(r.ok, false);
        assert.equal(r.firstBad?.seq, 2);
        assert.match(r.firstBad!.reason, /hash does not match/);
      });

      test('an edited hash', async () => {
        await busyService();
        await fx.editAuditEntry(4, { hash: 'e'.repeat(64) });
        const r = await verifyAfterReopen();
        assert.equal(r.ok, false);
        assert.equal(r.firstBad?.seq, 4);
      });

      test('a deleted entry in the middle', async () => {
        await busyService();
        await fx.deleteAuditEntry(3);
        const r = await verifyAfterReopen();
        assert.equal(r.ok, false);
        assert.equal(r.firstBad?.seq, 3);
        assert.match(r.firstBad!.reason, /missing/);
      });

      test('a deleted last entry', async () => {
        await busyService();
        await fx.deleteAuditEntry(6);
        const r = await verifyAfterReopen();
        assert.equal(r.ok, false);
        assert.equal(r.entries, 5);
        assert.equal(r.firstBad?.seq, 6);
        assert.match(r.firstBad!.reason, /removed from the end/);
      });
    });
  });
}
