import { TicklineError, show } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { parseDurationMicros, type Micros } from '../../core/time.ts';
import type { ZoneName } from '../../ports/zones.ts';
import { checkZone } from './layout.ts';

export interface StagedZonesOptions {
  /** A staged file is rolled (made a part) once it holds at least this many bytes. Default 64 MiB. */
  rollBytes?: number;
  /** A raw/quarantine file is rolled once it is this old, in ms. Default 60 s. */
  rollMs?: number;
  /** Most staged files open at once; the least recently used one is rolled beyond that. Default 64. */
  maxOpen?: number;
  /** Raw parts as `.jsonl.gz`, each a complete gzip stream. Default false. */
  rawGzip?: boolean;
  /** A curated hour's staged rows become Parquet this long after the hour ends (or after they started, for past hours), in ms. Default 5 min. */
  curatedGraceMs?: number;
  /** A curated hour with more Parquet parts than this is merged into one. Default 4. */
  compactAt?: number;
  /** Retention per zone, in µs; a zone without one keeps everything. */
  retain?: Partial<Record<ZoneName, Micros>>;
  /** Attempts to publish (upload) a file before it is left staged for a later retry. Default 5. */
  publishAttempts?: number;
  /** First delay between publish attempts, doubling up to 5 s, in ms. Default 200. */
  retryBaseMs?: number;
  /**
   * False when another process owns this staging directory (e.g. an `api` role beside the `process`
   * role on one `file://` directory): then opening neither recovers nor clears what is staged there,
   * because those files are the owner's work in progress, not a crash's leftovers. Default true.
   */
  owner?: boolean;
  logger?: Logger;
}

/** Options every zones URL takes as query parameters. */
export const COMMON_OPTIONS = [
  'rollBytes',
  'rollMs',
  'maxOpen',
  'rawGzip',
  'curatedGraceMs',
  'compactAt',
  'retainRaw',
  'retainCurated',
  'retainQuarantine',
] as const;

const POSITIVE = new Set(['rollBytes', 'rollMs', 'maxOpen', 'compactAt']);
const RETAIN: Record<string, ZoneName> = { retainRaw: 'raw', retainCurated: 'curated', retainQuarantine: 'quarantine' };

/**
 * Reads the zones options of a URL's query, plus the scheme's own `extra` keys (returned as text).
 * An unknown key or a bad value fails naming both, so a typo never silently means a default.
 */
export function zonesOptionsFromUrl(url: URL, extra: readonly string[] = []): { options: StagedZonesOptions; extra: Map<string, string> } {
  const options: StagedZonesOptions = {};
  const own = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (extra.includes(key)) {
      own.set(key, value);
    } else if (POSITIVE.has(key)) {
      options[key as 'rollBytes'] = integer(key, value, 1);
    } else if (key === 'curatedGraceMs') {
      options.curatedGraceMs = integer(key, value, 0);
    } else if (key === 'rawGzip') {
      options.rawGzip = bool(key, value);
    } else if (key in RETAIN) {
      const us = parseDurationMicros(value);
      if (us === undefined || us <= 0) {
        throw new TicklineError('TL_ERR_CONFIG', `zones: ${key} must be a duration such as 36h or 7d, got ${show(value)}`);
      }
      options.retain = { ...options.retain, [RETAIN[key]!]: us };
    } else {
      const known = [...COMMON_OPTIONS, ...extra].join(', ');
      throw new TicklineError('TL_ERR_CONFIG', `zones: unknown option ${show(key)} in ${show(url.href)}; known: ${known}`);
    }
  }
  return { options, extra: own };
}

function integer(key: string, value: string, min: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new TicklineError('TL_ERR_CONFIG', `zones: ${key} must be ${min === 0 ? 'an integer >= 0' : 'a positive integer'}, got ${show(value)}`);
  }
  return n;
}

export function bool(key: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new TicklineError('TL_ERR_CONFIG', `zones: ${key} must be true or false, got ${show(value)}`);
}

export const DEFAULT_ROLL_BYTES = 64 * 1024 * 1024;
export const DEFAULT_ROLL_MS = 60_000;
export const DEFAULT_MAX_OPEN = 64;
export const DEFAULT_CURATED_GRACE_MS = 5 * 60_000;
export const DEFAULT_COMPACT_AT = 4;
const DEFAULT_PUBLISH_ATTEMPTS = 5;
const DEFAULT_RETRY_BASE_MS = 200;

export interface ResolvedZonesOptions {
  owner: boolean;
  rollBytes: number;
  rollMs: number;
  maxOpen: number;
  rawGzip: boolean;
  curatedGraceMs: number;
  compactAt: number;
  retain: Partial<Record<ZoneName, Micros>>;
  publishAttempts: number;
  retryBaseMs: number;
}

/** Validated options with defaults filled in; bad values fail with TL_ERR_CONFIG naming them. */
export function resolveOptions(o: StagedZonesOptions): ResolvedZonesOptions {
  const retain: Partial<Record<ZoneName, Micros>> = {};
  for (const [zone, us] of Object.entries(o.retain ?? {})) {
    checkZone(zone);
    if (typeof us !== 'number' || !Number.isFinite(us) || us <= 0) {
      throw new TicklineError('TL_ERR_CONFIG', `zones: retention of ${zone} must be a positive duration, got ${show(us)}`);
    }
    retain[zone] = us;
  }
  if (o.rawGzip !== undefined && typeof o.rawGzip !== 'boolean') {
    throw new TicklineError('TL_ERR_CONFIG', `zones: rawGzip must be true or false, got ${show(o.rawGzip)}`);
  }
  return {
    rollBytes: positiveInt(o.rollBytes, DEFAULT_ROLL_BYTES, 'rollBytes'),
    rollMs: positiveInt(o.rollMs, DEFAULT_ROLL_MS, 'rollMs'),
    maxOpen: positiveInt(o.maxOpen, DEFAULT_MAX_OPEN, 'maxOpen'),
    rawGzip: o.rawGzip ?? false,
    curatedGraceMs: nonNegativeInt(o.curatedGraceMs, DEFAULT_CURATED_GRACE_MS, 'curatedGraceMs'),
    compactAt: positiveInt(o.compactAt, DEFAULT_COMPACT_AT, 'compactAt'),
    retain,
    publishAttempts: positiveInt(o.publishAttempts, DEFAULT_PUBLISH_ATTEMPTS, 'publishAttempts'),
    retryBaseMs: positiveInt(o.retryBaseMs, DEFAULT_RETRY_BASE_MS, 'retryBaseMs'),
    owner: o.owner ?? true,
  };
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TicklineError('TL_ERR_CONFIG', `zones: ${name} must be a positive integer, got ${show(value)}`);
  }
  return value;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TicklineError('TL_ERR_CONFIG', `zones: ${name} must be an integer >= 0, got ${show(value)}`);
  }
  return value;
}
