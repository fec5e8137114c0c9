import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisCache } from '../../src/adapters/cache/redis.ts';
import { silentLogger } from '../../src/core/log.ts';
import { serviceUrl, skipUnless } from '../support/services.ts';
import { cacheConformance } from './cache.suite.ts';

const skip = skipUnless('REDIS');

/** Deletes every key under a test prefix. */
export async function dropPrefix(base: string, prefix: string): Promise<void> {
  const raw = new Redis(base, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await raw.connect();
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await raw.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    raw.disconnect();
  }
}

// The outer suite carries the skip so a missing TICKLINE_TEST_REDIS prints one visible skip line.
describe('redis cache', { skip }, () => {
  cacheConformance('redis', async () => {
    const base = serviceUrl('REDIS')!;
    const id = randomBytes(4).toString('hex');
    const prefix = `tltest:${id}:`;
    const url = new URL(base);
    url.searchParams.set('prefix', prefix);
    url.searchParams.set('channel', `tltest:${id}:latest`);
    const ctx = { dataDir: '.', logger: silentLogger() };
    const cache = await createRedisCache(url, ctx);
    return {
      cache,
      peer: () => createRedisCache(url, ctx),
      cleanup: async () => {
        await cache.close();
        await dropPrefix(base, prefix);
      },
    };
  });
});
