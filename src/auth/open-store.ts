/** Opens an auth store by URL. Kept apart from the port (store.ts) so the adapters can import the port. */
import { silentLogger, type Logger } from '../core/log.ts';
import { Registry } from '../adapters/registry.ts';
import type { AuthStore } from './store.ts';

export interface AuthStoreContext {
  logger?: Logger;
}

/** Auth store adapters by URL scheme. The Postgres driver loads only when chosen. */
export const authStoreRegistry = new Registry<AuthStore>('auth store')
  .register('file', async (url, ctx) => (await import('./store-file.ts')).openFileAuthStore(url, ctx.logger))
  .register('postgres', async (url, ctx) => (await import('./store-postgres.ts')).openPostgresAuthStore(url, ctx.logger))
  .register('postgresql', async (url, ctx) => (await import('./store-postgres.ts')).openPostgresAuthStore(url, ctx.logger));

/**
 * Opens the auth store named by `url` (the file is read, or the Postgres tables are created, before
 * this resolves). Unknown schemes fail with TL_ERR_UNKNOWN_SCHEME listing the known ones.
 */
export function openAuthStore(url: string, ctx: AuthStoreContext = {}): Promise<AuthStore> {
  return authStoreRegistry.create(url, { dataDir: '.', logger: ctx.logger ?? silentLogger() });
}
