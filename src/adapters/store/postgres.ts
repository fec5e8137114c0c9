import pg from 'pg';
import type { Bar } from '../../core/bar.ts';
import { TicklineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { Tick } from '../../core/tick.ts';
import type { Health } from '../../ports/health.ts';
import type { BarQuery, HistoryPage, HistoryQuery, Store, SymbolInfo } from '../../ports/store.ts';
import type { AdapterContext } from '../registry.ts';
import { isConnectionError, parsePostgresUrl, quoteIdent, sqlState, type PostgresSettings } from './postgres-config.ts';
import { prepareBars, prepareTicks } from './postgres-copy.ts';
import { checkHistoryQuery, readBars, readHistory, readLatest, readSymbols } from './postgres-read.ts';
import { checkBarQuery } from './query-checks.ts';
import { migrate, Partitions, transaction } from './postgres-schema.ts';
import { PUT_BARS_BATCH, TEMP_TABLES, putBarsSql, writeSql, type WriteSql } from './postgres-sql.ts';
import { checkPutBars } from './put-bars.ts';
import { writeDirect, writeStaged } from './postgres-write.ts';

/**
 * `postgres://user:pass@host:port/db?schema=tickline&pool=4` (or `postgresql://`): history in
 * PostgreSQL ≥ 15, ticks partitioned by UTC day. See postgres-config.ts for the parameters.
 *
 * Idempotent: a tick is stored once per identity (provider, symbol, ts, seq), and only ticks actually
 * inserted count in the bars (postgres-write.ts explains how). Writes COPY the batch in binary straight
 * into `ticks`; when that meets an identity already stored, the transaction is rolled back and the batch
 * goes through a staging table with ON CONFLICT DO NOTHING instead, and for a few seconds after that
 * (redelivery tends to come in runs) every batch goes that way first.
 *
 * Outages: a call that finds the server unreachable (or loses its connection) retries on a new
 * connection with exponential backoff, logging each attempt at warn level and counting it in
 * `tickline_reconnects_total{dependency="postgres"}`, for at most `wait_ms` (default 5 s); then it fails
 * with TL_ERR_UNAVAILABLE naming host:port. Retrying a write whose commit may or may not have happened
 * is safe because writes are idempotent.
 *
 * Semantics beyond the Store port: like the DuckDB store, `bars()` returns ascending `start`, the newest
 * `limit` when more match. Ticks of equal event time are ordered by (provider, seq, NULL seq last) rather
 * than by arrival, and `latest()` picks the greatest of them. NaN bid/ask/seq are stored as NULL.
 * `symbols()` and `latest()` read per-day statistics the writes keep, so rows put into `ticks` by other
 * means are not reflected there.
 */

const HEALTH_TIMEOUT_MS = 2_000;
/** After a batch met already-stored ticks, later batches skip the optimistic COPY for this long. */
const STAGED_AFTER_CONFLICT_MS = 5_000;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 2_000;

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly idempotent = true;
  readonly schema: string;
  readonly endpoint: string;
  readonly #settings: PostgresSettings;
  readonly #s: string;
  readonly #sql: WriteSql;
  readonly #logger: Logger | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #pool: pg.Pool;
  readonly #partitions: Partitions;
  readonly #inFlight = new Set<Promise<unknown>>();
  #init: Promise<void> | null = null;
  #ready = false;
  #closing: Promise<void> | null = null;
  #stagedUntil = 0;
  /** Why the server was last found unreachable, until a call succeeds again (to log the recovery once). */
  #down: string | null = null;

  constructor(settings: PostgresSettings, logger?: Logger, metrics?: Metrics) {
    this.#settings = settings;
    this.schema = settings.schema;
    this.endpoint = settings.endpoint;
    this.#s = quoteIdent(settings.schema);
    this.#sql = writeSql(this.#s);
    this.#logger = logger;
    this.#metrics = metrics;
    this.#pool = new pg.Pool({
      ...settings.pool,
      onConnect: async (client) => {
        for (const sql of TEMP_TABLES) await client.query(sql);
      },
    });
    // An idle connection that dies (server restart, pg_terminate_backend) is dropped by the pool; without
    // a listener its error would crash the process.
    this.#pool.on('error', (err) => {
      this.#logger?.warn({ endpoint: this.endpoint, err: err.message }, 'postgres: an idle connection failed; it will be replaced');
    });
    // A connection lost while checked out also emits 'error' on its client, where the pool listens only
    // while it is idle. The operation using it sees the same error and handles it (see #run).
    this.#pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    this.#partitions = new Partitions((what, fn) => this.#run(what, fn), settings.schema, this.#s);
  }

  init(): Promise<void> {
    if (this.#closing) return Promise.reject(this.#closedError());
    this.#init ??= this.#track(this.#start()).catch((e: unknown) => {
      // A server that is down at start-up may be up at the next attempt.
      this.#init = null;
      throw e;
    });
    return this.#init;
  }

  async #start(): Promise<void> {
    const version = await this.#run('init', async (client) => {
      const v = await migrate(client, this.schema, this.#s);
      await this.#partitions.load(client);
      return v;
    });
    await this.#partitions.ensure([]);
    this.#ready = true;
    this.#logger?.debug({ endpoint: this.endpoint, schema: this.schema, version }, 'postgres store open');
  }

  write(batch: { ticks: readonly Tick[]; bars: readonly Bar[] }): Promise<void> {
    return this.#call(() => this.#write(batch));
  }

  async #write(batch: { ticks: readonly Tick[]; bars: readonly Bar[] }): Promise<void> {
    if (batch.ticks.length === 0 && batch.bars.length === 0) return;
    const ticks = batch.ticks.length > 0 ? prepareTicks(batch.ticks) : null;
    const bars = prepareBars(batch.bars);
    for (let attempt = 1; ; attempt++) {
      if (ticks) await this.#partitions.ensure(ticks.days);
      try {
        await this.#run('write', async (client) => {
          if (ticks && Date.now() >= this.#stagedUntil) {
            try {
              await writeDirect(client, this.#sql, ticks, bars);
              return;
            } catch (e) {
              if (sqlState(e) !== '23505') throw e;
              this.#stagedUntil = Date.now() + STAGED_AFTER_CONFLICT_MS;
            }
          }
          await writeStaged(client, this.#sql, ticks, bars);
        });
        return;
      } catch (e) {
        // 23514: no partition for a row — someone dropped one we thought existed. Look again, once.
        if (attempt === 1 && e instanceof TicklineError && sqlState(e.cause) === '23514') {
          this.#partitions.forget();
          continue;
        }
        throw e;
      }
    }
  }

  putBars(bars: readonly Bar[]): Promise<void> {
    return this.#call(async () => {
      const checked = checkPutBars(bars);
      if (checked.length === 0) return;
      const sql = putBarsSql(this.#s);
      // Retried as a whole on a lost connection: replacing is idempotent.
      await this.#run('putBars', (client) =>
        transaction(client, async () => {
          for (let i = 0; i < checked.length; i += PUT_BARS_BATCH) {
            const part = checked.slice(i, i + PUT_BARS_BATCH);
            const values = [
              part.map((b) => b.symbol),
              part.map((b) => b.interval),
              part.map((b) => b.start),
              part.map((b) => b.open),
              part.map((b) => b.high),
              part.map((b) => b.low),
              part.map((b) => b.close),
              part.map((b) => b.volume),
              part.map((b) => b.trades),
              part.map((b) => b.firstTs),
              part.map((b) => b.lastTs),
            ];
            await client.query({ name: 'tl_put_bars', text: sql, values });
          }
        }),
      );
    });
  }

  history(query: HistoryQuery): Promise<HistoryPage> {
    return this.#call(() => {
      checkHistoryQuery(query);
      return this.#run('history', (c) => readHistory(c, this.#s, query));
    });
  }

  bars(query: BarQuery): Promise<Bar[]> {
    return this.#call(() => {
      checkBarQuery(query);
      return this.#run('bars', (c) => readBars(c, this.#s, query));
    });
  }

  symbols(): Promise<SymbolInfo[]> {
    return this.#call(() => this.#run('symbols', (c) => readSymbols(c, this.#s)));
  }

  latest(): Promise<Tick[]> {
    return this.#call(() => this.#run('latest', (c) => readLatest(c, this.#s)));
  }

  async health(): Promise<Health> {
    if (this.#closing) throw this.#closedError();
    if (!this.#ready) return { ok: false, detail: 'not initialised' };
    const probe = this.#track(
      (async () => {
        const client = await this.#pool.connect();
        try {
          await client.query('SELECT 1');
          client.release();
        } catch (e) {
          client.release(e as Error);
          throw e;
        }
      })(),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    try {
      await Promise.race([probe, timeout]);
      this.#up();
      return { ok: true, detail: `connected to ${this.endpoint}` };
    } catch (e) {
      probe.catch(() => {}); // settles later, after the timeout answered
      return { ok: false, detail: `postgres at ${this.endpoint} is unavailable: ${(e as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Calls made before close() finish first; the pool would refuse them once ended.
      await Promise.allSettled([...this.#inFlight]);
      await this.#pool.end();
      this.#logger?.debug({ endpoint: this.endpoint, schema: this.schema }, 'postgres store closed');
    })();
    return this.#closing;
  }

  /** Runs a public call: refused after close(), and tracked so that close() waits for it. */
  #call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(this.#closedError());
    if (!this.#ready) return Promise.reject(new TicklineError('TL_ERR_STORE', `postgres store ${this.endpoint}/${this.schema}: call init() before using it`));
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#track(p);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    const done = () => this.#inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Runs `fn` on a pooled connection. Connection failures (refused, reset, terminated backend) are
   * retried on a fresh connection with backoff until `wait_ms` has passed; other errors fail at once.
   */
  async #run<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#settings.waitMs;
    let delay = BACKOFF_FIRST_MS;
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      let client: pg.PoolClient | undefined;
      try {
        client = await this.#pool.connect();
        const result = await fn(client);
        client.release();
        this.#up();
        return result;
      } catch (e) {
        error = e;
        client?.release(isConnectionError(e) ? (e as Error) : undefined);
      }
      if (!isConnectionError(error)) {
        if (error instanceof TicklineError) throw error;
        throw new TicklineError('TL_ERR_STORE', `postgres ${what} failed on ${this.endpoint}: ${(error as Error).message}`, { cause: error });
      }
      const reason = (error as Error).message || (error as { code?: string }).code || String(error);
      this.#down ??= reason;
      if (Date.now() + delay > deadline) {
        throw new TicklineError('TL_ERR_UNAVAILABLE', `postgres at ${this.endpoint} is unavailable (${what}): ${reason}`, { cause: error });
      }
      this.#logger?.warn({ endpoint: this.endpoint, attempt, delayMs: delay, err: reason }, `postgres: ${what} lost the server; reconnecting`);
      this.#metrics?.reconnects.inc({ dependency: 'postgres' });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }

  #up(): void {
    if (this.#down === null) return;
    this.#logger?.info({ endpoint: this.endpoint }, `postgres: connected again after: ${this.#down}`);
    this.#down = null;
  }

  #closedError(): TicklineError {
    return new TicklineError('TL_ERR_CLOSED', `postgres store ${this.endpoint}/${this.schema} is closed`);
  }
}

/** Store factory for `postgres://` and `postgresql://`. */
export async function createPostgresStore(url: URL, ctx: AdapterContext): Promise<Store> {
  return new PostgresStore(parsePostgresUrl(url), ctx.logger, ctx.metrics);
}
