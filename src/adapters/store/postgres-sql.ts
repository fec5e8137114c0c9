/** SQL of the Postgres store: the versioned schema and the statements of the write path. */
import { INTERVALS, INTERVAL_MICROS } from '../../core/bar.ts';

export interface Migration {
  version: number;
  name: string;
  /** The statements, given the quoted schema name. */
  statements(s: string): string[];
}

/** Columns of `ticks`, in COPY order (see postgres-copy.ts, which encodes rows in exactly this order). */
export const TICK_COLUMNS = 'symbol, ts, price, size, bid, ask, currency, provider, seq, recv_ts';

export const TICK_COLUMNS_DDL = `
  symbol text COLLATE "C" NOT NULL,
  ts timestamptz NOT NULL,
  price float8 NOT NULL,
  size float8 NOT NULL,
  bid float8,
  ask float8,
  currency text COLLATE "C" NOT NULL,
  provider text COLLATE "C" NOT NULL,
  seq bigint,
  recv_ts timestamptz NOT NULL`;

/**
 * Applied in order by `init()`, each in its own transaction under an advisory lock, and recorded in
 * `schema_migrations`. Never edit a released migration: add the next version instead.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'ticks partitioned by day, bars, symbol_days',
    statements: (s) => [
      // The identity (provider, symbol, ts, seq) is unique so that re-delivery adds no row; NULLS NOT
      // DISTINCT makes a tick without seq count once too. Its column order serves the reads as well
      // (symbol = ?, ts range, ordered by ts then provider, seq), so it is the only index.
      // "C" collation: byte-order comparisons are cheaper, and ordering does not depend on the locale.
      `CREATE TABLE ${s}.ticks (${TICK_COLUMNS_DDL},
        CONSTRAINT ticks_identity UNIQUE NULLS NOT DISTINCT (symbol, ts, provider, seq)
      ) PARTITION BY RANGE (ts)`,
      // fillfactor leaves room on each page so that bar updates are HOT (no index churn).
      `CREATE TABLE ${s}.bars (
        symbol text COLLATE "C" NOT NULL,
        "interval" text COLLATE "C" NOT NULL,
        start timestamptz NOT NULL,
        open float8 NOT NULL,
        high float8 NOT NULL,
        low float8 NOT NULL,
        close float8 NOT NULL,
        volume float8 NOT NULL,
        trades bigint NOT NULL,
        first_ts timestamptz NOT NULL,
        last_ts timestamptz NOT NULL,
        PRIMARY KEY (symbol, "interval", start)
      ) WITH (fillfactor = 70)`,
      // Stored tick count and first/last event time per symbol and UTC day (days since the epoch),
      // kept in the write's transaction so that symbols() and latest() never scan the ticks.
      `CREATE TABLE ${s}.symbol_days (
        symbol text COLLATE "C" NOT NULL,
        day integer NOT NULL,
        ticks bigint NOT NULL,
        first_ts timestamptz NOT NULL,
        last_ts timestamptz NOT NULL,
        PRIMARY KEY (symbol, day)
      ) WITH (fillfactor = 70)`,
    ],
  },
];

export const DAY_US = 86_400_000_000;

/** `ticks_p20240102`: the partition holding one UTC day (days since the epoch). */
export function partitionName(day: number): string {
  return `ticks_p${new Date(day * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

const PARTITION_RE = /^ticks_p(\d{4})(\d{2})(\d{2})$/;

/** The day a partition name stands for, or null for names this store did not create. */
export function partitionDay(name: string): number | null {
  const m = PARTITION_RE.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isFinite(ms) ? ms / 86_400_000 : null;
}

export function createPartitionSql(s: string, day: number): string {
  const iso = (d: number) => new Date(d * 86_400_000).toISOString();
  return `CREATE TABLE IF NOT EXISTS ${s}.${partitionName(day)} PARTITION OF ${s}.ticks FOR VALUES FROM ('${iso(day)}') TO ('${iso(day + 1)}')`;
}

/** µs since the epoch (a float8 parameter or column) as timestamptz, exactly and independent of TimeZone. */
export function toTs(expr: string): string {
  return `('1970-01-01 00:00:00+00'::timestamptz + (${expr})::float8 * interval '1 microsecond')`;
}

/** timestamptz as µs since the epoch in a float8 (exact below 2^53 µs, i.e. until the year 2255). */
export function usOf(expr: string): string {
  return `(extract(epoch from ${expr}) * 1000000)::float8`;
}

/** mergeBar as an upsert: `excluded` is the newer part, ties keep the stored open and take the new close. */
const MERGE_BAR_SET = `
  open = CASE WHEN excluded.first_ts < b.first_ts THEN excluded.open ELSE b.open END,
  close = CASE WHEN excluded.last_ts >= b.last_ts THEN excluded.close ELSE b.close END,
  high = greatest(b.high, excluded.high),
  low = least(b.low, excluded.low),
  volume = b.volume + excluded.volume,
  trades = b.trades + excluded.trades,
  first_ts = least(b.first_ts, excluded.first_ts),
  last_ts = greatest(b.last_ts, excluded.last_ts)`;

const BAR_INSERT = (s: string) =>
  `INSERT INTO ${s}.bars AS b (symbol, "interval", start, open, high, low, close, volume, trades, first_ts, last_ts)`;

/**
 * Every writer locks rows in one global order — ticks (sorted by the batch preparation), then bars by
 * key, then symbol_days by key — so concurrent writers wait for each other but never deadlock.
 */
export interface WriteSql {
  copyTicks: string;
  copyStage: string;
  /**
   * Staged ticks into `ticks`, skipping identities already stored, and the inserted ones into `tl_new`
   * with their position in the batch; rowCount = ticks inserted.
   */
  insertStaged: string;
  barsFromArrays: string;
  barsFromInserted: string;
  daysFromArrays: string;
  daysFromInserted: string;
}

/** Per-connection scratch tables, emptied at every commit. */
export const TEMP_TABLES = [
  `CREATE TEMP TABLE IF NOT EXISTS tl_stage (${TICK_COLUMNS_DDL}) ON COMMIT DELETE ROWS`,
  `CREATE TEMP TABLE IF NOT EXISTS tl_new (symbol text COLLATE "C" NOT NULL, ts timestamptz NOT NULL,
     price float8 NOT NULL, size float8 NOT NULL, ord bigint NOT NULL) ON COMMIT DELETE ROWS`,
];

const WIDTHS = `(VALUES ${INTERVALS.map((i) => `('${i}', interval '${INTERVAL_MICROS[i] / 1_000_000} seconds')`).join(', ')}) AS iv(name, width)`;

export function writeSql(s: string): WriteSql {
  return {
    copyTicks: `COPY ${s}.ticks (${TICK_COLUMNS}) FROM STDIN (FORMAT binary)`,
    copyStage: `COPY tl_stage (${TICK_COLUMNS}) FROM STDIN (FORMAT binary)`,
    // A sequential scan of the just-filled temp table returns the rows in COPY order, i.e. the batch's
    // sorted order (temp tables are never scanned in synchronised, wrapped-around order), and RETURNING
    // gives them back in the order they were processed, so row_number() is the batch position.
    insertStaged: `WITH ins AS (
        INSERT INTO ${s}.ticks (${TICK_COLUMNS}) SELECT ${TICK_COLUMNS} FROM tl_stage
        ON CONFLICT DO NOTHING RETURNING symbol, ts, price, size)
      INSERT INTO tl_new (symbol, ts, price, size, ord) SELECT symbol, ts, price, size, row_number() OVER () FROM ins`,
    barsFromArrays: `${BAR_INSERT(s)}
      SELECT u.symbol, u.iv, ${toTs('u.start')}, u.open, u.high, u.low, u.close, u.volume, u.trades, ${toTs('u.first_ts')}, ${toTs('u.last_ts')}
      FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::bigint[], $10::float8[], $11::float8[])
        AS u(symbol, iv, start, open, high, low, close, volume, trades, first_ts, last_ts)
      ORDER BY u.symbol COLLATE "C", u.iv COLLATE "C", u.start
      ON CONFLICT (symbol, "interval", start) DO UPDATE SET ${MERGE_BAR_SET}`,
    // Open/close: the price of the smallest/largest (ts, batch position), compared as float8 arrays
    // (exact: µs and positions are integers below 2^53), so equal event times go to the earlier/later
    // tick of the batch, as aggregateBatch does. Ticks fold into 1s bars first and those into the
    // larger intervals (they nest, all aligned to the epoch), by hashing, without sorting.
    barsFromInserted: `${BAR_INSERT(s)}
      SELECT symbol, iv.name, date_bin(iv.width, p.start, '1970-01-01 00:00:00+00'::timestamptz) AS bucket,
        (min(ok))[3], max(high), min(low), (max(ck))[3], sum(volume), sum(trades), min(first_ts), max(last_ts)
      FROM (
        SELECT symbol, date_bin('1 second', ts, '1970-01-01 00:00:00+00'::timestamptz) AS start,
          min(ARRAY[us, ord::float8, price]) AS ok, max(ARRAY[us, ord::float8, price]) AS ck,
          max(price) AS high, min(price) AS low, sum(size) AS volume, count(*) AS trades, min(ts) AS first_ts, max(ts) AS last_ts
        FROM (SELECT *, ${usOf('ts')} AS us FROM tl_new) n GROUP BY 1, 2
      ) p CROSS JOIN ${WIDTHS}
      GROUP BY symbol, iv.name, bucket
      ORDER BY symbol, iv.name COLLATE "C", bucket
      ON CONFLICT (symbol, "interval", start) DO UPDATE SET ${MERGE_BAR_SET}`,
    daysFromArrays: `INSERT INTO ${s}.symbol_days AS d (symbol, day, ticks, first_ts, last_ts)
      SELECT u.symbol, u.day, u.ticks, ${toTs('u.first_ts')}, ${toTs('u.last_ts')}
      FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::float8[], $5::float8[]) AS u(symbol, day, ticks, first_ts, last_ts)
      ORDER BY u.symbol COLLATE "C", u.day
      ON CONFLICT (symbol, day) DO UPDATE SET ticks = d.ticks + excluded.ticks,
        first_ts = least(d.first_ts, excluded.first_ts), last_ts = greatest(d.last_ts, excluded.last_ts)`,
    daysFromInserted: `INSERT INTO ${s}.symbol_days AS d (symbol, day, ticks, first_ts, last_ts)
      SELECT symbol, floor(extract(epoch from ts) / 86400)::integer, count(*), min(ts), max(ts)
      FROM tl_new GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (symbol, day) DO UPDATE SET ticks = d.ticks + excluded.ticks,
        first_ts = least(d.first_ts, excluded.first_ts), last_ts = greatest(d.last_ts, excluded.last_ts)`,
  };
}

/** Rows per statement of `putBars`; all statements of one call run in one transaction. */
export const PUT_BARS_BATCH = 5_000;

/**
 * `putBars`: bars replace what is stored for their keys, every column overwritten. `$1…$11` are the
 * columns as arrays (symbol, interval, start, open, high, low, close, volume, trades, first_ts, last_ts;
 * times as µs). Rows are locked in key order, as every writer does, so concurrent writers never deadlock.
 */
export function putBarsSql(s: string): string {
  return `${BAR_INSERT(s)}
      SELECT u.symbol, u.iv, ${toTs('u.start')}, u.open, u.high, u.low, u.close, u.volume, u.trades, ${toTs('u.first_ts')}, ${toTs('u.last_ts')}
      FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::bigint[], $10::float8[], $11::float8[])
        AS u(symbol, iv, start, open, high, low, close, volume, trades, first_ts, last_ts)
      ORDER BY u.symbol COLLATE "C", u.iv COLLATE "C", u.start
      ON CONFLICT (symbol, "interval", start) DO UPDATE SET
        open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
        volume = excluded.volume, trades = excluded.trades, first_ts = excluded.first_ts, last_ts = excluded.last_ts`;
}
