import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Bar } from '../../core/bar.ts';
import { show, TicklineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Tick } from '../../core/tick.ts';
import type { Health } from '../../ports/health.ts';
import type { BarQuery, HistoryPage, HistoryQuery, Store, SymbolInfo } from '../../ports/store.ts';
import { urlPath, type AdapterContext } from '../registry.ts';
import { checkBarQuery, checkHistoryArgs } from './query-checks.ts';
import { checkPutBars } from './put-bars.ts';
import { BufferPool, encodeTicks } from './duckdb-encode.ts';
import type { HistoryRequest, HistoryResult, Request, Response, WorkerInit, WorkerLog } from './duckdb-protocol.ts';

/**
 * `duckdb://<path>`: history in an embedded DuckDB file (relative paths resolve against the working
 * directory; the parent directory is created).
 *
 * The engine lives in a worker thread that owns the instance (see duckdb-worker.ts); this class only
 * turns batches into transferable columns and queries into messages, so a write costs the calling
 * thread one pass over the ticks. URL query parameters are passed to DuckDB as configuration options,
 * e.g. `duckdb://./data/t.duckdb?threads=1&memory_limit=1GB&checkpoint_threshold=256MB`
 * (checkpoint_threshold defaults to 64MB here rather than DuckDB's 16MB, memory_limit to 128MB rather than 80% of RAM).
 *
 * Semantics beyond the Store port: `bars()` returns bars in ascending `start` order, and when more than
 * `limit` match, the newest `limit` of them (what a chart wants). History pages are ordered by
 * (ts, rowid), so ticks with equal timestamps come in write order; cursors encode the last (ts, rowid)
 * and the order they were issued for. Of ticks with equal timestamps, `latest()` returns the one
 * written last. NaN bid/ask/seq values are stored as NULL.
 */

// Node runs the .ts source directly; after `tsc` the sibling is .js.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './duckdb-worker.ts' : './duckdb-worker.js', import.meta.url);

/** A health probe that gets no answer within this time reports the store as unhealthy. */
const HEALTH_TIMEOUT_MS = 5_000;

/**
 * Files open in this thread. DuckDB's file lock only stops *other* processes; a second instance on the
 * same file inside this process would succeed and corrupt it. (Module state is per thread, so stores
 * created from different worker threads of one process are not checked against each other.)
 */
const openPaths = new Set<string>();

type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class DuckDBStore implements Store {
  readonly kind = 'duckdb';
  // Appends without an identity check: the embedded memory bus does not redeliver across restarts.
  readonly idempotent = false;
  readonly path: string;
  readonly #options: Record<string, string>;
  readonly #logger: Logger | undefined;
  readonly #pool = new BufferPool();
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | null = null;
  #nextId = 1;
  #init: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  /** Set when the worker failed to open or died; every later call fails with it. */
  #failure: TicklineError | null = null;

  constructor(path: string, options: Record<string, string> = {}, logger?: Logger) {
    this.path = resolve(path);
    this.#options = options;
    this.#logger = logger;
  }

  init(): Promise<void> {
    if (this.#closing) return Promise.reject(this.#closedError());
    this.#init ??= this.#start();
    return this.#init;
  }

  async #start(): Promise<void> {
    if (openPaths.has(this.path)) {
      throw new TicklineError('TL_ERR_STORE', `cannot open ${this.path}: it is already open in this process`);
    }
    try {
      mkdirSync(dirname(this.path), { recursive: true });
    } catch (cause) {
      throw new TicklineError('TL_ERR_STORE', `cannot open ${this.path}: cannot create its directory: ${(cause as Error).message}`, { cause });
    }
    const init: WorkerInit = { path: this.path, options: this.#options };
    // The worker inherits this process's flags, but `--input-type` (node -e scripts) would apply to its
    // file entry point and stop it from starting; without it, inheriting is right (loaders, conditions).
    const execArgv = process.execArgv.some((a) => a.startsWith('--input-type')) ? [] : undefined;
    const worker = new Worker(WORKER_URL, { workerData: init, execArgv, name: 'tickline-duckdb' });
    openPaths.add(this.path);
    this.#worker = worker;
    worker.on('message', (msg: Response | WorkerLog) => {
      if ('log' in msg) this.#logger?.warn({ path: this.path }, msg.log);
      else this.#onMessage(msg);
    });
    worker.on('error', (e) => this.#fail(new TicklineError('TL_ERR_STORE', `the DuckDB worker for ${this.path} crashed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.#closing) this.#fail(new TicklineError('TL_ERR_STORE', `the DuckDB worker for ${this.path} exited unexpectedly (code ${code})`));
    });
    try {
      await this.#request(worker, { op: 'init' });
    } catch (e) {
      // Reported to the caller of init(), so not logged here.
      this.#fail(e instanceof TicklineError ? e : new TicklineError('TL_ERR_STORE', `cannot open ${this.path}: ${String(e)}`), false);
      throw this.#failure;
    }
    this.#logger?.debug({ path: this.path }, 'duckdb store open');
  }

  // Public methods post to the worker synchronously (no await before #request), so requests reach it
  // in call order: calls made before close() complete, even when made before init() resolved, because
  // the worker runs everything after its own open finished.

  async write(batch: { ticks: readonly Tick[]; bars: readonly Bar[] }): Promise<void> {
    const worker = this.#usable();
    const ticks = encodeTicks(batch.ticks, this.#pool);
    await this.#request(worker, { op: 'write', ticks, bars: batch.bars as Bar[] }, [ticks.f64, ticks.codes]);
  }

  async putBars(bars: readonly Bar[]): Promise<void> {
    const worker = this.#usable();
    const checked = checkPutBars(bars);
    if (checked.length === 0) return;
    await this.#request(worker, { op: 'putBars', bars: checked });
  }

  async history(query: HistoryQuery): Promise<HistoryPage> {
    const worker = this.#usable();
    const req = historyRequest(query);
    const res = (await this.#request(worker, { op: 'history', query: req })) as HistoryResult;
    const last = res.ticks.length - 1;
    const next = res.more && last >= 0 ? encodeCursor(req.desc, res.ticks[last]!.ts, res.rowids[last]!) : null;
    return { ticks: res.ticks, next };
  }

  async bars(query: BarQuery): Promise<Bar[]> {
    const worker = this.#usable();
    checkBarQuery(query);
    const q: BarQuery = { symbol: query.symbol, interval: query.interval, from: query.from, to: query.to, limit: query.limit };
    return (await this.#request(worker, { op: 'bars', query: q })) as Bar[];
  }

  async symbols(): Promise<SymbolInfo[]> {
    return (await this.#request(this.#usable(), { op: 'symbols' })) as SymbolInfo[];
  }

  async latest(): Promise<Tick[]> {
    return (await this.#request(this.#usable(), { op: 'latest' })) as Tick[];
  }

  async health(): Promise<Health> {
    if (this.#closing) throw this.#closedError();
    if (this.#failure) return { ok: false, detail: this.#failure.message };
    const worker = this.#worker;
    if (!worker) return { ok: false, detail: 'not initialised' };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    try {
      const detail = (await Promise.race([this.#request(worker, { op: 'health' }), timeout])) as string;
      return { ok: true, detail };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return; // never opened, or already failed and cleaned up
    try {
      await this.#request(worker, { op: 'close' });
    } catch (e) {
      // A worker that died or never opened has nothing left to close.
      if (e !== this.#failure) throw e;
    } finally {
      this.#worker = null;
      await worker.terminate();
      openPaths.delete(this.path);
      this.#logger?.debug({ path: this.path }, 'duckdb store closed');
    }
  }

  /** The worker to post to, or throws why the store cannot be used. */
  #usable(): Worker {
    if (this.#closing) throw this.#closedError();
    if (this.#failure) throw this.#failure;
    if (!this.#worker) throw new TicklineError('TL_ERR_STORE', `duckdb store ${this.path}: call init() before using it`);
    return this.#worker;
  }

  #closedError(): TicklineError {
    return new TicklineError('TL_ERR_CLOSED', `duckdb store ${this.path} is closed`);
  }

  #request(worker: Worker, body: RequestBody, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Keep the process alive only while something is outstanding.
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage({ id, ...body } as Request, transfer);
    });
  }

  #onMessage(msg: Response): void {
    if (msg.ok && msg.recycle) this.#pool.give(msg.recycle.cap, msg.recycle.f64, msg.recycle.codes);
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    if (this.#pending.size === 0) this.#worker?.unref();
    if (msg.ok) p.resolve(msg.value);
    else p.reject(new TicklineError(msg.error.code, msg.error.message));
  }

  /** The worker is gone or unusable: fail everything outstanding and release the file. */
  #fail(error: TicklineError, log = true): void {
    if (this.#failure) return;
    this.#failure = error;
    if (log) this.#logger?.error({ path: this.path, err: error }, 'duckdb store failed');
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    const worker = this.#worker;
    this.#worker = null;
    openPaths.delete(this.path);
    void worker?.terminate();
  }
}

// ---------------------------------------------------------------- queries and cursors


function historyRequest(q: HistoryQuery): HistoryRequest {
  const desc = checkHistoryArgs(q) === 'desc';
  return {
    symbol: q.symbol,
    from: q.from ?? null,
    to: q.to ?? null,
    limit: q.limit,
    after: q.cursor === undefined ? null : decodeCursor(q.cursor, desc),
    desc,
  };
}

/** Cursor = base64url of `<a|d>:<ts>:<rowid>` of the page's last row; rowid breaks ties of equal ts. */
function encodeCursor(desc: boolean, ts: number, rowid: number): string {
  return Buffer.from(`${desc ? 'd' : 'a'}:${ts}:${rowid}`).toString('base64url');
}

function decodeCursor(cursor: string, desc: boolean): { ts: number; rowid: number } {
  const m = typeof cursor === 'string' ? /^([ad]):(-?\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString()) : null;
  if (!m) throw new TicklineError('TL_ERR_VALIDATION', `cursor ${show(cursor)} is not a cursor returned by this store`);
  if ((m[1] === 'd') !== desc) {
    throw new TicklineError('TL_ERR_VALIDATION', `cursor ${show(cursor)} belongs to order=${m[1] === 'd' ? 'desc' : 'asc'} queries, not order=${desc ? 'desc' : 'asc'}`);
  }
  const ts = Number(m[2]);
  const rowid = Number(m[3]);
  if (!Number.isSafeInteger(ts) || !Number.isSafeInteger(rowid)) {
    throw new TicklineError('TL_ERR_VALIDATION', `cursor ${show(cursor)} is not a cursor returned by this store`);
  }
  return { ts, rowid };
}

// ---------------------------------------------------------------- factory

/** Store factory for `duckdb://./relative.duckdb` and `duckdb:///absolute.duckdb`. */
export function createDuckDBStore(url: URL, ctx: AdapterContext): Store {
  const path = urlPath(url);
  if (!path || path === '/') {
    throw new TicklineError(
      'TL_ERR_BAD_URL',
      `store: ${show(url.href)} names no file; use duckdb://./data/tickline.duckdb or duckdb:///absolute/path.duckdb`,
    );
  }
  return new DuckDBStore(path, Object.fromEntries(url.searchParams), ctx.logger);
}
