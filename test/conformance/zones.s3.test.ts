import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { zonesRegistry } from '../../src/adapters/zones/index.ts';
import { silentLogger } from '../../src/core/log.ts';
import { downloadPrefix, startS3 } from '../support/s3.ts';
import { zonesConformance } from './zones.suite.ts';

// One local S3-compatible server for the file; each fixture gets its own key prefix and data directory.
describe('s3:// zones against a local S3-compatible server', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  before(async () => {
    s3 = await startS3();
  });
  after(() => s3.stop());

  let fixtures = 0;
  zonesConformance('s3://', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'tickline-zones-s3-'));
    const prefix = `run-${++fixtures}/zones`;
    const ctx = { dataDir: join(tmp, 'data'), logger: silentLogger() };
    const base = `s3://${s3.bucket}/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true`;
    const open = (query = '') => zonesRegistry.create(query ? `${base}&${query}` : base, ctx);
    let snapshots = 0;
    return {
      zones: await open(),
      open,
      // What a reader of the bucket sees, as local files (DuckDB's httpfs is not available offline).
      snapshot: async () => {
        const dir = join(tmp, `snapshot-${++snapshots}`);
        await downloadPrefix(s3.endpoint, s3.bucket, prefix, dir);
        return dir;
      },
      cleanup: () => rm(tmp, { recursive: true, force: true }),
    };
  });
});
