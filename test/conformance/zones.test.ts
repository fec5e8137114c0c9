import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileZones } from '../../src/adapters/zones/file.ts';
import { zonesConformance } from './zones.suite.ts';

zonesConformance('file://', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tickline-zones-'));
  return {
    zones: await createFileZones(root),
    root,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
