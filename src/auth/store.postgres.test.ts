import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { isTicklineError } from '../core/errors.ts';
import { serviceUrl, skipUnless } from '../../test/support/services.ts';
import { openAuthStore } from './open-store.ts';
import type { AuthStore } from './store.ts';
import { authStoreConformance, type StoreFixture } from './store.suite.ts';

/** Each fixture gets its own random schema, dropped by cleanup, so runs never meet. */
describe('auth postgres store', { skip: skipUnless('POSTGRES') }, () => {
  const base = serviceUrl('POSTGRES') ?? 'postgres://localhost/test';
  const admin = new pg.Pool({ connectionString: base, max: 1 });
  after(() => admin.end());

  function urlFor(schema: string): string {
    const url = new URL(base);
    url.searchParams.set('schema', schema);
    return url.href;
  }

  async function postgresFixture(): Promise<StoreFixture> {
    const schema = `tl_auth_${randomBytes(5).toString('hex')}`;
    const url = urlFor(schema);
    let store: AuthStore = await openAuthStore(url);
    const others: AuthStore[] = [];
    return {
      get store() {
        return store;
      },
      reopen: async () => {
        await store.close();
        store = await openAuthStore(url);
        return store;
      },
      openSecond: async () => {
        const second = await openAuthStore(url);
        others.push(second);
        return second;
      },
      editAuditEntry: async (seq, fields) => {
        if (fields.detail) await admin.query(`UPDATE "${schema}".auth_audit SET detail = detail || $2::jsonb WHERE seq = $1`, [seq, JSON.stringify(fields.detail)]);
        if (fields.hash) await admin.query(`UPDATE "${schema}".auth_audit SET hash = $2 WHERE seq = $1`, [seq, fields.hash]);
      },
      deleteAuditEntry: async (seq) => {
        await admin.query(`DELETE FROM "${schema}".auth_audit WHERE seq = $1`, [seq]);
      },
      cleanup: async () => {
        await store.close();
        for (const o of others) await o.close();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      },
    };
  }

  authStoreConformance('postgres://', postgresFixture);

  test('creates its tables once: opening again, or twice at the same time, is harmless', async () => {
    const schema = `tl_auth_${randomBytes(5).toString('hex')}`;
    try {
      const stores = await Promise.all([openAuthStore(urlFor(schema)), openAuthStore(urlFor(schema))]);
      for (const s of stores) await s.close();
      const again = await openAuthStore(urlFor(schema));
      await again.close();
      const tables = await admin.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [schema],
      );
      assert.deepEqual(tables.rows.map((r) => r.table_name), ['auth_audit', 'auth_audit_head', 'auth_keys', 'auth_migrations', 'auth_sessions', 'auth_users']);
      const versions = await admin.query(`SELECT version FROM "${schema}".auth_migrations`);
      assert.deepEqual(versions.rows, [{ version: 1 }]);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  test('an unreachable server fails with TL_ERR_UNAVAILABLE naming host:port but never the password', async () => {
    await assert.rejects(openAuthStore('postgres://tickline:s3cret-pw@127.0.0.1:1/test?schema=x&connect_timeout_ms=500'), (e: unknown) => {
      assert.ok(isTicklineError(e), String(e));
      assert.equal(e.code, 'TL_ERR_UNAVAILABLE', e.message);
      assert.ok(e.message.includes('127.0.0.1:1'), e.message);
      assert.ok(!e.message.includes('s3cret-pw'), e.message);
      return true;
    });
  });

  test('URL parameters are those of the Postgres store', async () => {
    await assert.rejects(openAuthStore('postgres://u:s3cret-pw@127.0.0.1/test?schema=a-b'), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_BAD_URL' && !e.message.includes('s3cret-pw'));
    await assert.rejects(openAuthStore('postgres://u:s3cret-pw@127.0.0.1/test?bogus=1'), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_BAD_URL' && /bogus/.test(e.message));
  });
});
