import { MemoryBus } from '../../src/adapters/bus/memory.ts';
import { busConformance } from './bus.suite.ts';

let n = 0;
busConformance('memory', async () => {
  const bus = new MemoryBus({ capacity: 4096, batchMax: 512, retryMs: 5 });
  return { bus, topic: `t${++n}`, cleanup: () => bus.close() };
}, { sharedGroups: false });
