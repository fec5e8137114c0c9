import type { Store } from '../../ports/store.ts';
import { Registry } from '../registry.ts';
import { createDuckDBStore } from './duckdb.ts';

/** Store adapters by URL scheme. */
export const storeRegistry = new Registry<Store>('store');

storeRegistry.register('duckdb', createDuckDBStore);
