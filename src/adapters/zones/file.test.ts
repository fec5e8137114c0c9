import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { silentLogger } from '../../core/log.ts';
import type { Tick } from '../../core/tick.ts';
import { createFileZones, type FileZones } from './file.ts';
import { zonesRegistry } from './index.ts';

const H = 3_600_000_000;
const T0 = Date.UTC(2024, 0, 2, 3, 0, 0) * 1000 + 1;

function tick(i: number, ts = T0 + i, symbol = 'AAPL'): Tick {
  return { symbol, ts, price: 10 + i, size: i, bid: null, ask: null, currency: 'USD', provider: 'sim', seq: i, recvTs: ts };
}

function batch(from: number, n: number, ts?: (i: number) => number): Tick[] {
  return Array.from({ length: n }, (_, k) => tick(from + k, ts ? ts(from + k) : undefined));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 3_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function allFiles(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true })) as string[]).sort();
}

async function rows(root: string, files: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const f of files) {
    const text = await readFile(join(root, f), 'utf8');
    for (const line of text.split('\n').slice(0, -1)) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

describe('file:// zones', () => {
  let root: string;
  const open: FileZones[] = [];
  async function make(options: Parameters<typeof createFileZones>[1] = {}): Promise<FileZones> {
    const z = await createFileZones(root, options);
    open.push(z);
    return z;
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tickline-zones-unit-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((z) => z.close().catch(() => {})));
    await rm(root, { recursive: true, force: true });
  });

  it('writes to a hidden in-progress file in the partition directory until flushed', async () => {
    const z = await make();
    await z.append('raw', 'ticks', batch(0, 3));
    const partition = join(root, 'raw/ticks/date=2024-01-02/hour=03');
    const before = await readdir(partition);
    assert.equal(before.length, 1);
    assert.match(before[0]!, /^\.part-.+\.jsonl\.inprogress$/);
    // Data is already with the OS before any flush: a crash now loses nothing.
    assert.equal((await readFile(join(partition, before[0]!), 'utf8')).split('\n').length, 4);
    assert.deepEqual(await z.list('raw'), []);
    await z.flush();
    const after = await readdir(partition);
    assert.deepEqual(after, [before[0]!.slice(1, -'.inprogress'.length)]);
  });

  it('rolls a file once it reaches rollBytes, without a flush', async () => {
    const z = await make({ rollBytes: 1_000 });
    for (let b = 0; b < 9; b++) await z.append('raw', 'ticks', batch(b * 2, 2));
    // Each batch is ~350 bytes, so every third append crosses 1000 bytes and rolls.
    const files = await waitFor('three rolled files', async () => {
      const l = await z.list('raw', 'ticks');
      return l.length === 3 ? l : undefined;
    });
    for (const f of files) {
      const size = (await stat(join(root, f))).size;
      assert.ok(size >= 1_000 && size < 1_600, `${f} is ${size} bytes`);
    }
    assert.ok(!(await allFiles(root)).some((f) => f.endsWith('.inprogress')));
    assert.deepEqual((await rows(root, files)).map((r) => r.seq), batch(0, 18).map((t) => t.seq));
  });

  it('rolls a file once it is older than rollMs, on a timer and on append', async () => {
    const z = await make({ rollMs: 100 });
    await z.append('raw', 'ticks', batch(0, 2));
    const first = await waitFor('age roll by the timer', async () => {
      const l = await z.list('raw', 'ticks');
      return l.length === 1 ? l : undefined;
    });
    await z.append('raw', 'ticks', batch(2, 2));
    await new Promise((r) => setTimeout(r, 150));
    await z.append('raw', 'ticks', batch(4, 2));
    await z.flush();
    const all = await z.list('raw', 'ticks');
    assert.equal(all.length, 3);
    assert.equal(all[0], first[0]);
    assert.deepEqual((await rows(root, all)).map((r) => r.seq), [0, 1, 2, 3, 4, 5]);
  });

  it('rolls the least recently used writer when too many partitions are open', async () => {
    const z = await make({ maxOpen: 2 });
    await z.append('raw', 'ticks', [tick(0, T0)]);
    await z.append('raw', 'ticks', [tick(1, T0 + H)]);
    await z.append('raw', 'ticks', [tick(2, T0)]); // hour 03 is now the most recent
    await z.append('raw', 'ticks', [tick(3, T0 + 2 * H)]); // evicts hour 04
    const files = await waitFor('evicted writer published', async () => {
      const l = await z.list('raw', 'ticks');
      return l.length === 1 ? l : undefined;
    });
    assert.match(files[0]!, /hour=04\//);
    await z.flush();
    assert.equal((await z.list('raw', 'ticks')).length, 3);
  });

  it('recovers in-progress files of a crashed run up to their last complete line', async () => {
    const dir = join(root, 'raw/ticks/date=2024-01-02/hour=03');
    await mkdir(dir, { recursive: true });
    const full = '{"symbol":"AAPL","seq":1}\n{"symbol":"AAPL","seq":2}\n';
    await writeFile(join(dir, '.part-00000000000000001-deadbeef.jsonl.inprogress'), `${full}{"symbol":"AAP`);
    // Only a partial line: nothing to publish.
    await writeFile(join(dir, '.part-00000000000000002-deadbeef.jsonl.inprogress'), '{"symbol":"MS');
    // Last newline far behind a long torn tail, to cross the backward-scan chunks.
    await writeFile(join(dir, '.part-00000000000000003-deadbeef.jsonl.inprogress'), `${full}${'x'.repeat(200_000)}`);
    // Its final name is taken already: it must not overwrite the published file.
    await writeFile(join(dir, 'part-00000000000000004-deadbeef.jsonl'), '{"seq":9}\n');
    await writeFile(join(dir, '.part-00000000000000004-deadbeef.jsonl.inprogress'), full);
    await mkdir(join(root, 'curated/other/date=2024-01-01/hour=00'), { recursive: true });
    await writeFile(join(root, 'curated/other/date=2024-01-01/hour=00/.part-5-x.jsonl.inprogress'), full);

    const z = await make({ logger: silentLogger() });
    const files = await z.list('raw', 'ticks');
    assert.equal(files.length, 4);
    assert.deepEqual(files.slice(0, 2), [
      'raw/ticks/date=2024-01-02/hour=03/part-00000000000000001-deadbeef.jsonl',
      'raw/ticks/date=2024-01-02/hour=03/part-00000000000000003-deadbeef.jsonl',
    ]);
    assert.equal(await readFile(join(root, files[0]!), 'utf8'), full);
    assert.equal(await readFile(join(root, files[1]!), 'utf8'), full);
    const texts = await Promise.all(files.slice(2).map((f) => readFile(join(root, f), 'utf8')));
    assert.deepEqual(texts.sort(), [full, '{"seq":9}\n'].sort());
    assert.deepEqual(await z.list('curated', 'other'), ['curated/other/date=2024-01-01/hour=00/part-5-x.jsonl']);
    assert.ok(!(await allFiles(root)).some((f) => f.endsWith('.inprogress')));
  });

  it('keeps writing across multi-byte characters', async () => {
    const z = await make();
    const symbol = '€'.repeat(40);
    const ticks = Array.from({ length: 50 }, (_, i) => tick(i, T0 + (i % 2) * H + i, symbol));
    await z.append('raw', 'ticks', ticks);
    await z.close();
    const got = await rows(root, await z.list('raw', 'ticks'));
    assert.equal(got.length, 50);
    assert.ok(got.every((r) => r.symbol === symbol));
  });

  it('rejects a failed partition write and recovers once the path is usable again', async () => {
    const z = await make({ logger: silentLogger() });
    await mkdir(join(root, 'raw'), { recursive: true });
    await writeFile(join(root, 'raw/ticks'), 'not a directory');
    await assert.rejects(z.append('raw', 'ticks', batch(0, 2)), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'TL_ERR_ZONE');
      assert.match((e as Error).message, /raw\/ticks/);
      return true;
    });
    assert.equal((await z.health()).ok, false);
    await rm(join(root, 'raw/ticks'));
    await z.append('raw', 'ticks', batch(2, 2));
    assert.equal((await z.health()).ok, true);
    await z.flush();
    assert.deepEqual((await rows(root, await z.list('raw', 'ticks'))).map((r) => r.seq), [2, 3]);
  });

  it('reports unhealthy when the root is gone and cannot be recreated', async () => {
    const z = await make();
    assert.equal((await z.health()).ok, true);
    await rm(root, { recursive: true });
    await writeFile(root, 'a file, not a directory');
    const h = await z.health();
    assert.equal(h.ok, false);
    assert.match(h.detail ?? '', /not writable/);
    await z.close();
    await rm(root);
    await mkdir(root);
  });

  it('validates options', async () => {
    for (const options of [{ rollBytes: 0 }, { rollMs: -1 }, { maxOpen: 1.5 }]) {
      await assert.rejects(createFileZones(root, options), { code: 'TL_ERR_CONFIG' });
    }
  });

  describe('registry', () => {
    const ctx = () => ({ dataDir: root, logger: silentLogger() });

    it('builds file:// zones from an absolute path with query options', async () => {
      const z = (await zonesRegistry.create(`file://${root}/zones?rollBytes=300&rollMs=60000&maxOpen=4`, ctx())) as FileZones;
      open.push(z);
      assert.equal(z.kind, 'file');
      assert.equal(z.root, join(root, 'zones'));
      await z.append('raw', 'ticks', batch(0, 2));
      await waitFor('size roll at 300 bytes', async () => ((await z.list('raw')).length === 1 ? true : undefined));
    });

    it('resolves file://./relative against the working directory', async () => {
      const cwd = process.cwd();
      process.chdir(root);
      try {
        const z = (await zonesRegistry.create('file://./data/zones', ctx())) as FileZones;
        open.push(z);
        assert.equal(z.root, join(root, 'data/zones'));
      } finally {
        process.chdir(cwd);
      }
    });

    it('rejects bad options naming the value', async () => {
      await assert.rejects(zonesRegistry.create(`file://${root}?rollBytes=lots`, ctx()), { code: 'TL_ERR_CONFIG', message: /rollBytes.*"lots"/ });
      await assert.rejects(zonesRegistry.create(`file://${root}?rollMs=0`, ctx()), { code: 'TL_ERR_CONFIG', message: /rollMs/ });
      await assert.rejects(zonesRegistry.create(`file://${root}?size=1`, ctx()), { code: 'TL_ERR_CONFIG', message: /"size"/ });
      await assert.rejects(zonesRegistry.create('file://', ctx()), { code: 'TL_ERR_BAD_URL' });
    });
  });
});
