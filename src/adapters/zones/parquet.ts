import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { TicklineError, show } from '../../core/errors.ts';
import { formatIsoMicros } from '../../core/time.ts';
import { syncFile } from './files.ts';
import { errText } from './writers.ts';

/** Column types of curated Parquet files; JSON lines are read with exactly these. */
const JSON_COLUMNS =
  "{symbol: 'VARCHAR', ts: 'TIMESTAMPTZ', price: 'DOUBLE', size: 'DOUBLE', bid: 'DOUBLE', ask: 'DOUBLE', " +
  "currency: 'VARCHAR', provider: 'VARCHAR', seq: 'BIGINT', received_at: 'TIMESTAMPTZ'}";
const COLUMNS = 'symbol, ts, price, size, bid, ask, currency, provider, seq, received_at';
/**
 * (symbol, ts, provider, seq) as documented, then every other column: rows equal in the first four
 * would otherwise come out in whatever order the sort left them, and the same rows must always give
 * the same bytes. Rows equal in every column are indistinguishable, so the order is total.
 */
const ORDER = 'symbol, ts, provider, seq, received_at, price, size, bid, ask, currency';
const PARQUET = '(FORMAT parquet, COMPRESSION zstd)';
/** Read back as the JSON-line shape: µs and seq as doubles (exact below 2^53), formatted in JS. */
const READ_COLUMNS =
  'symbol, epoch_us(ts)::DOUBLE, price, size, bid, ask, currency, provider, seq::DOUBLE, epoch_us(received_at)::DOUBLE';

export interface ParquetOptions {
  /** Where DuckDB may spill while sorting a large hour. */
  tempDir: string;
  /** DuckDB threads. Output bytes do not depend on it (checked by the tests). */
  threads?: number;
  memoryLimit?: string;
}

/**
 * Writes and reads the curated zone's Parquet files with an in-memory DuckDB (parquet and json are
 * built into @duckdb/node-api). Writes run one at a time on one connection; each read gets its own
 * connection so a slow consumer does not hold up sealing. The instance is created on first use, so
 * zones that never touch Parquet never load DuckDB.
 */
export class ParquetFiles {
  readonly #o: ParquetOptions;
  #instance: Promise<DuckDBInstance> | null = null;
  #writer: Promise<DuckDBConnection> | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  #reads = 0;

  constructor(options: ParquetOptions) {
    this.#o = options;
  }

  /**
   * Writes the JSON lines of `sources` (tick fields; other keys are ignored) as one Parquet file at
   * `dest`, rows sorted, and syncs it. The same rows always give the same bytes with one DuckDB version.
   */
  fromJsonLines(sources: readonly string[], dest: string): Promise<void> {
    const from = `read_json(${list(sources)}, format = 'newline_delimited', columns = ${JSON_COLUMNS})`;
    return this.#copy(`COPY (SELECT ${COLUMNS} FROM ${from} ORDER BY ${ORDER}) TO ${literal(dest)} ${PARQUET}`, dest);
  }

  /** Merges curated Parquet files into one at `dest`, rows sorted as above, and syncs it. */
  merge(sources: readonly string[], dest: string): Promise<void> {
    return this.#copy(`COPY (SELECT ${COLUMNS} FROM read_parquet(${list(sources)}) ORDER BY ${ORDER}) TO ${literal(dest)} ${PARQUET}`, dest);
  }

  /** Rows of a curated Parquet file with event time in `[from, to)` (±Infinity: open), in file order. */
  async *rows(path: string, from: number, to: number): AsyncGenerator<Array<Record<string, unknown>>> {
    const where: string[] = [];
    if (Number.isFinite(from)) where.push(`epoch_us(ts) >= ${Math.ceil(from)}`);
    if (Number.isFinite(to)) where.push(`epoch_us(ts) < ${Math.ceil(to)}`);
    const sql = `SELECT ${READ_COLUMNS} FROM read_parquet(${literal(path)})${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
    this.#reads++;
    let con: DuckDBConnection | null = null;
    try {
      con = await (await this.#db()).connect();
      const result = await con.stream(sql);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        const c = chunk.getColumns();
        const n = chunk.rowCount;
        const out = new Array<Record<string, unknown>>(n);
        for (let i = 0; i < n; i++) {
          out[i] = {
            symbol: c[0]![i],
            ts: formatIsoMicros(c[1]![i] as number),
            price: c[2]![i],
            size: c[3]![i],
            bid: c[4]![i],
            ask: c[5]![i],
            currency: c[6]![i],
            provider: c[7]![i],
            seq: c[8]![i],
            received_at: formatIsoMicros(c[9]![i] as number),
          };
        }
        yield out;
      }
    } catch (cause) {
      throw new TicklineError('TL_ERR_ZONE', `zones: cannot read Parquet file ${show(path)}: ${errText(cause)}`, { cause });
    } finally {
      con?.closeSync();
      this.#reads--;
    }
  }

  /** Waits for writes in flight, then releases DuckDB. Reads still running keep it until they end. */
  async close(): Promise<void> {
    await this.#chain.catch(() => {});
    const instance = this.#instance;
    if (instance === null) return;
    this.#instance = null;
    const writer = this.#writer;
    this.#writer = null;
    try {
      (await writer)?.closeSync();
      if (this.#reads === 0) (await instance).closeSync();
    } catch {
      // It failed to start: nothing to release.
    }
  }

  #db(): Promise<DuckDBInstance> {
    this.#instance ??= DuckDBInstance.create(':memory:', {
      threads: String(this.#o.threads ?? 2),
      memory_limit: this.#o.memoryLimit ?? '256MB',
      temp_directory: this.#o.tempDir,
    });
    return this.#instance;
  }

  #copy(sql: string, dest: string): Promise<void> {
    const run = async (): Promise<void> => {
      try {
        this.#writer ??= this.#db().then((db) => db.connect());
        await (await this.#writer).run(sql);
        await syncFile(dest);
      } catch (cause) {
        throw new TicklineError('TL_ERR_ZONE', `zones: cannot write Parquet file ${show(dest)}: ${errText(cause)}`, { cause });
      }
    };
    const p = this.#chain.then(run, run);
    this.#chain = p.catch(() => {});
    return p;
  }
}

function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function list(paths: readonly string[]): string {
  return `[${paths.map(literal).join(', ')}]`;
}
