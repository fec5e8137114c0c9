import { randomBytes } from 'node:crypto';
import { after, describe } from 'node:test';
import pg from 'pg';
import { storeRegistry } from '../../src/adapters/store/index.ts';
import { silentLogger } from '../../src/core/log.ts';
import { serviceUrl, skipUnless } from '../support/services.ts';
import { storeConformance } from './store.suite.ts';

/** Each store gets its own schema (the `location`), dropped by cleanup, so parallel runs never meet. */
describe('postgres store', { skip: skipUnless('POSTGRES') }, () => {
  const base = serviceUrl('POSTGRES') ?? 'postgres://localhost/test';
  const admin = new pg.Pool({ connectionString: base, max: 1 });
  after(() => admin.end());

  storeConformance('postgres://', async (location) => {
    const schema = location ?? `tl_conf_${randomBytes(5).toString('hex')}`;
    const url = new URL(base);
    url.searchParams.set('schema', schema);
    const store = await storeRegistry.create(url.href, { dataDir: '.', logger: silentLogger() });
    return {
      store,
      location: schema,
      cleanup: async () => {
        await store.close();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      },
    };
  }, { idempotent: true });
});
