import type { Store } from '../../ports/store.ts';
import { Registry } from '../registry.ts';
import { createDuckDBStore } from './duckdb.ts';

/** Store adapters by URL scheme. Postgres loads its driver only when chosen. */
export const storeRegistry = new Registry<Store>('store')
  .register('duckdb', createDuckDBStore)
  .register('postgres', async (url, ctx) => (await import('./postgres.ts')).createPostgresStore(url, ctx))
  .register('postgresql', async (url, ctx) => (await import('./postgres.ts')).createPostgresStore(url, ctx));
