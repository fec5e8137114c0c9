/**
 * `node bench/replay.ts`: `tickline replay FILE` at full speed through the embedded pipeline, against
 * the ceiling measured in the same run: DuckDB alone streaming the same columns of the same CSV.
 *
 * Generates a tick CSV of BENCH_ROWS rows (default 10,000,000; the generation is not timed) in a temp
 * directory, then runs each case in its own child process (so each peak RSS is its own):
 * - `ceiling`: DuckDB streams the typed columns of the file to JavaScript chunk by chunk (the same SQL
 *   conversions the reader uses, no per-row JavaScript), plus a plain `SELECT count(*)` scan for reference;
 * - `reader`: the replay's file reader alone, turning the rows into ticks (no pipeline);
 * - `replay`: the whole replay, embedded: quality gate, zones, DuckDB store, bars.
 * Prints one JSON line `{ bench: 'replay', value, ceiling, ratio, … }` (rows/s) and writes
 * bench/results/replay.json.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/core/log.ts';
import { Metrics } from '../src/core/metrics.ts';
import { openReader } from '../src/replay/reader.ts';
import { replayFile } from '../src/replay/replay.ts';
import { rssSampler } from './proc.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const RESULTS = new URL('./results/', import.meta.url);
const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'BTC-USD', 'ETH-USD'];

/** symbol,ts,price,size,bid,ask: eight symbols round robin, 100 µs apart, prices on a small random walk. */
async function generate(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('symbol,ts,price,size,bid,ask\n');
  const mid = SYMBOLS.map((_, i) => 100 + i * 50);
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const t0 = Date.UTC(2024, 0, 2, 14, 30) * 1000;
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const k = i % SYMBOLS.length;
    mid[k] = Math.max(1, mid[k]! * (1 + (rnd() - 0.5) * 0.0004));
    const px = Math.round(mid[k]! * 100) / 100;
    const us = t0 + i * 100;
    const iso = new Date(Math.floor(us / 1000)).toISOString();
    buf += `${SYMBOLS[k]},${iso.slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z,${px},${1 + (i % 97)},${(px - 0.01).toFixed(2)},${(px + 0.01).toFixed(2)}\n`;
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

async function runCase(name: string, file: string, dir: string): Promise<Record<string, unknown>> {
  const rss = rssSampler();
  if (name === 'ceiling') {
    const db = await DuckDBInstance.create(':memory:', { memory_limit: '512MB' });
    const con = await db.connect();
    const src = `read_csv('${file}', header = true, all_varchar = true, delim = ',')`;
    let t0 = performance.now();
    const count = Number((await con.runAndReadAll(`SELECT count(*) FROM ${src}`)).getRows()[0]![0]);
    const countSecs = (performance.now() - t0) / 1000;
    // The reader's conversions, streamed to JavaScript chunk by chunk: what DuckDB delivers before any
    // per-row work of ours.
    const sql = `SELECT upper(trim(symbol)), coalesce(epoch_us(TRY_CAST(ts AS TIMESTAMPTZ))::DOUBLE, 0), TRY_CAST(price AS DOUBLE), TRY_CAST(size AS DOUBLE), TRY_CAST(bid AS DOUBLE), TRY_CAST(ask AS DOUBLE) FROM ${src}`;
    t0 = performance.now();
    const res = await con.stream(sql);
    let rows = 0;
    for (;;) {
      const c = await res.fetchChunk();
      if (c === null || c.rowCount === 0) break;
      rows += c.rowCount;
    }
    const secs = (performance.now() - t0) / 1000;
    con.closeSync();
    db.closeSync();
    if (rows !== count) throw new Error(`streamed ${rows} rows, counted ${count}`);
    return { rows_per_s: Math.round(rows / secs), rows, seconds: secs, count_scan_rows_per_s: Math.round(count / countSecs), peak_rss_mb: rss.stop() };
  }
  if (name === 'reader') {
    const reader = await openReader({ file, provider: 'replay', currency: 'USD', tz: 'UTC' });
    const t0 = performance.now();
    let rows = 0;
    for await (const c of reader.tickChunks()) rows += c.ticks.length + c.bad.length;
    const secs = (performance.now() - t0) / 1000;
    await reader.close();
    return { rows_per_s: Math.round(rows / secs), rows, seconds: secs, peak_rss_mb: rss.stop() };
  }
  const config = loadConfig({ env: {}, overrides: { dataDir: join(dir, 'data'), logLevel: 'silent' } });
  const metrics = new Metrics({ defaultMetrics: false });
  const t0 = performance.now();
  const s = await replayFile({ file, read: { provider: 'replay', currency: 'USD', tz: 'UTC' }, speed: Infinity, restart: true, config, logger: silentLogger(), metrics });
  const secs = (performance.now() - t0) / 1000;
  const passed = (await metrics.ticksProcessed.get()).values.reduce((a, v) => a + v.value, 0);
  return {
    rows_per_s: Math.round(s.rows_read / secs),
    rows: s.rows_read,
    seconds: secs,
    ticks_published: s.ticks_published,
    ticks_checked: passed,
    quarantined_by_checks: s.quarantined_by_checks,
    rejected: s.rejected,
    status: s.status,
    peak_rss_mb: rss.stop(),
  };
}

if (process.argv[2] === '--case') {
  const result = await runCase(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'tickline-bench-replay-'));
  try {
    const file = join(dir, 'ticks.csv');
    process.stderr.write(`generating ${ROWS.toLocaleString('en-US')} rows…\n`);
    await generate(file, ROWS);
    const bytes = statSync(file).size;
    const self = fileURLToPath(import.meta.url);
    const run = (name: string): Record<string, unknown> => {
      process.stderr.write(`${name}…\n`);
      const out = execFileSync(process.execPath, [self, '--case', name, file, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 3_600_000 });
      return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    };
    const ceiling = run('ceiling');
    const reader = run('reader');
    const replay = run('replay');
    const value = replay.rows_per_s as number;
    const ceil = ceiling.rows_per_s as number;
    const line = {
      bench: 'replay',
      unit: 'rows/s',
      value,
      ceiling: ceil,
      ratio: Math.round((value / ceil) * 100) / 100,
      rows: ROWS,
      file_mb: Math.round(bytes / 1024 / 1024),
      peak_rss_mb: replay.peak_rss_mb,
      replay,
      reader,
      ceiling_detail: ceiling,
      at: new Date().toISOString(),
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(new URL('replay.json', RESULTS), `${JSON.stringify(line, null, 2)}\n`);
    console.log(JSON.stringify(line));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
