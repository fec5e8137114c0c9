import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zonesRegistry } from '../../src/adapters/zones/index.ts';
import { silentLogger } from '../../src/core/log.ts';
import { zonesConformance } from './zones.suite.ts';

zonesConformance('file://', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tickline-zones-'));
  const ctx = { dataDir: join(root, 'data'), logger: silentLogger() };
  const open = (query = '') => zonesRegistry.create(`file://${join(root, 'zones')}${query ? `?${query}` : ''}`, ctx);
  return {
    zones: await open(),
    open,
    // The zones directory is what readers see: no copy needed.
    snapshot: async () => join(root, 'zones'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
