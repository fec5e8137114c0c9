import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { silentLogger } from '../../core/log.ts';
import { tickToJsonLine, type Tick } from '../../core/tick.ts';
import { createFileZones, type FileZones, type FileZonesOptions } from './file.ts';

const H = 3_600_000_000;
const H0 = Date.UTC(2024, 0, 2, 3) * 1000;
const HOUR_DIR = 'date=2024-01-02/hour=03';

function tick(seq: number, ts = H0 + seq): Tick {
  return { symbol: 'AAPL', ts, price: 10 + seq, size: 1, bid: null, ask: null, currency: 'USD', provider: 'sim', seq, recvTs: ts };
}

function lines(ticks: readonly Tick[]): string {
  return ticks.map((t) => `${tickToJsonLine(t)}\n`).join('');
}

async function duck(sql: string): Promise<Array<Record<string, unknown>>> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as Array<Record<string, unknown>>;
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

async function seqs(z: FileZones, zone: 'raw' | 'curated'): Promise<number[]> {
  const out: number[] = [];
  for await (const batch of z.read(zone, 'ticks', {})) for (const r of batch) out.push(r.seq as number);
  return out.sort((a, b) => a - b);
}

describe('file:// zones recovery and compaction', () => {
  let root: string;
  const open: FileZones[] = [];
  async function make(options: FileZonesOptions = {}): Promise<FileZones> {
    const z = await createFileZones(root, { logger: silentLogger(), ...options });
    open.push(z);
    return z;
  }
  const hourDir = (zone: string) => join(root, zone, 'ticks', HOUR_DIR);
  const hidden = async (zone: string) => (await readdir(hourDir(zone))).filter((n) => n.startsWith('.'));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tickline-zones-recovery-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((z) => z.close().catch(() => {})));
    await rm(root, { recursive: true, force: true });
  });

  it('seals in-progress gzip and Parquet files a crash left, up to their last whole line', async () => {
    await mkdir(hourDir('raw'), { recursive: true });
    await mkdir(hourDir('curated'), { recursive: true });
    await writeFile(join(hourDir('raw'), '.part-1-x.jsonl.gz.inprogress'), `${lines([tick(1), tick(2)])}{"symbol":"AA`);
    await writeFile(join(hourDir('curated'), '.part-2-x.parquet.inprogress'), `${lines([tick(4), tick(3)])}{"sym`);
    // The conversion finished but the source was not removed yet: the part stands, the source goes.
    await writeFile(join(hourDir('curated'), '.part-3-x.parquet.inprogress'), lines([tick(9)]));
    // A conversion cut short: its output is discarded and the conversion redone.
    await writeFile(join(hourDir('curated'), '.part-4-x.parquet.inprogress'), lines([tick(5)]));
    await writeFile(join(hourDir('curated'), '.part-4-x.parquet.pending'), 'PAR1 torn');

    const first = await make();
    await first.close();
    // part-3's source became part-3.parquet on that open; put the source back to stage the same crash again.
    await writeFile(join(hourDir('curated'), '.part-3-x.parquet.inprogress'), lines([tick(9)]));
    const z = await make();

    assert.deepEqual(await z.list('raw'), [`raw/ticks/${HOUR_DIR}/part-1-x.jsonl.gz`]);
    assert.equal(gunzipSync(await readFile(join(hourDir('raw'), 'part-1-x.jsonl.gz'))).toString(), lines([tick(1), tick(2)]));
    assert.deepEqual(await z.list('curated'), ['part-2-x', 'part-3-x', 'part-4-x'].map((p) => `curated/ticks/${HOUR_DIR}/${p}.parquet`));
    assert.deepEqual(await seqs(z, 'curated'), [3, 4, 5, 9]);
    const rows = await duck(`SELECT seq::INT AS seq FROM read_parquet('${join(hourDir('curated'), 'part-2-x.parquet')}')`);
    assert.deepEqual(rows.map((r) => r.seq), [3, 4], 'sorted by ts within the file');
    assert.deepEqual(await hidden('raw'), []);
    assert.deepEqual(await hidden('curated'), []);
  });

  describe('an interrupted swap', () => {
    /** Two visible curated parts of one hour, A (seq 1, 2) and B (seq 3), and their merge written by DuckDB to `mergedPath`. */
    async function twoParts(mergedPath: string): Promise<string[]> {
      const z = await make({ compactAt: 10 });
      await z.append('curated', 'ticks', [tick(1), tick(2)]);
      await z.flush();
      await z.append('curated', 'ticks', [tick(3)]);
      await z.close();
      const parts = (await readdir(hourDir('curated'))).filter((n) => n.startsWith('part-')).sort();
      assert.equal(parts.length, 2);
      const files = parts.map((p) => `'${join(hourDir('curated'), p)}'`).join(', ');
      await duck(`COPY (SELECT * FROM read_parquet([${files}]) ORDER BY symbol, ts) TO '${mergedPath}' (FORMAT parquet)`);
      return parts;
    }

    it('is finished from its manifest when the output was not published yet', async () => {
      const inputs = await twoParts(join(hourDir('curated'), '.part-m.parquet.pending'));
      await writeFile(join(hourDir('curated'), '.swap-1.json'), JSON.stringify({ output: 'part-m.parquet', inputs }));
      const z = await make();
      assert.deepEqual(await z.list('curated'), [`curated/ticks/${HOUR_DIR}/part-m.parquet`]);
      assert.deepEqual(await seqs(z, 'curated'), [1, 2, 3]);
      assert.deepEqual(await hidden('curated'), []);
    });

    it('is finished from its manifest when the output was published but the inputs not deleted', async () => {
      const inputs = await twoParts(join(root, 'merged.parquet'));
      await writeFile(join(hourDir('curated'), 'part-m.parquet'), await readFile(join(root, 'merged.parquet')));
      await writeFile(join(hourDir('curated'), '.swap-1.json'), JSON.stringify({ output: 'part-m.parquet', inputs }));
      const z = await make();
      assert.deepEqual(await z.list('curated'), [`curated/ticks/${HOUR_DIR}/part-m.parquet`]);
      assert.deepEqual(await seqs(z, 'curated'), [1, 2, 3]);
      assert.deepEqual(await hidden('curated'), []);
    });

    it('is undone when it crashed before its manifest was written', async () => {
      const inputs = await twoParts(join(hourDir('curated'), '.part-m.parquet.pending'));
      await writeFile(join(hourDir('curated'), '.swap-2.json.pending'), '{"output":');
      const z = await make();
      assert.deepEqual(await z.list('curated'), inputs.map((n) => `curated/ticks/${HOUR_DIR}/${n}`));
      assert.deepEqual(await seqs(z, 'curated'), [1, 2, 3]);
      assert.deepEqual(await hidden('curated'), []);
    });

    it('of an emptied hour removes the inputs', async () => {
      const inputs = await twoParts(join(root, 'unused.parquet'));
      await writeFile(join(hourDir('curated'), '.swap-1.json'), JSON.stringify({ output: null, inputs }));
      const z = await make();
      assert.deepEqual(await z.list('curated'), []);
    });
  });

  it('reads one consistent generation of a curated hour while it is compacted', async () => {
    const z = await make();
    const all: number[] = [];
    for (let p = 0; p < 4; p++) {
      const ticks = Array.from({ length: 5000 }, (_, i) => tick(p * 5000 + i));
      all.push(...ticks.map((t) => t.seq!));
      await z.append('curated', 'ticks', ticks);
      await z.flush();
    }
    assert.equal((await z.list('curated')).length, 4);
    const reader = z.read('curated', 'ticks', {})[Symbol.asyncIterator]();
    const got: number[] = [];
    const first = await reader.next();
    for (const r of first.value!) got.push(r.seq as number);
    // A fifth part makes the hour compact: its four inputs are deleted while the read is half-way.
    await z.append('curated', 'ticks', [tick(99_999)]);
    await z.flush();
    assert.equal((await z.list('curated')).length, 1);
    for (let n = await reader.next(); !n.done; n = await reader.next()) for (const r of n.value) got.push(r.seq as number);
    assert.deepEqual(got.sort((a, b) => a - b), all);
  });

  it('rolls curated rows of a past hour after the grace period, and of the current hour not before it ends', async () => {
    const z = await make({ curatedGraceMs: 50 });
    const nowUs = Date.now() * 1000;
    await z.append('curated', 'ticks', [tick(1, nowUs)]);
    await z.append('curated', 'ticks', [tick(2, H0)]);
    const until = Date.now() + 3_000;
    while ((await z.list('curated')).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const files = await z.list('curated');
    assert.deepEqual(files.map((f) => f.split('/').slice(2, 4).join('/')), [HOUR_DIR], 'the past hour rolled by itself');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await z.list('curated')).length, 1, 'the current hour waits for its end');
    await z.flush();
    assert.equal((await z.list('curated')).length, 2);
  });

  it('removes the directories of expired partitions', async () => {
    const z = await make({ retain: { raw: 3_600_000_000 } });
    await z.append('raw', 'ticks', [tick(1), tick(2, H0 + H)]);
    await z.flush();
    assert.equal(await z.applyRetention(H0 + 2 * H + 1), 1);
    assert.deepEqual(await readdir(join(root, 'raw/ticks')), ['date=2024-01-02']);
    assert.deepEqual(await readdir(join(root, 'raw/ticks/date=2024-01-02')), ['hour=04']);
    assert.equal(await z.applyRetention(H0 + 10 * H), 1);
    assert.deepEqual(await readdir(root).then((e) => e.filter((n) => !n.startsWith('.'))), []);
    // Writing into a pruned partition recreates it.
    await z.append('raw', 'ticks', [tick(3)]);
    await z.flush();
    assert.equal((await z.list('raw')).length, 1);
  });
});
