import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { startS3, testS3Client } from '../../../test/support/s3.ts';
import { silentLogger } from '../../core/log.ts';
import { tickToJsonLine, type Tick } from '../../core/tick.ts';
import type { Zones } from '../../ports/zones.ts';
import { zonesRegistry } from './index.ts';
import { defaultRegion } from './s3-store.ts';
import { S3Zones } from './s3.ts';

const H0 = Date.UTC(2024, 0, 2, 3) * 1000;

function tick(seq: number, ts = H0 + seq): Tick {
  return { symbol: 'AAPL', ts, price: 10 + seq, size: 1, bid: null, ask: null, currency: 'USD', provider: 'sim', seq, recvTs: ts };
}

/** Files (not directories) under a local directory, relative, hidden ones included. */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
  } catch {
    return [];
  }
}

/** An HTTP proxy to the test server that can be switched to answer 503 to everything, like an outage. */
async function flakyProxy(target: string): Promise<{ endpoint: string; up: boolean; close(): Promise<void> }> {
  const to = new URL(target);
  const state = { up: true };
  const server: Server = createServer((req, res) => {
    if (!state.up) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>outage</Message></Error>');
      return;
    }
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    upstream.on('error', (e) => res.destroy(e));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get up() {
      return state.up;
    },
    set up(v: boolean) {
      state.up = v;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('s3:// zones', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let tmp: string;
  let prefixes = 0;
  const nextPrefix = () => `unit-${++prefixes}`;
  before(async () => {
    s3 = await startS3();
    tmp = await mkdtemp(join(tmpdir(), 'tickline-zones-s3-unit-'));
  });
  after(async () => {
    await s3.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  describe('URL', () => {
    const ctx = () => ({ dataDir: tmp, logger: silentLogger() });

    it('refuses credentials in the URL without repeating them', async () => {
      await assert.rejects(zonesRegistry.create('s3://AKIAEXAMPLE:s3cr3t@bucket/zones', ctx()), (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'TL_ERR_BAD_URL');
        assert.match((e as Error).message, /credential chain/);
        assert.doesNotMatch((e as Error).message, /s3cr3t|AKIAEXAMPLE/);
        return true;
      });
    });

    it('rejects bad buckets, prefixes, endpoints and options, naming them', async () => {
      const cases: Array<[string, string, RegExp]> = [
        ['s3://Bad_Bucket/zones', 'TL_ERR_BAD_URL', /Bad_Bucket|bad_bucket/],
        ['s3://bucket/a%20b', 'TL_ERR_BAD_URL', /"a b"/],
        ['s3://bucket/z?endpoint=ftp://host', 'TL_ERR_CONFIG', /endpoint.*ftp/],
        ['s3://bucket/z?forcePathStyle=maybe', 'TL_ERR_CONFIG', /forcePathStyle.*"maybe"/],
        ['s3://bucket/z?accessKeyId=x', 'TL_ERR_CONFIG', /unknown option "accessKeyId".*endpoint, region, forcePathStyle/],
        ['s3://bucket/z?retainRaw=soon', 'TL_ERR_CONFIG', /retainRaw.*"soon"/],
      ];
      for (const [url, code, message] of cases) await assert.rejects(zonesRegistry.create(url, ctx()), { code, message }, url);
    });

    it('takes the region from the standard chain, else us-east-1', async () => {
      const saved = { ...process.env };
      try {
        delete process.env.AWS_REGION;
        delete process.env.AWS_DEFAULT_REGION;
        delete process.env.AWS_PROFILE;
        process.env.AWS_CONFIG_FILE = join(tmp, 'no-such-config');
        assert.equal(await defaultRegion(), 'us-east-1');
        process.env.AWS_REGION = 'eu-west-3';
        assert.equal(await defaultRegion(), 'eu-west-3');
      } finally {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    });
  });

  it('stages under the data directory and removes the local copy once uploaded', async () => {
    const dataDir = join(tmp, 'data-staging');
    const prefix = nextPrefix();
    const url = `s3://${s3.bucket}/${prefix}/zones?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true`;
    const z = (await zonesRegistry.create(url, { dataDir, logger: silentLogger() })) as S3Zones;
    try {
      assert.equal(z.kind, 's3');
      assert.equal(z.bucket, s3.bucket);
      assert.equal(z.prefix, `${prefix}/zones`);
      assert.match(z.staging, new RegExp(`^${dataDir}/zones-staging/[0-9a-f]{16}$`));
      await z.append('raw', 'ticks', [tick(1)]);
      await z.append('curated', 'ticks', [tick(1)]);
      assert.equal((await filesUnder(z.staging)).filter((f) => f.endsWith('.inprogress')).length, 2);
      await z.flush();
      assert.deepEqual(
        (await filesUnder(z.staging)).filter((f) => !f.startsWith('.tmp/')),
        [],
        'nothing left staged after the uploads',
      );
      assert.equal((await z.list('raw')).length, 1);
      assert.equal((await z.list('curated')).length, 1);
    } finally {
      await z.close();
    }
    // The same bucket and prefix reopen the same staging directory, whatever the other options.
    const again = (await zonesRegistry.create(`${url}&rollMs=5000`, { dataDir, logger: silentLogger() })) as S3Zones;
    assert.equal(again.staging, z.staging);
    await again.close();
  });

  it('uploads files larger than a part as a multipart upload, intact', async () => {
    const prefix = nextPrefix();
    const z = await S3Zones.open(
      { bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      join(tmp, 'data-multipart'),
      { logger: silentLogger() },
    );
    const client = testS3Client(s3.endpoint);
    try {
      const ticks = Array.from({ length: 70_000 }, (_, i) => tick(i));
      const bytes = ticks.reduce((n, t) => n + Buffer.byteLength(tickToJsonLine(t)) + 1, 0);
      assert.ok(bytes > 10 * 1024 * 1024, `${bytes} bytes is more than one 8 MiB part`);
      await z.append('raw', 'ticks', ticks);
      await z.flush();
      const [key] = await z.list('raw');
      const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${key!}` }));
      assert.equal(head.ContentLength, bytes);
      let n = 0;
      for await (const batch of z.read('raw', 'ticks', {})) for (const r of batch) assert.equal(r.seq, n++);
      assert.equal(n, ticks.length);
    } finally {
      client.destroy();
      await z.close();
    }
  });

  it('keeps files staged through an outage, reports it, and uploads them when the bucket is back', async () => {
    const proxy = await flakyProxy(s3.endpoint);
    const location = { bucket: s3.bucket, prefix: nextPrefix(), endpoint: proxy.endpoint, region: 'us-east-1', forcePathStyle: true };
    const staging = join(tmp, 'data-outage');
    const options = { logger: silentLogger(), publishAttempts: 2, retryBaseMs: 10 };
    let z: Zones = await S3Zones.open(location, staging, options);
    try {
      assert.equal((await z.health()).ok, true);
      proxy.up = false;
      await z.append('raw', 'ticks', [tick(1), tick(2)]);
      await assert.rejects(z.flush(), { code: 'TL_ERR_ZONE', message: /not published/ });
      const down = await z.health();
      assert.equal(down.ok, false);
      assert.match(down.detail ?? '', /not reachable/);
      assert.deepEqual(await filesUnder(join(staging, 'raw')).then((f) => f.length), 1, 'the part is still staged');

      proxy.up = true;
      const waiting = await z.health();
      assert.equal(waiting.ok, false, 'reachable, but a file still waits');
      assert.match(waiting.detail ?? '', /wait to be published/);
      await z.flush();
      assert.equal((await z.health()).ok, true);
      assert.equal((await z.list('raw')).length, 1);

      // Closed during an outage: the file stays staged and goes up on the next open.
      proxy.up = false;
      await z.append('raw', 'ticks', [tick(3)]);
      await assert.rejects(z.close(), { code: 'TL_ERR_ZONE' });
      proxy.up = true;
      z = await S3Zones.open(location, staging, options);
      assert.equal((await z.list('raw')).length, 2);
      const seqs: unknown[] = [];
      for await (const batch of z.read('raw', 'ticks', {})) seqs.push(...batch.map((r) => r.seq));
      assert.deepEqual(seqs.sort(), [1, 2, 3]);
      assert.deepEqual((await filesUnder(staging)).filter((f) => !f.startsWith('.tmp/')), []);
    } finally {
      proxy.up = true;
      await z.close().catch(() => {});
      await proxy.close();
    }
  });

  it('uploads on open what a crashed run left staged', async () => {
    const location = { bucket: s3.bucket, prefix: nextPrefix(), endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true };
    const staging = join(tmp, 'data-crashed');
    const dir = join(staging, 'raw/ticks/date=2024-01-02/hour=03');
    await mkdir(dir, { recursive: true });
    // Sealed but not uploaded yet, and still being written.
    await writeFile(join(dir, 'part-1-x.jsonl'), `${tickToJsonLine(tick(1))}\n`);
    await writeFile(join(dir, '.part-2-x.jsonl.inprogress'), `${tickToJsonLine(tick(2))}\n{"sym`);
    const z = await S3Zones.open(location, staging, { logger: silentLogger() });
    try {
      assert.deepEqual(await z.list('raw'), ['part-1-x', 'part-2-x'].map((p) => `raw/ticks/date=2024-01-02/hour=03/${p}.jsonl`));
      assert.deepEqual((await filesUnder(staging)).filter((f) => !f.startsWith('.tmp/')), []);
    } finally {
      await z.close();
    }
  });

  it('does not merge away a part a crash left both uploaded and staged, which open uploads again', async () => {
    const location = { bucket: s3.bucket, prefix: nextPrefix(), endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true };
    const staging = join(tmp, 'data-uploaded-and-staged');
    const hour = 'curated/ticks/date=2024-01-02/hour=03';
    let z = await S3Zones.open(location, staging, { logger: silentLogger(), compactAt: 100 });
    await z.append('curated', 'ticks', [tick(1)]);
    await z.flush();
    await z.append('curated', 'ticks', [tick(2)]);
    await z.flush();
    const [, second] = await z.list('curated');
    await z.close();
    // The crash came after the second part's upload, before its staged copy was removed, while rows
    // of the same hour were being appended.
    const client = testS3Client(s3.endpoint);
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${location.prefix}/${second!}` }));
      await mkdir(join(staging, hour), { recursive: true });
      await writeFile(join(staging, second!), await out.Body!.transformToByteArray());
    } finally {
      client.destroy();
    }
    await writeFile(join(staging, hour, '.part-9-x.parquet.inprogress'), `${tickToJsonLine(tick(3))}\n`);
    const curatedSeqs = async (): Promise<unknown[]> => {
      const seqs: unknown[] = [];
      for await (const batch of z.read('curated', 'ticks', {})) seqs.push(...batch.map((r) => r.seq));
      return seqs.sort();
    };

    // Sealing the in-progress file on open makes three visible parts, more than compactAt allows,
    // but the staged one is uploaded again afterwards: merging it would show its rows twice.
    z = await S3Zones.open(location, staging, { logger: silentLogger(), compactAt: 2 });
    try {
      assert.deepEqual(await curatedSeqs(), [1, 2, 3]);
      assert.equal((await z.list('curated')).length, 3);
      assert.deepEqual((await filesUnder(staging)).filter((f) => !f.startsWith('.tmp/')), []);
      // Once its staged copy is gone the part is merged like any other.
      await z.append('curated', 'ticks', [tick(4)]);
      await z.flush();
      assert.equal((await z.list('curated')).length, 1);
      assert.deepEqual(await curatedSeqs(), [1, 2, 3, 4]);
    } finally {
      await z.close();
    }
  });

  it('reports an unreachable bucket as unhealthy', async () => {
    const z = await S3Zones.open(
      { bucket: 'no-such-bucket', prefix: '', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      join(tmp, 'data-nobucket'),
      { logger: silentLogger() },
    );
    try {
      const h = await z.health();
      assert.equal(h.ok, false);
      assert.match(h.detail ?? '', /s3:\/\/no-such-bucket is not reachable: HTTP 404/);
    } finally {
      await z.close();
    }
  });
});
