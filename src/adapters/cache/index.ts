import type { Cache } from '../../ports/cache.ts';
import { Registry } from '../registry.ts';
import { MemoryCache } from './memory.ts';

/** Latest-price cache adapters by URL scheme. */
export const cacheRegistry = new Registry<Cache>('cache')
  .register('memory', () => new MemoryCache())
  .register('redis', async (url, ctx) => (await import('./redis.ts')).createRedisCache(url, ctx))
  .register('rediss', async (url, ctx) => (await import('./redis.ts')).createRedisCache(url, ctx));
