/** SQL of the DuckDB store: the versioned schema and the statements the worker runs. */

const BAR_COLUMNS_DDL = `
  symbol VARCHAR NOT NULL,
  "interval" VARCHAR NOT NULL,
  "start" TIMESTAMP NOT NULL,
  open DOUBLE NOT NULL,
  high DOUBLE NOT NULL,
  low DOUBLE NOT NULL,
  close DOUBLE NOT NULL,
  volume DOUBLE NOT NULL,
  trades BIGINT NOT NULL,
  first_ts TIMESTAMP NOT NULL,
  last_ts TIMESTAMP NOT NULL`;

export interface Migration {
  version: number;
  statements: readonly string[];
}

/**
 * Applied in order by `init()`, each in its own transaction, and recorded in `schema_migrations`.
 * Never edit a released migration: add the next version instead.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      // No primary key on ticks: it would turn every append into index maintenance, and history is
      // append-only, so rowid is a stable tiebreaker for paging.
      `CREATE TABLE ticks (
        symbol VARCHAR NOT NULL,
        ts TIMESTAMP NOT NULL,
        price DOUBLE NOT NULL,
        size DOUBLE NOT NULL,
        bid DOUBLE,
        ask DOUBLE,
        currency VARCHAR NOT NULL,
        provider VARCHAR NOT NULL,
        seq BIGINT,
        recv_ts TIMESTAMP NOT NULL
      )`,
      `CREATE TABLE bars (${BAR_COLUMNS_DDL}, PRIMARY KEY (symbol, "interval", "start"))`,
      // Partial bars as written, appended in the write's transaction and folded into `bars` in bulk
      // later (see COMPACT_BARS). An upsert per write costs more than the ticks' append itself, and
      // reads merge both tables, so the result is the same.
      `CREATE TABLE bar_parts (${BAR_COLUMNS_DDL})`,
    ],
  },
];

/** Tick columns as read back: timestamps as exact µs (DOUBLE holds integers up to 2^53 exactly). */
export const TICK_SELECT =
  'symbol, epoch_us(ts)::DOUBLE, price, size, bid, ask, currency, provider, seq::DOUBLE, epoch_us(recv_ts)::DOUBLE';

const BAR_KEY = 'symbol, "interval", "start"';

/**
 * mergeBar over several partial bars of one bucket at once: open from the smallest (first_ts, ord),
 * close from the largest (last_ts, ord), where `ord` is merge order. Ties therefore go to the earlier
 * part for open and to the later part for close, exactly as merging them one by one with mergeBar.
 */
const MERGED_COLUMNS = `symbol, "interval", "start",
  arg_min(open, (first_ts, ord)), max(high), min(low), arg_max(close, (last_ts, ord)),
  sum(volume), sum(trades), min(first_ts), max(last_ts)`;

/**
 * Folds every pending part into `bars`, in one transaction with `DELETE FROM bar_parts`. Parts merge in
 * append (rowid) order; the stored bar counts as earlier than all of them (`mergeBar(stored, parts)`).
 */
export const COMPACT_BARS = `INSERT INTO bars
  SELECT ${MERGED_COLUMNS} FROM (SELECT *, rowid AS ord FROM bar_parts) GROUP BY ${BAR_KEY}
  ON CONFLICT (${BAR_KEY}) DO UPDATE SET
    open = CASE WHEN excluded.first_ts < bars.first_ts THEN excluded.open ELSE bars.open END,
    close = CASE WHEN excluded.last_ts >= bars.last_ts THEN excluded.close ELSE bars.close END,
    high = greatest(bars.high, excluded.high),
    low = least(bars.low, excluded.low),
    volume = bars.volume + excluded.volume,
    trades = bars.trades + excluded.trades,
    first_ts = least(bars.first_ts, excluded.first_ts),
    last_ts = greatest(bars.last_ts, excluded.last_ts)`;

/** Bars as readers see them: stored bars merged with the parts not yet compacted. `where` filters both. */
export function mergedBarsSql(where: string, limit: number): string {
  return `SELECT symbol, "interval", epoch_us("start")::DOUBLE, arg_min(open, (first_ts, ord)), max(high), min(low),
      arg_max(close, (last_ts, ord)), sum(volume), sum(trades)::DOUBLE, epoch_us(min(first_ts))::DOUBLE, epoch_us(max(last_ts))::DOUBLE
    FROM (SELECT *, -1::BIGINT AS ord FROM bars WHERE ${where} UNION ALL SELECT *, rowid AS ord FROM bar_parts WHERE ${where})
    GROUP BY ${BAR_KEY} ORDER BY "start" DESC LIMIT ${limit}`;
}

/**
 * `putBars`: the given bars are appended to this connection's temporary `bars_put`, then, in one
 * transaction, pending parts of the same keys are dropped (the given bar replaces them too) and the bars
 * are upserted with every column overwritten.
 */
export const PUT_BARS_TEMP = `CREATE TEMP TABLE IF NOT EXISTS bars_put (${BAR_COLUMNS_DDL})`;
export const PUT_BARS_DROP_PARTS = `DELETE FROM bar_parts USING bars_put
  WHERE bar_parts.symbol = bars_put.symbol AND bar_parts."interval" = bars_put."interval" AND bar_parts."start" = bars_put."start"`;
export const PUT_BARS_UPSERT = `INSERT INTO bars SELECT * FROM bars_put
  ON CONFLICT (${BAR_KEY}) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, trades = excluded.trades, first_ts = excluded.first_ts, last_ts = excluded.last_ts`;
export const PUT_BARS_CLEAR = 'DELETE FROM bars_put';
