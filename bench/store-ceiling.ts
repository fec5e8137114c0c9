/**
 * The store "ceiling": how fast DuckDB itself takes exactly these rows, bulk-appended from the main
 * thread into a fresh on-disk file with the fastest approach we know (raw data chunks filled with one
 * memcpy per column, one appender, one transaction, timed through COMMIT). The end-to-end benchmark
 * reports the pipeline's rate as a fraction of this.
 *
 * Run directly to compare the duckdb:// adapter with the ceiling on the same rows:
 *   ./node_modules/.bin/node bench/store-ceiling.ts [ticks=1000000] [batch=10000] [inFlight=4] [bars=1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ChunkBuilder, StringSlots, TICK_COLUMNS, VECTOR_SIZE } from '../src/adapters/store/duckdb-chunks.ts';
import { MIGRATIONS } from '../src/adapters/store/duckdb-sql.ts';
import type { Tick } from '../src/core/tick.ts';
import { makeTicks } from './fixtures.ts';

/** Ticks per second DuckDB sustains for appending `ticks` into a new file (open and schema excluded). */
export async function duckdbCeiling(ticks: Tick[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tickline-ceiling-'));
  const instance = await DuckDBInstance.create(join(dir, 'ceiling.duckdb'));
  const con = await instance.connect();
  try {
    // The adapter's own ticks table (same types and constraints), so both pay for the same checks.
    await con.run(MIGRATIONS[0]!.statements[0]!);
    const b = new ChunkBuilder(TICK_COLUMNS);
    const slots = new StringSlots();
    let lastSym: string | null = null;
    let lastCur: string | null = null;
    let lastProv: string | null = null;
    let symSlot = slots.get('');
    let curSlot = symSlot;
    let provSlot = symSlot;
    const t0 = performance.now();
    await con.run('BEGIN TRANSACTION');
    const appender = await con.createAppender('ticks');
    for (let off = 0; off < ticks.length; off += VECTOR_SIZE) {
      const rows = Math.min(VECTOR_SIZE, ticks.length - off);
      b.begin();
      for (let i = 0; i < rows; i++) {
        const t = ticks[off + i]!;
        if (t.symbol !== lastSym) symSlot = slots.get((lastSym = t.symbol));
        if (t.currency !== lastCur) curSlot = slots.get((lastCur = t.currency));
        if (t.provider !== lastProv) provSlot = slots.get((lastProv = t.provider));
        b.setSlot(0, i, symSlot);
        b.setInt64(1, i, t.ts);
        b.setDouble(2, i, t.price);
        b.setDouble(3, i, t.size);
        if (t.bid === null) b.setNull(4, i);
        else b.setDouble(4, i, t.bid);
        if (t.ask === null) b.setNull(5, i);
        else b.setDouble(5, i, t.ask);
        b.setSlot(6, i, curSlot);
        b.setSlot(7, i, provSlot);
        if (t.seq === null) b.setNull(8, i);
        else b.setInt64(8, i, t.seq);
        b.setInt64(9, i, t.recvTs);
      }
      appender.appendDataChunk(b.finish(rows));
    }
    appender.closeSync();
    await con.run('COMMIT');
    return ticks.length / ((performance.now() - t0) / 1000);
  } finally {
    con.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}


async function compare(): Promise<void> {
  const { DuckDBStore } = await import('../src/adapters/store/duckdb.ts');
  const { aggregateBatch } = await import('../src/pipeline/bars.ts');
  const [n = 1_000_000, batch = 10_000, inFlight = 4, withBars = 1] = process.argv.slice(2).map(Number);
  const ticks = makeTicks(n);
  const batches: { ticks: Tick[]; bars: ReturnType<typeof aggregateBatch>['bars'] }[] = [];
  for (let off = 0; off < n; off += batch) {
    const slice = ticks.slice(off, off + batch);
    batches.push({ ticks: slice, bars: withBars ? aggregateBatch(slice).bars : [] });
  }

  const ceiling = await duckdbCeiling(ticks);

  const dir = mkdtempSync(join(tmpdir(), 'tickline-store-bench-'));
  const store = new DuckDBStore(join(dir, 'adapter.duckdb'));
  try {
    await store.init();
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.threadCpuUsage();
    const pcpu0 = process.cpuUsage();
    const t0 = performance.now();
    const running = new Set<Promise<void>>();
    for (const b of batches) {
      const p: Promise<void> = store.write(b).then(() => {
        running.delete(p);
      });
      running.add(p);
      if (running.size >= inFlight) await Promise.race(running);
    }
    await Promise.all(running);
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.threadCpuUsage(cpu0);
    const pcpu = process.cpuUsage(pcpu0);
    const elu = performance.eventLoopUtilization(elu0);
    const stored = (await store.symbols()).reduce((a, s) => a + s.ticks, 0);
    const rate = n / secs;
    console.log(
      JSON.stringify({
        ticks: n,
        batch,
        inFlight,
        bars: Boolean(withBars),
        ceiling_ticks_per_s: Math.round(ceiling),
        adapter_ticks_per_s: Math.round(rate),
        ratio: Math.round((rate / ceiling) * 100) / 100,
        main_thread_cpu_share: Math.round(((cpu.user + cpu.system) / 1e6 / secs) * 100) / 100,
        main_thread_elu: Math.round(elu.utilization * 100) / 100,
        process_cpu_cores: Math.round(((pcpu.user + pcpu.system) / 1e6 / secs) * 100) / 100,
        stored,
      }),
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await compare();
