/**
 * `postgres://…?schema=`: polling jobs shared by every ingest and API replica. `claimDue` is one UPDATE
 * whose WHERE clause is re-checked under the row lock, so concurrent schedulers never claim the same run.
 */
import pg from 'pg';
import { parsePostgresUrl, quoteIdent, type PostgresSettings } from '../adapters/store/postgres-config.ts';
import { TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { PollJob, RunResult } from './model.ts';
import type { JobStore } from './store.ts';

interface Row {
  id: string;
  provider: string;
  symbols: string[];
  interval_ms: string;
  created_at: string;
  created_by: string;
  next_run_at: string;
  last_run_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  runs: string;
  failures: string;
  consecutive_failures: string;
  ticks: string;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

function fromRow(r: Row): PollJob {
  return {
    id: r.id,
    provider: r.provider,
    symbols: r.symbols,
    intervalMs: Number(r.interval_ms),
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    nextRunAt: Number(r.next_run_at),
    lastRunAt: num(r.last_run_at),
    lastSuccessAt: num(r.last_success_at),
    lastError: r.last_error,
    runs: Number(r.runs),
    failures: Number(r.failures),
    consecutiveFailures: Number(r.consecutive_failures),
    ticks: Number(r.ticks),
  };
}

export async function openPostgresJobStore(url: URL, logger?: Logger): Promise<PostgresJobStore> {
  const store = new PostgresJobStore(parsePostgresUrl(url), logger);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

export class PostgresJobStore implements JobStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #t: string;
  readonly #schema: string;
  readonly #endpoint: string;

  constructor(settings: PostgresSettings, logger?: Logger) {
    this.#schema = settings.schema;
    this.#endpoint = settings.endpoint;
    this.#t = `${quoteIdent(settings.schema)}.poll_jobs`;
    this.#pool = new pg.Pool({ ...settings.pool, max: 2 });
    this.#pool.on('error', (err) => logger?.warn({ endpoint: this.#endpoint, err: err.message }, 'poll-job store: an idle postgres connection failed'));
  }

  async #q<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (cause) {
      throw new TicklineError('TL_ERR_STORE', `poll-job store at ${this.#endpoint}: ${(cause as Error).message}`, { cause });
    }
  }

  async migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tickline.jobs.migrate.${this.#schema}`]);
      const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.#schema]);
      if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdent(this.#schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#t} (
        id text PRIMARY KEY,
        provider text NOT NULL,
        symbols text[] NOT NULL,
        interval_ms bigint NOT NULL CHECK (interval_ms > 0),
        created_at bigint NOT NULL,
        created_by text NOT NULL,
        next_run_at bigint NOT NULL,
        last_run_at bigint,
        last_success_at bigint,
        last_error text,
        runs bigint NOT NULL DEFAULT 0,
        failures bigint NOT NULL DEFAULT 0,
        consecutive_failures bigint NOT NULL DEFAULT 0,
        ticks bigint NOT NULL DEFAULT 0)`);
      await client.query('COMMIT');
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new TicklineError('TL_ERR_STORE', `poll-job store at ${this.#endpoint}: cannot create its table: ${(cause as Error).message}`, { cause });
    } finally {
      client.release();
    }
  }

  async create(j: PollJob): Promise<void> {
    await this.#q(
      `INSERT INTO ${this.#t} (id, provider, symbols, interval_ms, created_at, created_by, next_run_at, last_run_at, last_success_at, last_error, runs, failures, consecutive_failures, ticks)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
      [j.id, j.provider, j.symbols, j.intervalMs, j.createdAt, j.createdBy, j.nextRunAt, j.lastRunAt, j.lastSuccessAt, j.lastError, j.runs, j.failures, j.consecutiveFailures, j.ticks],
    );
  }

  async list(): Promise<PollJob[]> {
    return (await this.#q<Row>(`SELECT * FROM ${this.#t} ORDER BY created_at, id`)).rows.map(fromRow);
  }

  async get(id: string): Promise<PollJob | null> {
    const row = (await this.#q<Row>(`SELECT * FROM ${this.#t} WHERE id = $1`, [id])).rows[0];
    return row ? fromRow(row) : null;
  }

  async remove(id: string): Promise<boolean> {
    return ((await this.#q(`DELETE FROM ${this.#t} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
  }

  async claimDue(now: number, limit: number): Promise<PollJob[]> {
    // SKIP LOCKED: a row another scheduler is claiming right now is its run, not ours. The WHERE clause of
    // the UPDATE is re-checked on the locked row, so a run is claimed once however the claims interleave.
    const res = await this.#q<Row>(
      `WITH due AS (SELECT id FROM ${this.#t} WHERE next_run_at <= $1 ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE ${this.#t} j SET next_run_at = CASE WHEN j.next_run_at + j.interval_ms > $1 THEN j.next_run_at + j.interval_ms ELSE $1 + j.interval_ms END
       FROM due WHERE j.id = due.id AND j.next_run_at <= $1
       RETURNING j.*`,
      [now, limit],
    );
    return res.rows.map(fromRow);
  }

  async report(id: string, r: RunResult): Promise<void> {
    await this.#q(
      r.ok
        ? `UPDATE ${this.#t} SET last_run_at = $2, runs = runs + 1, ticks = ticks + $3, last_success_at = $2, last_error = NULL, consecutive_failures = 0 WHERE id = $1`
        : `UPDATE ${this.#t} SET last_run_at = $2, runs = runs + 1, ticks = ticks + $3, last_error = $4, failures = failures + 1, consecutive_failures = consecutive_failures + 1 WHERE id = $1`,
      r.ok ? [id, r.at, r.ticks] : [id, r.at, r.ticks, r.error],
    );
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => undefined);
  }
}
