import { MemoryCache } from '../../src/adapters/cache/memory.ts';
import { cacheConformance } from './cache.suite.ts';

cacheConformance('memory', async () => {
  const cache = new MemoryCache();
  return { cache, cleanup: () => cache.close() };
});
