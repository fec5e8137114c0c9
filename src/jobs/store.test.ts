import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import pg from 'pg';
import { serviceUrl, skipUnless } from '../../test/support/services.ts';
import { openJobStore } from './open-store.ts';
import { jobStoreConformance } from './store.suite.ts';

describe('file poll-job store', () => {
  jobStoreConformance('file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickline-jobs-'));
    const url = `file://${join(dir, 'jobs.json')}`;
    const o = {
      store: await openJobStore(url),
      second: async () => null,
      reopen: () => openJobStore(url),
      cleanup: async () => {
        await o.store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return o;
  });
});

describe('postgres poll-job store', { skip: skipUnless('POSTGRES') }, () => {
  jobStoreConformance('postgres', async () => {
    const base = serviceUrl('POSTGRES')!;
    const schema = `tl_jobs_${randomBytes(5).toString('hex')}`;
    const u = new URL(base);
    u.searchParams.set('schema', schema);
    const opened: Array<{ close(): Promise<void> }> = [];
    const openOne = async () => {
      const s = await openJobStore(u.href);
      opened.push(s);
      return s;
    };
    const o = {
      store: await openOne(),
      second: openOne,
      reopen: openOne,
      cleanup: async () => {
        for (const s of opened) await s.close();
        const admin = new pg.Client({ connectionString: base });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      },
    };
    return o;
  });
});
