import { randomBytes } from 'node:crypto';
import { TicklineError, show } from '../../core/errors.ts';
import { nowMicros, partitionOf, type Micros } from '../../core/time.ts';
import { ZONE_NAMES, type ZoneName, type ZoneRange } from '../../ports/zones.ts';

/**
 * Names of everything under a zones root, visible or hidden. The rule that keeps readers safe: every
 * visible data file is `part-<id>.{jsonl|jsonl.gz|parquet}`, and every file that may be incomplete or
 * transient starts with a dot and ends in a suffix no reader globs for (`.inprogress`, `.pending`,
 * `.json` manifests), so `**\/*.parquet` or `**\/*.jsonl` never picks one up.
 */

export const HOUR_US = 3_600_000_000;
export const DAY_US = 24 * HOUR_US;

export type PartFormat = 'jsonl' | 'jsonl.gz' | 'parquet';

/** A visible part. */
export const PART_RE = /^part-[^/\\]+\.(?:jsonl|jsonl\.gz|parquet)$/;
/** A staged file still taking appends (JSON lines whatever the part it becomes); group 1 is that part's name. */
export const INPROGRESS_RE = /^\.(part-[^/\\]+\.(?:jsonl|jsonl\.gz|parquet))\.inprogress$/;
/** Suffix of hidden, complete-but-unpublished outputs (gzip/Parquet conversions, merges, replacements). */
export const PENDING_SUFFIX = '.pending';
/** A swap manifest: "publish this output, then delete those inputs", see StagedZones. */
export const SWAP_RE = /^\.swap-[^/\\]+\.json$/;
/** Root of the small documents, beside the zone directories. */
export const DOCS_ROOT = '_docs';

const DATASET_RE = /^[a-z0-9_-]+$/;
const DOC_SEGMENT_RE = /^[A-Za-z0-9_=-][A-Za-z0-9._=-]*$/;
const MAX_DOC_KEY = 512;

export function formatOf(name: string): PartFormat | undefined {
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.jsonl.gz')) return 'jsonl.gz';
  if (name.endsWith('.jsonl')) return 'jsonl';
  return undefined;
}

/** `{zone}/{dataset}/date=YYYY-MM-DD/hour=HH` of an hour index (µs / HOUR_US). */
export function partitionPrefix(zone: ZoneName, dataset: string, hour: number): string {
  const { date, hour: hh } = partitionOf(hour * HOUR_US);
  return `${zone}/${dataset}/date=${date}/hour=${hh}`;
}

/** Start in µs of a `date=YYYY-MM-DD` directory name, or undefined when it is not one. */
export function dateDirStart(name: string): Micros | undefined {
  const m = /^date=(\d{4})-(\d{2})-(\d{2})$/.exec(name);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(ms) ? undefined : ms * 1000;
}

/** Offset in µs of an `hour=HH` directory name within its day, or undefined when it is not one. */
export function hourDirOffset(name: string): Micros | undefined {
  const m = /^hour=(\d{2})$/.exec(name);
  if (!m || Number(m[1]) > 23) return undefined;
  return Number(m[1]) * HOUR_US;
}

/** File ids: creation time in µs (so names sort in creation order) plus a per-instance random tag. */
export class IdSource {
  readonly #tag = randomBytes(4).toString('hex');
  #lastUs = 0;

  next(): string {
    const us = Math.max(nowMicros(), this.#lastUs + 1);
    this.#lastUs = us;
    return `${String(us).padStart(17, '0')}-${this.#tag}`;
  }
}

export function checkZone(zone: string): asserts zone is ZoneName {
  if (!(ZONE_NAMES as readonly string[]).includes(zone)) {
    throw new TicklineError('TL_ERR_ZONE', `zones: unknown zone ${show(zone)}; known: ${ZONE_NAMES.join(', ')}`);
  }
}

export function checkDataset(dataset: string): void {
  if (typeof dataset !== 'string' || !DATASET_RE.test(dataset)) {
    throw new TicklineError('TL_ERR_ZONE', `zones: dataset ${show(dataset)} must match [a-z0-9_-]+`);
  }
}

/**
 * Document keys reach the filesystem and object keys, and later come from API parameters: only
 * `[A-Za-z0-9._/=-]`, relative, no empty segment, and no segment starting with a dot (which also rules
 * out `.` and `..`, and keeps the hidden names of temporary files out of reach).
 */
export function checkDocKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_DOC_KEY || !key.split('/').every((s) => DOC_SEGMENT_RE.test(s))) {
    throw new TicklineError(
      'TL_ERR_ZONE',
      `zones: document key ${show(key)} must be a relative path of [A-Za-z0-9._=-] segments joined by "/", none empty or starting with ".", at most ${MAX_DOC_KEY} characters`,
    );
  }
}

/** A listing prefix: empty, or a key, optionally ending with "/" (its last segment may be partial). */
export function checkDocPrefix(prefix: string): void {
  if (prefix === '') return;
  const body = typeof prefix === 'string' && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  try {
    checkDocKey(body);
  } catch {
    throw new TicklineError('TL_ERR_ZONE', `zones: document prefix ${show(prefix)} must be empty or a document key, optionally ending with "/"`);
  }
}

/** Validated `[from, to)`, open bounds as ±Infinity. */
export function checkRange(range: ZoneRange): { from: number; to: number } {
  const bound = (v: unknown, name: string, open: number): number => {
    if (v === undefined || v === null) return open;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TicklineError('TL_ERR_ZONE', `zones: read range.${name} must be µs since the epoch, got ${show(v)}`);
    }
    return v;
  };
  return { from: bound(range?.from, 'from', -Infinity), to: bound(range?.to, 'to', Infinity) };
}
