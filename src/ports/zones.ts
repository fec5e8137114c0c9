import type { Tick } from '../core/tick.ts';
import type { Health } from './health.ts';

/** `raw`: everything a source delivered; `curated`: what passed the checks; `quarantine`: what failed, with why. */
export const ZONE_NAMES = ['raw', 'curated', 'quarantine'] as const;
export type ZoneName = (typeof ZONE_NAMES)[number];

/** Extra fields stored next to a tick, e.g. the quarantine reason. Keys must not clash with tick fields. */
export type ZoneAnnotation = Readonly<Record<string, string | number | boolean | null>>;

/**
 * Files of ticks laid out as Hive partitions so DuckDB, Athena and Glue read them directly:
 * `{zone}/{dataset}/date=YYYY-MM-DD/hour=HH/part-….jsonl`, partitioned by the tick's event time (UTC).
 *
 * Guarantees: `append` resolves once the rows are written to the operating system (and survive a
 * process crash); files become visible to readers only when complete (written under a hidden name,
 * then renamed), so a reader never sees a half-written line.
 * Deliberately left out: updates and deletes (retention removes whole partitions).
 */
export interface Zones {
  readonly kind: string;
  append(zone: ZoneName, dataset: string, ticks: readonly Tick[], annotations?: readonly ZoneAnnotation[]): Promise<void>;
  /** Makes everything appended so far visible as complete files. */
  flush(): Promise<void>;
  /** Visible files of a zone, as paths relative to the zone root, sorted. */
  list(zone: ZoneName, dataset?: string): Promise<string[]>;
  health(): Promise<Health>;
  close(): Promise<void>;
}
