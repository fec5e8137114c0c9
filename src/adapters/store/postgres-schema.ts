/** Schema upkeep of the Postgres store: versioned migrations and the daily partitions of `ticks`. */
import type { PoolClient } from 'pg';
import { TicklineError } from '../../core/errors.ts';
import { createPartitionSql, MIGRATIONS, partitionDay } from './postgres-sql.ts';
import { isConnectionError } from './postgres-config.ts';

/** Runs `fn` in a transaction; rolls back when it throws (a failed rollback means the connection is gone). */
export async function transaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      if (isConnectionError(rollbackError) && !isConnectionError(e)) throw rollbackError;
    }
    throw e;
  }
  await client.query('COMMIT');
  return result;
}

/** Serialises the Tickline processes that change one schema's structure, until the transaction ends. */
function lockSchema(client: PoolClient, schema: string, what: string): Promise<unknown> {
  return client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tickline.${what}.${schema}`]);
}

/**
 * Brings `schema` to the newest version: creates it and `schema_migrations` when missing, then applies
 * each missing migration in its own transaction. Two processes starting at once take turns on an
 * advisory lock, and the second finds the work done.
 */
export async function migrate(client: PoolClient, schema: string, s: string): Promise<number> {
  await transaction(client, async () => {
    await lockSchema(client, schema, 'migrate');
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  });
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  for (const m of MIGRATIONS) {
    await transaction(client, async () => {
      await lockSchema(client, schema, 'migrate');
      const done = await client.query(`SELECT 1 FROM ${s}.schema_migrations WHERE version = $1`, [m.version]);
      if (done.rowCount !== 0) return;
      for (const sql of m.statements(s)) await client.query(sql);
      await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
    });
  }
  const res = await client.query<{ v: number }>(`SELECT max(version) AS v FROM ${s}.schema_migrations`);
  const current = res.rows[0]?.v ?? 0;
  if (current > latest) {
    throw new TicklineError('TL_ERR_STORE', `postgres schema ${schema} is at version ${current}, newer than this Tickline supports (${latest})`);
  }
  return current;
}

const DAY_MS = 86_400_000;
/** Partitions kept ready ahead of the clock, so the first write of a day does not wait for DDL. */
const AHEAD_DAYS = 2;

type Run = <T>(what: string, fn: (client: PoolClient) => Promise<T>) => Promise<T>;

/**
 * Daily partitions of `ticks`, created before any insert that needs them: there is deliberately no
 * DEFAULT partition, because rows in it would block creating the partition they belong to later.
 *
 * Creation runs in its own short transaction, never inside a write: it takes an ACCESS EXCLUSIVE lock on
 * `ticks`, which inside a write transaction could deadlock with other writers. The advisory lock makes
 * concurrent creators (other processes) take turns, and IF NOT EXISTS makes the second one a no-op.
 */
export class Partitions {
  readonly #run: Run;
  readonly #schema: string;
  readonly #s: string;
  readonly #known = new Set<number>();
  readonly #pending = new Map<number, Promise<void>>();
  #aheadFrom = NaN;

  constructor(run: Run, schema: string, s: string) {
    this.#run = run;
    this.#schema = schema;
    this.#s = s;
  }

  /** Learns which partitions exist (they may have been created by another process since). */
  async load(client: PoolClient): Promise<void> {
    const res = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
      [`${this.#s}.ticks`],
    );
    this.#known.clear();
    for (const r of res.rows) {
      const day = partitionDay(r.name);
      if (day !== null) this.#known.add(day);
    }
  }

  /** Forgets what exists, so the next `ensure` checks again (after an insert found no partition). */
  forget(): void {
    this.#known.clear();
    this.#aheadFrom = NaN;
  }

  /** Makes sure the partitions of `days` (and of today and the next days) exist. */
  async ensure(days: readonly number[]): Promise<void> {
    const today = Math.floor(Date.now() / DAY_MS);
    const ahead: number[] = [];
    if (today !== this.#aheadFrom) for (let d = 0; d <= AHEAD_DAYS; d++) ahead.push(today + d);
    const todo: number[] = [];
    const waits: Promise<void>[] = [];
    for (const d of [...days, ...ahead]) {
      if (this.#known.has(d) || todo.includes(d)) continue;
      const p = this.#pending.get(d);
      if (p) {
        if (!waits.includes(p)) waits.push(p);
      } else {
        todo.push(d);
      }
    }
    if (todo.length > 0) {
      const p = this.#create(todo);
      for (const d of todo) this.#pending.set(d, p);
      const clear = () => {
        for (const d of todo) if (this.#pending.get(d) === p) this.#pending.delete(d);
      };
      p.then(clear, clear);
      waits.push(p);
    }
    await Promise.all(waits);
    if (ahead.length > 0 && ahead.every((d) => this.#known.has(d))) this.#aheadFrom = today;
  }

  async #create(days: number[]): Promise<void> {
    days.sort((a, b) => a - b);
    await this.#run('create partitions', (client) =>
      transaction(client, async () => {
        // Waiting behind a long reader for the table lock would stall every writer queued behind us.
        await client.query(`SET LOCAL lock_timeout = '10s'`);
        await lockSchema(client, this.#schema, 'partitions');
        for (const d of days) await client.query(createPartitionSql(this.#s, d));
      }),
    );
    for (const d of days) this.#known.add(d);
  }
}
