import type { Tick } from '../core/tick.ts';
import type { Micros } from '../core/time.ts';
import type { Health } from './health.ts';

/** `raw`: everything a source delivered; `curated`: what passed the checks; `quarantine`: what failed, with why. */
export const ZONE_NAMES = ['raw', 'curated', 'quarantine'] as const;
export type ZoneName = (typeof ZONE_NAMES)[number];

/** Extra fields stored next to a tick, e.g. the quarantine reason. Keys must not clash with tick fields. */
export type ZoneAnnotation = Readonly<Record<string, string | number | boolean | null>>;

/** Event-time range `[from, to)` in µs; a missing bound is open. */
export interface ZoneRange {
  from?: Micros;
  to?: Micros;
}

/**
 * Files of ticks laid out as Hive partitions so DuckDB, Athena and Glue read them directly:
 * `{zone}/{dataset}/date=YYYY-MM-DD/hour=HH/part-….{jsonl|jsonl.gz|parquet}`, partitioned by the tick's
 * event time (UTC). `raw` and `quarantine` hold JSON lines (raw optionally gzipped), `curated` holds
 * Parquet with typed columns, a few files per hour at most (see docs/zones.md).
 *
 * Guarantees: `append` resolves once the rows are written to the operating system (and survive a
 * process crash: the next open publishes them); files become visible to readers only when complete
 * (written under a hidden name, then renamed, or uploaded in one request), so a reader never sees a
 * half-written file.
 * Deliberately left out: row updates and deletes (a curated hour is rewritten whole by `replaceHour`,
 * retention removes whole partitions).
 */
export interface Zones {
  readonly kind: string;
  append(zone: ZoneName, dataset: string, ticks: readonly Tick[], annotations?: readonly ZoneAnnotation[]): Promise<void>;
  /** Makes everything appended so far visible as complete files. */
  flush(): Promise<void>;
  /** Visible files of a zone (`.jsonl`, `.jsonl.gz`, `.parquet`), as paths relative to the zone root, sorted. */
  list(zone: ZoneName, dataset?: string): Promise<string[]>;
  /**
   * Rows of visible files of a zone whose event time is in range, as the JSON objects of the JSONL lines
   * (for Parquet: the same shape — ts/received_at as ISO strings with 6 fractional digits and `Z`,
   * numbers as numbers, nulls as null). Partition-pruned by date/hour; batches of at most 8192 rows,
   * in partition order, then file-name order, then row order within a file.
   */
  read(zone: ZoneName, dataset: string, range: ZoneRange): AsyncIterable<Array<Record<string, unknown>>>;
  /**
   * Replaces every curated file of the hour starting at `hourUs` with exactly `ticks` (sorted by symbol,
   * ts, provider, seq) in one Parquet file with a deterministic name; the same ticks always give a
   * byte-identical file, and no ticks leave the hour without files. Curated rows of that hour appended
   * before the call are replaced too. The new file is visible before the old ones are removed, and a
   * crash in between is finished on the next open (no duplicates, no loss).
   */
  replaceHour(dataset: string, hourUs: Micros, ticks: readonly Tick[]): Promise<void>;
  /**
   * Small JSON documents next to the zones (validation runs, release records): a key like
   * `quality/runs/2026-11-21/<id>.json` under a `_docs/` root; a put replaces the document atomically.
   * Keys use `[A-Za-z0-9._/=-]`, are relative, and no segment is empty or starts with a dot.
   */
  putDoc(key: string, body: string): Promise<void>;
  /** The document's text, or null when there is none. */
  getDoc(key: string): Promise<string | null>;
  /** Keys starting with `prefix` (a plain string prefix, e.g. `quality/runs/`), sorted. */
  listDocs(prefix: string): Promise<string[]>;
  /** Deletes whole hour partitions older than each zone's retention; returns how many files it deleted. */
  applyRetention(nowUs: Micros): Promise<number>;
  health(): Promise<Health>;
  close(): Promise<void>;
}
