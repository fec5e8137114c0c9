import type { Bus } from '../../ports/bus.ts';
import { Registry } from '../registry.ts';
import { MemoryBus } from './memory.ts';

/**
 * Bus adapters by URL scheme. `memory://` takes its sizing from the query string:
 * `memory://?capacity=65536&batchMax=8192` (defaults from TICKLINE_BUS_CAPACITY / TICKLINE_BATCH_MAX).
 */
export const busRegistry = new Registry<Bus>('bus')
  // Network adapters load their client libraries only when chosen.
  .register('kafka', async (url, ctx) => (await import('./kafka.ts')).createKafkaBus(url, ctx))
  .register('nats', async (url, ctx) => (await import('./nats.ts')).createNatsBus(url, ctx))
  .register('memory', (url, ctx) => {
  const capacity = Number(url.searchParams.get('capacity') ?? ctx.busCapacity ?? 65_536);
  const batchMax = Number(url.searchParams.get('batchMax') ?? ctx.batchMax ?? 8192);
  return new MemoryBus({
    capacity,
    batchMax,
    onHandlerError: (err, attempt) => ctx.logger.error({ err, attempt }, 'batch handler failed; retrying'),
  });
});
