/** Opens the poll-job store by URL: `file://<path>.json` (embedded) or `postgres://…` (shared by replicas). */
import { Registry } from '../adapters/registry.ts';
import { silentLogger, type Logger } from '../core/log.ts';
import type { JobStore } from './store.ts';

export const jobStoreRegistry = new Registry<JobStore>('poll-job store')
  .register('file', async (url) => (await import('./store-file.ts')).openFileJobStore(url))
  .register('postgres', async (url, ctx) => (await import('./store-postgres.ts')).openPostgresJobStore(url, ctx.logger))
  .register('postgresql', async (url, ctx) => (await import('./store-postgres.ts')).openPostgresJobStore(url, ctx.logger));

export function openJobStore(url: string, logger: Logger = silentLogger()): Promise<JobStore> {
  return jobStoreRegistry.create(url, { dataDir: '.', logger });
}
