import { describe } from 'node:test';
import { testSpace } from '../support/redis-testkit.ts';
import { createRedisCache } from '../../src/adapters/cache/redis.ts';
import { silentLogger } from '../../src/core/log.ts';
import { serviceUrl, skipUnless } from '../support/services.ts';
import { cacheConformance } from './cache.suite.ts';

// The outer suite carries the skip so a missing TICKLINE_TEST_REDIS prints one visible skip line.
describe('redis cache', { skip: skipUnless('REDIS') }, () => {
  cacheConformance('redis', async () => {
    // A fresh key prefix and channel per fixture: runs in parallel never see each other's quotes.
    const space = testSpace(serviceUrl('REDIS')!);
    const url = space.url();
    const ctx = { dataDir: '.', logger: silentLogger() };
    const cache = await createRedisCache(url, ctx);
    return {
      cache,
      peer: () => createRedisCache(url, ctx),
      cleanup: async () => {
        await cache.close();
        await space.cleanup();
      },
    };
  });
});
