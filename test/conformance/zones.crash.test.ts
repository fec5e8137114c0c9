import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { zonesRegistry } from '../../src/adapters/zones/index.ts';
import { silentLogger } from '../../src/core/log.ts';
import { downloadPrefix, startS3, testS3Client } from '../support/s3.ts';
import { BATCH } from './zones.crash-child.ts';
import { duckQuery } from './zones.suite.ts';

const CHILD = fileURLToPath(new URL('./zones.crash-child.ts', import.meta.url));
const VISIBLE_RE = /^part-[^/]+\.(jsonl|jsonl\.gz|parquet)$/;
const ROUNDS = 3;

interface Acks {
  raw: Set<number>;
  curated: Set<number>;
  flushes: number;
}

/**
 * Runs the writer until it has flushed `flushes` times, lets it go on for `extraMs`, then kills it
 * with SIGKILL (no exit handlers, no final flush) while appends and flushes are in flight.
 */
async function runAndKill(url: string, dataDir: string, first: number, flushes: number, extraMs: number): Promise<Acks> {
  const child = spawn(process.execPath, [CHILD, url, dataDir, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: Acks = { raw: new Set(), curated: new Set(), flushes: 0 };
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let rest = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer made no progress in time: ${stderr}`)), 30_000);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`writer exited on its own: ${stderr}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const [what, zone, b] = line.split(' ');
        if (what === 'ack') acks[zone as 'raw' | 'curated'].add(Number(b));
        if (what === 'flushed' && ++acks.flushes === flushes) {
          clearTimeout(timer);
          setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, extraMs);
        }
      }
    });
  });
  assert.equal(await exited, 'SIGKILL');
  return acks;
}

/** Every visible file is complete: each JSONL line parses, each Parquet file is read whole by DuckDB. Returns how many files. */
async function checkVisibleFiles(dir: string): Promise<number> {
  let n = 0;
  for (const rel of (await readdir(dir, { recursive: true })) as string[]) {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (!VISIBLE_RE.test(name) || rel.startsWith('.')) continue;
    n++;
    const path = join(dir, rel);
    if (name.endsWith('.parquet')) {
      const [row] = await duckQuery(`SELECT count(*)::INT AS n, count(seq)::INT AS seqs FROM read_parquet('${path}')`);
      assert.ok(row!.n as number > 0 && row!.n === row!.seqs, `${rel} is a complete Parquet file`);
    } else {
      const text = await readFile(path, 'utf8');
      assert.ok(text.endsWith('\n'), `${rel} ends with a whole line`);
      for (const line of text.slice(0, -1).split('\n')) JSON.parse(line);
    }
  }
  return n;
}

/** seq → how many times it is visible in a zone. */
async function visibleSeqs(url: string, dataDir: string, zone: 'raw' | 'curated'): Promise<Map<number, number>> {
  const zones = await zonesRegistry.create(url, { dataDir, logger: silentLogger() });
  try {
    await zones.flush();
    const counts = new Map<number, number>();
    for await (const batch of zones.read(zone, 'ticks', {})) {
      for (const row of batch) counts.set(row.seq as number, (counts.get(row.seq as number) ?? 0) + 1);
    }
    return counts;
  } finally {
    await zones.close();
  }
}

function crashSuite(name: string, setup: () => Promise<{ url: string; dataDir: string; visibleDir: () => Promise<string> }>): void {
  it(`${name}: a killed writer leaves only complete files, and reopening publishes every acknowledged row once`, async () => {
    const { url, dataDir, visibleDir } = await setup();
    const acked = { raw: new Set<number>(), curated: new Set<number>() };
    for (let round = 0; round < ROUNDS; round++) {
      const acks = await runAndKill(url, dataDir, round * 100_000, 2 + round, round * 15);
      for (const zone of ['raw', 'curated'] as const) for (const b of acks[zone]) acked[zone].add(b);
      assert.ok((await checkVisibleFiles(await visibleDir())) > 0, 'the writer published files before it was killed');
    }
    for (const zone of ['raw', 'curated'] as const) {
      const counts = await visibleSeqs(url, dataDir, zone);
      for (const b of acked[zone]) {
        for (let k = 0; k < BATCH; k++) assert.equal(counts.get(b * BATCH + k), 1, `${zone} seq ${b * BATCH + k} of acknowledged batch ${b} is visible once`);
      }
      for (const [seq, n] of counts) assert.equal(n, 1, `${zone} seq ${seq} is not duplicated`);
    }
    assert.ok(acked.curated.size >= 12, `enough batches were written (${acked.curated.size})`);
    await checkVisibleFiles(await visibleDir());
  });
}

describe('zones survive a killed writer', () => {
  let tmp: string;
  let s3: Awaited<ReturnType<typeof startS3>>;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tickline-zones-crash-'));
    s3 = await startS3();
  });
  after(async () => {
    await s3.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  // The checks below hold the adapter to S3's all-or-nothing PUT; the local server must keep it too,
  // or a writer killed mid-upload would leave a torn object S3 itself never shows.
  it('the local S3 server, like S3, shows no object of a PUT that is still arriving or was cut short', async () => {
    const client = testS3Client(s3.endpoint);
    const keys = async () => (await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'torn/' }))).Contents ?? [];
    const { port } = new URL(s3.endpoint);
    // s3rver checks the key id and the clock skew, not the signature.
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: `/${s3.bucket}/torn/part-1.jsonl`,
      headers: {
        'content-length': 4000,
        authorization: `AWS4-HMAC-SHA256 Credential=S3RVER/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00`,
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        'x-amz-date': amzDate,
      },
    });
    const closed = new Promise<void>((resolve) => req.on('error', () => resolve()).on('close', resolve));
    try {
      req.write('x'.repeat(1000));
      // Time for the server to take the first bytes.
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await keys(), [], 'nothing visible while the body arrives');
      req.destroy();
      await closed;
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await keys(), [], 'nothing visible after the client went away');
    } finally {
      req.destroy();
      client.destroy();
    }
  });

  // Small rolls so raw files are published all the time, not only on flush.
  crashSuite('file://', async () => {
    const root = join(tmp, 'zones');
    return { url: `file://${root}?rollBytes=4000`, dataDir: join(tmp, 'data-file'), visibleDir: async () => root };
  });

  crashSuite('s3://', async () => {
    const prefix = 'crash/zones';
    let n = 0;
    return {
      url: `s3://${s3.bucket}/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true&rollBytes=4000`,
      dataDir: join(tmp, 'data-s3'),
      visibleDir: async () => {
        const dir = join(tmp, `s3-visible-${++n}`);
        await downloadPrefix(s3.endpoint, s3.bucket, prefix, dir);
        return dir;
      },
    };
  });
});
