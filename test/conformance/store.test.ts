import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { storeRegistry } from '../../src/adapters/store/index.ts';
import { silentLogger } from '../../src/core/log.ts';
import { storeConformance } from './store.suite.ts';

storeConformance('duckdb://', async (location) => {
  const file = location ?? join(await mkdtemp(join(tmpdir(), 'tickline-store-')), 'store.duckdb');
  const store = await storeRegistry.create(`duckdb://${file}`, { dataDir: dirname(file), logger: silentLogger() });
  return {
    store,
    location: file,
    cleanup: async () => {
      await store.close();
      await rm(dirname(file), { recursive: true, force: true });
    },
  };
}, { idempotent: false });
