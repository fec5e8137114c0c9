import { parentPort, workerData } from 'node:worker_threads';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { INTERVALS, isInterval, mergeBar, type Bar, type Interval } from '../../core/bar.ts';
import { TicklineError } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import type { BarQuery, SymbolInfo } from '../../ports/store.ts';
import { BAR_COLUMNS, ChunkBuilder, StringSlots, TICK_COLUMNS, VECTOR_SIZE, putInt64 } from './duckdb-chunks.ts';
import {
  C_CURRENCY, C_PROVIDER, C_SYMBOL, F_ASK, F_BID, F_COLUMNS, F_PRICE, F_RECV, F_SEQ, F_SIZE, F_TS,
  type EncodedTicks, type HistoryRequest, type HistoryResult, type Request, type Response, type WireError, type WorkerInit, type WorkerLog,
} from './duckdb-protocol.ts';
import { COMPACT_BARS, MIGRATIONS, PUT_BARS_CLEAR, PUT_BARS_DROP_PARTS, PUT_BARS_TEMP, PUT_BARS_UPSERT, TICK_SELECT, mergedBarsSql } from './duckdb-sql.ts';

/**
 * The DuckDB engine, alone on its own thread: appender calls are synchronous and would otherwise stall
 * the pipeline on the main thread. Writes are serialized on one connection (and committed in groups
 * when several are queued); reads run on a second connection so they see committed data without
 * waiting for a transaction in progress.
 *
 * A write appends its ticks and its partial bars (to `bar_parts`); the parts are folded into `bars`
 * in bulk every few seconds or when idle, and reads merge both, so a write costs two appends and a
 * commit rather than an upsert statement each time.
 */

const port = parentPort!;
const { path, options } = workerData as WorkerInit;

/** Writes queued together are committed in one transaction up to this many ticks. */
const GROUP_MAX_TICKS = 1 << 19;
/** Compaction of bar parts: at the latest every this often while writes keep coming… */
const COMPACT_EVERY_MS = 5_000;
/** …or after this long without writes… */
const COMPACT_IDLE_MS = 500;
/** …or as soon as this many parts are pending, so reads never merge too many. */
const COMPACT_MAX_PARTS = 50_000;

let instance: DuckDBInstance | null = null;
let wcon: DuckDBConnection | null = null;
let rcon: DuckDBConnection | null = null;
const ticksChunk = new ChunkBuilder(TICK_COLUMNS);
const barsChunk = new ChunkBuilder(BAR_COLUMNS);
const slots = new StringSlots();

interface QueuedWrite {
  id: number;
  ticks: EncodedTicks;
  bars: Bar[];
}
/** A `putBars` call: queued with the writes so that it lands in call order between them. */
interface QueuedPut {
  id: number;
  put: Bar[];
}
/** Set by the `init` request; everything else runs after it settles. */
let ready: Promise<void> | null = null;
let closed = false;
const writeQueue: Array<QueuedWrite | QueuedPut> = [];
let draining: Promise<void> | null = null;
/** Rows in bar_parts (committed and not yet compacted). */
let pendingParts = 0;
let lastCompaction = performance.now();
let compactTimer: NodeJS.Timeout | null = null;
let readChain: Promise<unknown> = Promise.resolve();

function reply(msg: Response, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function warn(msg: string): void {
  port.postMessage({ log: msg } satisfies WorkerLog);
}

function wireError(e: unknown, what: string): WireError {
  if (e instanceof TicklineError) return { code: e.code, message: e.message };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'TL_ERR_STORE', message: `${what}: ${message}` };
}

async function open(): Promise<void> {
  try {
    // Checkpoints have a high fixed cost; the default 16MB WAL makes them several times a second at
    // full rate. Larger stays cheap to replay on restart. A URL parameter overrides it.
    // DuckDB's default memory limit is 80% of RAM: an embedded store shares the machine, so it gets a modest
    // budget (DuckDB spills to disk beyond it). The URL overrides both.
    instance = await DuckDBInstance.create(path, { checkpoint_threshold: '64MB', memory_limit: '128MB', ...options });
  } catch (e) {
    throw new TicklineError('TL_ERR_STORE', `cannot open ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    await migrate();
  } catch (e) {
    shutdown();
    throw e;
  }
}

async function migrate(): Promise<void> {
  wcon = await instance!.connect();
  rcon = await instance!.connect();
  await wcon.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)');
  const current = Number((await wcon.runAndReadAll('SELECT coalesce(max(version), 0) FROM schema_migrations')).getRows()[0]![0]);
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  if (current > latest) {
    throw new TicklineError('TL_ERR_STORE', `cannot open ${path}: its schema version is ${current}, newer than this Tickline supports (${latest})`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    await wcon.run('BEGIN TRANSACTION');
    try {
      for (const sql of m.statements) await wcon.run(sql);
      await wcon.run(`INSERT INTO schema_migrations VALUES (${m.version}, make_timestamp(${Date.now() * 1000}::BIGINT))`);
      await wcon.run('COMMIT');
    } catch (e) {
      await wcon.run('ROLLBACK').catch(() => undefined);
      throw new TicklineError('TL_ERR_STORE', `cannot migrate ${path} to schema version ${m.version}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  pendingParts = Number((await wcon.runAndReadAll('SELECT count(*) FROM bar_parts')).getRows()[0]![0]);
  await wcon.run(PUT_BARS_TEMP);
}

// ---------------------------------------------------------------- writes

function enqueueWrite(w: QueuedWrite | QueuedPut): void {
  writeQueue.push(w);
  kick();
}

/** Starts the write loop unless it is running; it commits queued writes, then compacts when due. */
function kick(): void {
  draining ??= drainWrites().finally(() => {
    draining = null;
    if (writeQueue.length > 0 && !closed) kick();
  });
}

async function drainWrites(): Promise<void> {
  try {
    await opened();
  } catch (e) {
    for (const w of writeQueue.splice(0)) reply({ id: w.id, ok: false, error: wireError(e, `cannot open ${path}`) });
    return;
  }
  while (writeQueue.length > 0) {
    const head = writeQueue[0]!;
    if ('put' in head) {
      writeQueue.shift();
      try {
        await putBars(head.put);
        reply({ id: head.id, ok: true });
      } catch (e) {
        reply({ id: head.id, ok: false, error: wireError(e, `putBars to ${path} failed`) });
      }
      continue;
    }
    let rows = 0;
    let take = 0;
    for (; take < writeQueue.length; take++) {
      const w = writeQueue[take]!;
      if ('put' in w || (take > 0 && rows + w.ticks.n > GROUP_MAX_TICKS)) break;
      rows += w.ticks.n;
    }
    const group = writeQueue.splice(0, take) as QueuedWrite[];
    try {
      await commit(group);
      for (const w of group) replyWritten(w);
    } catch (e) {
      if (group.length === 1) {
        reply({ id: group[0]!.id, ok: false, error: wireError(e, `write to ${path} failed`) });
      } else {
        // One bad batch must not fail the others it was grouped with: commit each on its own.
        for (const w of group) {
          try {
            await commit([w]);
            replyWritten(w);
          } catch (e2) {
            reply({ id: w.id, ok: false, error: wireError(e2, `write to ${path} failed`) });
          }
        }
      }
    }
    if (pendingParts >= COMPACT_MAX_PARTS || (pendingParts > 0 && performance.now() - lastCompaction >= COMPACT_EVERY_MS)) {
      await compact();
    }
  }
  if (pendingParts > 0 && !closed) scheduleIdleCompaction();
}

function scheduleIdleCompaction(): void {
  if (compactTimer) clearTimeout(compactTimer);
  compactTimer = setTimeout(() => {
    compactTimer = null;
    // A running write loop compacts by itself when due.
    if (draining || closed) return;
    draining = compact().finally(() => {
      draining = null;
      if (writeQueue.length > 0) kick();
    });
  }, COMPACT_IDLE_MS);
  compactTimer.unref();
}

/** Folds pending bar parts into `bars`. A failure only delays it: reads merge the parts meanwhile. */
async function compact(): Promise<void> {
  lastCompaction = performance.now();
  if (pendingParts === 0) return;
  const con = wcon!;
  try {
    await con.run('BEGIN TRANSACTION');
    await con.run(COMPACT_BARS);
    await con.run('DELETE FROM bar_parts');
    await con.run('COMMIT');
    pendingParts = 0;
  } catch (e) {
    await con.run('ROLLBACK').catch(() => undefined);
    warn(`compacting bars in ${path} failed (will retry): ${e instanceof Error ? e.message : String(e)}`);
  }
}

function replyWritten(w: QueuedWrite): void {
  // The column buffers go back to the main thread's pool instead of being garbage.
  const { f64, codes, cap } = w.ticks;
  reply({ id: w.id, ok: true, recycle: { f64, codes, cap } }, [f64, codes]);
}

type Append = (fill: (a: DuckDBAppender) => void, table: string, schema?: string, catalog?: string) => Promise<void>;

/**
 * Runs `fn` in one write transaction. `append` fills a table through an appender and closes it; when
 * anything fails, the open appender is cleared and the transaction rolled back.
 */
async function writeTransaction(fn: (append: Append) => Promise<void>): Promise<void> {
  const con = wcon!;
  let appender: DuckDBAppender | null = null;
  const append: Append = async (fill, table, schema, catalog) => {
    appender = await con.createAppender(table, schema, catalog);
    fill(appender);
    appender.closeSync();
    appender = null;
  };
  await con.run('BEGIN TRANSACTION');
  try {
    await fn(append);
    await con.run('COMMIT');
  } catch (e) {
    if (appender) {
      try {
        (appender as DuckDBAppender).clear();
        (appender as DuckDBAppender).closeSync();
      } catch {
        // Already failed; the rollback below discards whatever it flushed.
      }
    }
    await con.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

async function commit(group: QueuedWrite[]): Promise<void> {
  const bars = mergeGroupBars(group);
  await writeTransaction(async (append) => {
    if (group.some((w) => w.ticks.n > 0)) await append((a) => group.forEach((w) => appendTicks(a, w.ticks)), 'ticks');
    if (bars.length > 0) await append((a) => appendBars(a, bars), 'bar_parts');
  });
  pendingParts += bars.length;
}

/** Replaces the given bars (and drops pending parts of their keys) in one transaction. */
async function putBars(bars: Bar[]): Promise<void> {
  if (bars.length === 0) return;
  const con = wcon!;
  let dropped = 0;
  await writeTransaction(async (append) => {
    await append((a) => appendBars(a, bars), 'bars_put', 'main', 'temp');
    dropped = (await con.run(PUT_BARS_DROP_PARTS)).rowsChanged;
    await con.run(PUT_BARS_UPSERT);
    await con.run(PUT_BARS_CLEAR);
  });
  pendingParts = Math.max(0, pendingParts - dropped);
}

/** Partial bars of the same bucket within one transaction are merged first: one part per key. */
function mergeGroupBars(group: QueuedWrite[]): Bar[] {
  if (group.length === 1 && group[0]!.bars.length <= 1) return group[0]!.bars;
  const byKey = new Map<string, Bar>();
  for (const w of group) {
    for (const b of w.bars) {
      const key = `${b.symbol}\u0000${b.interval}\u0000${b.start}`;
      const prev = byKey.get(key);
      byKey.set(key, prev ? mergeBar(prev, b) : b);
    }
  }
  return [...byKey.values()];
}

function badValue(what: string, value: unknown): TicklineError {
  return new TicklineError('TL_ERR_STORE', `${what} must be an integer number of µs, got ${String(value)}`);
}

function appendTicks(appender: DuckDBAppender, t: EncodedTicks): void {
  const { n, cap, dict } = t;
  const f = new Float64Array(t.f64, 0, F_COLUMNS * cap);
  const codes = t.wide ? new Uint32Array(t.codes, 0, 3 * cap) : new Uint16Array(t.codes, 0, 3 * cap);
  // Dictionary entries as inline string_t words (4 per entry), or flagged long.
  const dictWords = new Uint32Array(4 * dict.length);
  const longBytes: (Uint8Array | undefined)[] = new Array(dict.length);
  let anyLong = false;
  for (let k = 0; k < dict.length; k++) {
    const slot = slots.get(dict[k]!);
    if (slot instanceof Uint32Array) dictWords.set(slot, 4 * k);
    else {
      longBytes[k] = slot;
      anyLong = true;
    }
  }
  const b = ticksChunk;
  for (let off = 0; off < n; off += VECTOR_SIZE) {
    const rows = Math.min(VECTOR_SIZE, n - off);
    b.begin();
    copyStrings(b, 0, codes, C_SYMBOL * cap + off, rows, dictWords, anyLong ? longBytes : null);
    copyStrings(b, 6, codes, C_CURRENCY * cap + off, rows, dictWords, anyLong ? longBytes : null);
    copyStrings(b, 7, codes, C_PROVIDER * cap + off, rows, dictWords, anyLong ? longBytes : null);
    const tsOut = b.u32[1]!;
    const recvOut = b.u32[9]!;
    const seqOut = b.u32[8]!;
    const tsBase = F_TS * cap + off;
    const recvBase = F_RECV * cap + off;
    const seqBase = F_SEQ * cap + off;
    for (let i = 0; i < rows; i++) {
      const ts = f[tsBase + i]!;
      const recv = f[recvBase + i]!;
      // NaN, ±Infinity and fractions all fail this (x - trunc(x) is NaN or non-zero).
      if (ts - Math.trunc(ts) !== 0) throw badValue(`tick ${off + i} (${dict[codes[C_SYMBOL * cap + off + i]!]}): ts`, ts);
      if (recv - Math.trunc(recv) !== 0) throw badValue(`tick ${off + i} (${dict[codes[C_SYMBOL * cap + off + i]!]}): recvTs`, recv);
      putInt64(tsOut, i, ts);
      putInt64(recvOut, i, recv);
      const seq = f[seqBase + i]!;
      if (seq !== seq) b.setNull(8, i);
      else if (seq - Math.trunc(seq) !== 0) throw new TicklineError('TL_ERR_STORE', `tick ${off + i}: seq must be an integer, got ${seq}`);
      else putInt64(seqOut, i, seq);
    }
    // Doubles are already in DuckDB's layout: copied straight from the transferred buffer.
    b.source[2] = { buffer: t.f64, byteOffset: (F_PRICE * cap + off) * 8 };
    b.source[3] = { buffer: t.f64, byteOffset: (F_SIZE * cap + off) * 8 };
    b.source[4] = { buffer: t.f64, byteOffset: (F_BID * cap + off) * 8 };
    b.source[5] = { buffer: t.f64, byteOffset: (F_ASK * cap + off) * 8 };
    markNaNsNull(b, 4, f, F_BID * cap + off, rows);
    markNaNsNull(b, 5, f, F_ASK * cap + off, rows);
    appender.appendDataChunk(b.finish(rows));
  }
}

function copyStrings(
  b: ChunkBuilder,
  col: number,
  codes: Uint16Array | Uint32Array,
  base: number,
  rows: number,
  dictWords: Uint32Array,
  longBytes: (Uint8Array | undefined)[] | null,
): void {
  const out = b.u32[col]!;
  for (let i = 0; i < rows; i++) {
    const q = codes[base + i]! << 2;
    const j = i << 2;
    out[j] = dictWords[q]!;
    out[j + 1] = dictWords[q + 1]!;
    out[j + 2] = dictWords[q + 2]!;
    out[j + 3] = dictWords[q + 3]!;
  }
  if (longBytes) {
    for (let i = 0; i < rows; i++) {
      const bytes = longBytes[codes[base + i]!];
      if (bytes) b.addLong(col, i, bytes);
    }
  }
}

function markNaNsNull(b: ChunkBuilder, col: number, f: Float64Array, base: number, rows: number): void {
  for (let i = 0; i < rows; i++) {
    const x = f[base + i]!;
    if (x !== x) b.setNull(col, i);
  }
}

function appendBars(appender: DuckDBAppender, bars: readonly Bar[]): void {
  const b = barsChunk;
  for (let off = 0; off < bars.length; off += VECTOR_SIZE) {
    const rows = Math.min(VECTOR_SIZE, bars.length - off);
    b.begin();
    for (let i = 0; i < rows; i++) {
      const bar = bars[off + i]!;
      const what = `bar ${bar.symbol} ${bar.interval} ${bar.start}`;
      if (!isInterval(bar.interval)) throw new TicklineError('TL_ERR_STORE', `${what}: interval must be one of ${INTERVALS.join(', ')}`);
      for (const [name, v] of [['start', bar.start], ['firstTs', bar.firstTs], ['lastTs', bar.lastTs], ['trades', bar.trades]] as const) {
        if (!Number.isSafeInteger(v)) throw badValue(`${what}: ${name}`, v);
      }
      b.setString(0, i, bar.symbol);
      b.setString(1, i, bar.interval);
      b.setInt64(2, i, bar.start);
      b.setDouble(3, i, bar.open);
      b.setDouble(4, i, bar.high);
      b.setDouble(5, i, bar.low);
      b.setDouble(6, i, bar.close);
      b.setDouble(7, i, bar.volume);
      b.setInt64(8, i, bar.trades);
      b.setInt64(9, i, bar.firstTs);
      b.setInt64(10, i, bar.lastTs);
    }
    appender.appendDataChunk(b.finish(rows));
  }
}

// ---------------------------------------------------------------- reads

/** Queues a read on the read connection; called synchronously on message receipt to keep call order. */
function read<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  const next = readChain.then(async () => {
    await opened();
    return fn(rcon!);
  });
  readChain = next.catch(() => undefined);
  return next;
}

function num(v: DuckDBValue): number {
  return typeof v === 'number' ? v : Number(v);
}

function numOrNull(v: DuckDBValue): number | null {
  return v === null ? null : num(v);
}

/** Columns as selected by TICK_SELECT. */
function rowToTick(r: DuckDBValue[]): Tick {
  return {
    symbol: r[0] as string,
    ts: num(r[1]!),
    price: num(r[2]!),
    size: num(r[3]!),
    bid: numOrNull(r[4]!),
    ask: numOrNull(r[5]!),
    currency: r[6] as string,
    provider: r[7] as string,
    seq: numOrNull(r[8]!),
    recvTs: num(r[9]!),
  };
}

async function history(q: HistoryRequest): Promise<HistoryResult> {
  // Every number here was checked to be a safe integer on the main thread, so inlining them is safe and
  // lets DuckDB fold the bounds into zone-map filters; the symbol is bound.
  const where = ['symbol = $1'];
  if (q.from !== null) where.push(`ts >= make_timestamp(${q.from}::BIGINT)`);
  if (q.to !== null) where.push(`ts < make_timestamp(${q.to}::BIGINT)`);
  const cmp = q.desc ? '<' : '>';
  if (q.after) {
    const at = `make_timestamp(${q.after.ts}::BIGINT)`;
    where.push(`(ts ${cmp} ${at} OR (ts = ${at} AND rowid ${cmp} ${q.after.rowid}))`);
  }
  const dir = q.desc ? 'DESC' : 'ASC';
  const sql = `SELECT ${TICK_SELECT}, rowid::DOUBLE FROM ticks WHERE ${where.join(' AND ')} ORDER BY ts ${dir}, rowid ${dir} LIMIT ${q.limit + 1}`;
  const rows = await read(async (con) => (await con.runAndReadAll(sql, [q.symbol])).getRows());
  const more = rows.length > q.limit;
  if (more) rows.length = q.limit;
  return { ticks: rows.map(rowToTick), rowids: rows.map((r) => num(r[10]!)), more };
}

async function bars(q: BarQuery): Promise<Bar[]> {
  const where = ['symbol = $1', '"interval" = $2'];
  if (q.from !== undefined) where.push(`"start" >= make_timestamp(${q.from}::BIGINT)`);
  if (q.to !== undefined) where.push(`"start" < make_timestamp(${q.to}::BIGINT)`);
  const sql = mergedBarsSql(where.join(' AND '), q.limit);
  const rows = await read(async (con) => (await con.runAndReadAll(sql, [q.symbol, q.interval])).getRows());
  // Selected newest first so LIMIT keeps the newest; returned oldest first.
  rows.reverse();
  return rows.map((r) => ({
    symbol: r[0] as string,
    interval: r[1] as Interval,
    start: num(r[2]!),
    open: num(r[3]!),
    high: num(r[4]!),
    low: num(r[5]!),
    close: num(r[6]!),
    volume: num(r[7]!),
    trades: num(r[8]!),
    firstTs: num(r[9]!),
    lastTs: num(r[10]!),
  }));
}

async function symbols(): Promise<SymbolInfo[]> {
  const sql =
    'SELECT symbol, count(*)::DOUBLE, epoch_us(min(ts))::DOUBLE, epoch_us(max(ts))::DOUBLE FROM ticks GROUP BY symbol ORDER BY symbol';
  const rows = await read(async (con) => (await con.runAndReadAll(sql)).getRows());
  return rows.map((r) => ({ symbol: r[0] as string, ticks: num(r[1]!), firstTs: num(r[2]!), lastTs: num(r[3]!) }));
}

async function latest(): Promise<Tick[]> {
  // Newest event time per symbol first (a cheap two-column aggregate), then only the rows at that time;
  // of equal times the one written last wins. Much faster than arg_max over whole rows.
  const sql = `WITH m AS (SELECT symbol, max(ts) AS ts FROM ticks GROUP BY symbol)
    SELECT ${TICK_SELECT} FROM ticks SEMI JOIN m ON ticks.symbol = m.symbol AND ticks.ts = m.ts
    QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY rowid DESC) = 1 ORDER BY symbol`;
  const rows = await read(async (con) => (await con.runAndReadAll(sql)).getRows());
  return rows.map(rowToTick);
}

// ---------------------------------------------------------------- lifecycle

function opened(): Promise<void> {
  return ready ?? Promise.reject(new TicklineError('TL_ERR_STORE', `duckdb store ${path} was used before init`));
}

async function close(): Promise<void> {
  closed = true;
  if (compactTimer) clearTimeout(compactTimer);
  await ready?.catch(() => undefined);
  while (draining) await draining;
  await readChain;
  try {
    if (wcon) {
      await compact();
      await wcon.run('CHECKPOINT');
    }
  } finally {
    shutdown();
  }
}

function shutdown(): void {
  wcon?.closeSync();
  rcon?.closeSync();
  instance?.closeSync();
  wcon = rcon = null;
  instance = null;
}

async function answer(id: number, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    const value = await fn();
    reply({ id, ok: true, value });
  } catch (e) {
    reply({ id, ok: false, error: wireError(e, what) });
  }
}

port.on('message', (msg: Request) => {
  if (closed) {
    reply({ id: msg.id, ok: false, error: { code: 'TL_ERR_CLOSED', message: `duckdb store ${path} is closed` } });
    return;
  }
  switch (msg.op) {
    case 'write':
      enqueueWrite({ id: msg.id, ticks: msg.ticks, bars: msg.bars });
      return;
    case 'putBars':
      enqueueWrite({ id: msg.id, put: msg.bars });
      return;
    case 'init':
      ready ??= open();
      void answer(msg.id, `cannot open ${path}`, () => ready!);
      return;
    case 'history':
      void answer(msg.id, `history query on ${path} failed`, () => history(msg.query));
      return;
    case 'bars':
      void answer(msg.id, `bars query on ${path} failed`, () => bars(msg.query));
      return;
    case 'symbols':
      void answer(msg.id, `symbols query on ${path} failed`, symbols);
      return;
    case 'latest':
      void answer(msg.id, `latest query on ${path} failed`, latest);
      return;
    case 'health':
      void answer(msg.id, `health check on ${path} failed`, () =>
        read(async (con) => {
          await con.run('SELECT 1');
          return `duckdb ${path}`;
        }),
      );
      return;
    case 'close':
      void answer(msg.id, `closing ${path} failed`, close);
      return;
  }
});
