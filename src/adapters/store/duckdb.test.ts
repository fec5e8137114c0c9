import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { mergeBar, type Bar } from '../../core/bar.ts';
import { isTicklineError } from '../../core/errors.ts';
import { silentLogger } from '../../core/log.ts';
import type { Tick } from '../../core/tick.ts';
import { createDuckDBStore, DuckDBStore } from './duckdb.ts';
import { storeRegistry } from './index.ts';

const B = Date.UTC(2024, 0, 2, 14, 30) * 1000;
const S = 1_000_000;
const ctx = { dataDir: tmpdir(), logger: silentLogger() };

function tick(over: Partial<Tick> = {}): Tick {
  return { symbol: 'AAPL', ts: B, price: 100, size: 1, bid: null, ask: null, currency: 'USD', provider: 'sim', seq: null, recvTs: B + 5, ...over };
}

function bar(over: Partial<Bar> = {}): Bar {
  return { symbol: 'AAPL', interval: '1m', start: B, open: 1, high: 2, low: 0.5, close: 1.5, volume: 1, trades: 1, firstTs: B + 1, lastTs: B + 2, ...over };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTicklineError(e), String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Reads a closed store's file directly, to check what is actually on disk. */
async function inspect<T>(file: string, sql: string): Promise<T[][]> {
  const instance = await DuckDBInstance.create(file);
  const con = await instance.connect();
  try {
    return (await con.runAndReadAll(sql)).getRows() as T[][];
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickline-duckdb-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('duckdb:// URLs', () => {
  test('absolute and relative paths; the parent directory is created', async () => {
    const file = join(dir, 'nested', 'deeper', 'a.duckdb');
    const store = await storeRegistry.create(`duckdb://${file}`, ctx);
    assert.equal(store.kind, 'duckdb');
    assert.equal((store as DuckDBStore).path, file);
    await store.init();
    await store.close();
    assert.ok(existsSync(file));
    const rel = createDuckDBStore(new URL('duckdb://./data/tickline.duckdb'), ctx) as DuckDBStore;
    assert.equal(rel.path, resolve('data/tickline.duckdb'));
  });

  test('a URL without a file is refused', () => {
    assert.throws(() => createDuckDBStore(new URL('duckdb://'), ctx), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_BAD_URL');
  });

  test('URL parameters reach DuckDB as options, and a bad one fails init naming the file', async () => {
    const file = join(dir, 'opts.duckdb');
    const ok = await storeRegistry.create(`duckdb://${file}?threads=1`, ctx);
    await ok.init();
    await ok.close();
    const bad = await storeRegistry.create(`duckdb://${file}?no_such_option=1`, ctx);
    await rejectsWith(bad.init(), 'TL_ERR_STORE', new RegExp(`cannot open ${file}`));
    await bad.close();
  });
});

describe('duckdb store', () => {
  test('schema: versioned migrations, the specified column types, µs timestamps on disk', async () => {
    const file = join(dir, 'schema.duckdb');
    const store = new DuckDBStore(file);
    await store.init();
    await store.write({ ticks: [tick({ ts: B + 123_457, seq: 7 })], bars: [bar()] });
    await store.close();
    assert.deepEqual((await inspect<bigint>(file, 'SELECT version FROM schema_migrations')).flat(), [1]);
    const types = await inspect<string>(file, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'ticks' ORDER BY ordinal_position");
    assert.deepEqual(types, [
      ['symbol', 'VARCHAR'], ['ts', 'TIMESTAMP'], ['price', 'DOUBLE'], ['size', 'DOUBLE'], ['bid', 'DOUBLE'], ['ask', 'DOUBLE'],
      ['currency', 'VARCHAR'], ['provider', 'VARCHAR'], ['seq', 'BIGINT'], ['recv_ts', 'TIMESTAMP'],
    ]);
    assert.deepEqual(await inspect(file, 'SELECT ts::VARCHAR, seq, bid FROM ticks'), [['2024-01-02 14:30:00.123457', 7n, null]]);
    // close() folded the pending bar parts into bars.
    assert.deepEqual(await inspect(file, 'SELECT count(*) FROM bar_parts'), [[0n]]);
    assert.deepEqual(await inspect(file, 'SELECT symbol, "interval", "start"::VARCHAR, open, trades FROM bars'), [['AAPL', '1m', '2024-01-02 14:30:00', 1, 1n]]);
    // Reopening an up-to-date file applies nothing again.
    const again = new DuckDBStore(file);
    await again.init();
    await again.close();
    assert.equal((await inspect(file, 'SELECT count(*) FROM schema_migrations'))[0]![0], 1n);
  });

  test('a file from a newer Tickline is refused', async () => {
    const file = join(dir, 'newer.duckdb');
    const instance = await DuckDBInstance.create(file);
    const con = await instance.connect();
    await con.run('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL); INSERT INTO schema_migrations VALUES (99, now()::TIMESTAMP)');
    con.closeSync();
    instance.closeSync();
    const store = new DuckDBStore(file);
    await rejectsWith(store.init(), 'TL_ERR_STORE', /schema version is 99, newer/);
    await rejectsWith(store.write({ ticks: [], bars: [] }), 'TL_ERR_STORE', /newer/);
    assert.equal((await store.health()).ok, false);
    await store.close();
  });

  test('another process cannot open the same file: a clear error naming it', async () => {
    const file = join(dir, 'locked.duckdb');
    const store = new DuckDBStore(file);
    await store.init();
    try {
      const script = `
        const { DuckDBStore } = await import(${JSON.stringify(new URL('./duckdb.ts', import.meta.url).href)});
        const s = new DuckDBStore(${JSON.stringify(file)});
        try { await s.init(); console.log(JSON.stringify({ ok: true })); }
        catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
        finally { await s.close(); }`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
      const out = JSON.parse(stdout.trim()) as { code?: string; message?: string };
      assert.equal(out.code, 'TL_ERR_STORE');
      assert.ok(out.message!.startsWith(`cannot open ${file}: `), out.message);
      assert.match(out.message!, /lock/i);
      // The holder is unaffected.
      await store.write({ ticks: [tick()], bars: [] });
    } finally {
      await store.close();
    }
  });

  test('the same file twice in one process is refused (DuckDB would allow it and corrupt the file)', async () => {
    const file = join(dir, 'twice.duckdb');
    const a = new DuckDBStore(file);
    await a.init();
    const b = new DuckDBStore(join(dir, '.', 'twice.duckdb'));
    await rejectsWith(b.init(), 'TL_ERR_STORE', /already open in this process/);
    await a.close();
    // Released on close.
    const c = new DuckDBStore(file);
    await c.init();
    await c.close();
  });

  test('calls before init() fail clearly; health says not initialised', async () => {
    const store = new DuckDBStore(join(dir, 'noinit.duckdb'));
    await rejectsWith(store.write({ ticks: [tick()], bars: [] }), 'TL_ERR_STORE', /call init\(\)/);
    await rejectsWith(store.symbols(), 'TL_ERR_STORE', /call init\(\)/);
    assert.deepEqual(await store.health(), { ok: false, detail: 'not initialised' });
    await store.close();
  });

  test('writes issued right after init(), before it resolves, are applied in order', async () => {
    const store = new DuckDBStore(join(dir, 'early.duckdb'));
    try {
      const [, , page] = await Promise.all([
        store.init(),
        store.write({ ticks: [tick({ ts: B + 1 })], bars: [] }),
        store.history({ symbol: 'AAPL', limit: 10 }),
      ]);
      assert.equal(page.ticks.length, 1);
    } finally {
      await store.close();
    }
  });

  test('invalid queries are refused before reaching the engine', async () => {
    const store = new DuckDBStore(join(dir, 'queries.duckdb'));
    await store.init();
    try {
      await rejectsWith(store.history({ symbol: 'AAPL', limit: 0 }), 'TL_ERR_VALIDATION', /limit must be a positive integer, got 0/);
      await rejectsWith(store.history({ symbol: 'AAPL', limit: 5, from: 1.5 }), 'TL_ERR_VALIDATION', /from must be an integer/);
      await rejectsWith(store.history({ symbol: 'AAPL', limit: 5, order: 'up' as 'asc' }), 'TL_ERR_VALIDATION', /order must be/);
      await rejectsWith(store.bars({ symbol: 'AAPL', interval: '2m' as '1m', limit: 5 }), 'TL_ERR_VALIDATION', /interval must be one of/);
      await store.write({ ticks: [tick({ ts: B + 1 }), tick({ ts: B + 2 })], bars: [] });
      const page = await store.history({ symbol: 'AAPL', limit: 1 });
      await rejectsWith(store.history({ symbol: 'AAPL', limit: 1, order: 'desc', cursor: page.next! }), 'TL_ERR_VALIDATION', /order=asc/);
      // A bad tick names itself.
      await rejectsWith(store.write({ ticks: [tick(), tick({ symbol: 'MSFT', recvTs: 1.5 })], bars: [] }), 'TL_ERR_STORE', /tick 1 \(MSFT\): recvTs .* got 1\.5/);
      await rejectsWith(store.write({ ticks: [], bars: [bar({ start: Number.NaN })] }), 'TL_ERR_STORE', /bar AAPL 1m NaN: start/);
      await rejectsWith(store.write({ ticks: [], bars: [bar({ interval: '7m' as '1m' })] }), 'TL_ERR_STORE', /interval must be one of/);
    } finally {
      await store.close();
    }
  });

  test('batches of every shape: several chunks, many distinct strings (wide codes), pooled buffers reused', async () => {
    const store = new DuckDBStore(join(dir, 'shapes.duckdb'));
    await store.init();
    try {
      // 5000 ticks: two full 2048-row chunks and a partial one.
      const big = Array.from({ length: 5000 }, (_, i) => tick({ ts: B + i, seq: i, bid: i % 2 ? i : null, provider: i % 3 ? 'sim' : 'provider-with-a-long-name' }));
      await store.write({ ticks: big, bars: [] });
      // More distinct strings than a uint16 code can index.
      const wide = Array.from({ length: 70_000 }, (_, i) => tick({ symbol: `S${i}`, ts: B + i }));
      await store.write({ ticks: wide, bars: [] });
      // Same size again: runs on recycled buffers, which must not leak the previous batch's values.
      await store.write({ ticks: big.slice(0, 3).map((t) => ({ ...t, symbol: 'REUSE', bid: null })), bars: [] });
      const { ticks } = await store.history({ symbol: 'AAPL', limit: 10_000 });
      assert.deepEqual(ticks, big);
      assert.equal((await store.symbols()).length, 70_002);
      assert.deepEqual((await store.history({ symbol: 'S69999', limit: 5 })).ticks, [wide[69_999]]);
      assert.deepEqual((await store.history({ symbol: 'REUSE', limit: 5 })).ticks.map((t) => [t.bid, t.provider]), [[null, 'provider-with-a-long-name'], [null, 'sim'], [null, 'sim']]);
    } finally {
      await store.close();
    }
  });

  test('bar parts compact into bars (idle, and on close) with the same result as merging them one by one', async () => {
    const file = join(dir, 'compact.duckdb');
    const parts = [
      bar({ firstTs: B + 10 * S, lastTs: B + 20 * S, open: 10, close: 20, high: 25, low: 5, volume: 3, trades: 2 }),
      bar({ firstTs: B + 5 * S, lastTs: B + 20 * S, open: 7, close: 21, high: 30, low: 6, volume: 1, trades: 1 }),
      bar({ firstTs: B + 5 * S, lastTs: B + 20 * S, open: 99, close: 22, high: 26, low: 4, volume: 2, trades: 4 }),
      bar({ firstTs: B + 5 * S, lastTs: B + 20 * S, open: 98, close: 23, high: 1, low: 1, volume: 2, trades: 4 }),
    ];
    const store = new DuckDBStore(file);
    await store.init();
    await store.write({ ticks: [], bars: [parts[0]!] });
    await store.write({ ticks: [], bars: [parts[1]!] });
    // Idle long enough for the worker to compact: ties then run against a stored bar.
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 5 }), [mergeBar(parts[0]!, parts[1]!)]);
    await store.write({ ticks: [], bars: [parts[2]!] });
    await store.write({ ticks: [], bars: [parts[3]!] });
    const expected = parts.reduce(mergeBar);
    assert.deepEqual([expected.open, expected.close], [7, 23]);
    assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 5 }), [expected], 'merged on read');
    await store.close();
    assert.deepEqual(await inspect(file, 'SELECT count(*) FROM bar_parts'), [[0n]]);
    const { open, close, high, low, volume, trades } = expected;
    assert.deepEqual(await inspect(file, 'SELECT open, close, high, low, volume, trades FROM bars'), [[open, close, high, low, volume, BigInt(trades)]]);
  });

  test('latest(): of ticks with equal event times, the one written last', async () => {
    const store = new DuckDBStore(join(dir, 'latest.duckdb'));
    await store.init();
    try {
      await store.write({ ticks: [tick({ ts: B + 9, price: 1 }), tick({ ts: B + 9, price: 2 })], bars: [] });
      await store.write({ ticks: [tick({ ts: B + 9, price: 3 }), tick({ ts: B + 8, price: 4 })], bars: [] });
      assert.deepEqual((await store.latest()).map((t) => t.price), [3]);
    } finally {
      await store.close();
    }
  });

  test('write throughput stays off the calling thread', async () => {
    const store = new DuckDBStore(join(dir, 'speed.duckdb'));
    await store.init();
    try {
      const batch = Array.from({ length: 20_000 }, (_, i) => tick({ ts: B + i, seq: i, bid: 99, ask: 101 }));
      const cpu0 = process.threadCpuUsage();
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 10 }, () => store.write({ ticks: batch, bars: [] })));
      const wall = performance.now() - t0;
      const cpu = process.threadCpuUsage(cpu0);
      const mainMs = (cpu.user + cpu.system) / 1000;
      // Generous bounds: this only catches the engine running on this thread by mistake.
      assert.ok(mainMs < wall * 0.5, `main thread busy ${mainMs.toFixed(0)} ms of ${wall.toFixed(0)} ms`);
      assert.equal((await store.symbols())[0]!.ticks, 200_000);
    } finally {
      await store.close();
    }
  });
});
