/**
 * Time in Tickline is an integer count of microseconds since the Unix epoch, UTC, held in a JS number.
 * Numbers are exact up to 2^53 µs (year 2255), so no BigInt is needed on hot paths, and sources that
 * deliver microseconds keep them.
 */
export type Micros = number;

export const US_PER_MS = 1_000;
export const US_PER_S = 1_000_000;

/** Current wall-clock time in µs. `performance.timeOrigin + now()` gives sub-millisecond resolution. */
export function nowMicros(): Micros {
  return Math.round((performance.timeOrigin + performance.now()) * US_PER_MS);
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses an ISO 8601 date-time keeping microseconds (`Date.parse` stops at milliseconds).
 * A string without an offset is read as UTC. Returns `undefined` when the text is not a valid timestamp.
 */
export function parseIsoMicros(text: string): Micros | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) {
    // Date-only strings ("2024-01-02") are common in daily files.
    if (/^\d{4}-\d{2}-\d{2}$/.test(text.trim())) {
      const ms = Date.parse(`${text.trim()}T00:00:00Z`);
      return Number.isNaN(ms) ? undefined : ms * US_PER_MS;
    }
    return undefined;
  }
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  if (Number.isNaN(ms)) return undefined;
  // Reject out-of-range fields that Date.UTC would silently roll over (e.g. month 13, hour 25).
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi)
  ) {
    return undefined;
  }
  let us = ms * US_PER_MS;
  if (frac) us += Number(frac.padEnd(6, '0').slice(0, 6));
  if (tz && tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const offMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
    us -= sign * offMin * 60 * US_PER_S;
  }
  return us;
}

let cachedSecond = NaN;
let cachedPrefix = '';
let cachedSecond2 = NaN;
let cachedPrefix2 = '';

/**
 * Formats µs as ISO 8601 UTC with exactly six fractional digits: `2024-01-02T03:04:05.123456Z`.
 * Runs per tick (twice: event time and receive time) when zone files are written, so the
 * `YYYY-MM-DDTHH:MM:SS` prefixes of the two seconds seen last are cached: ticks arrive in near time
 * order, and a replay of old data alternates between an old event second and the current receive second.
 */
export function formatIsoMicros(us: Micros): string {
  const sec = Math.floor(us / US_PER_S);
  let prefix: string;
  if (sec === cachedSecond) {
    prefix = cachedPrefix;
  } else if (sec === cachedSecond2) {
    prefix = cachedPrefix2;
  } else {
    prefix = new Date(sec * 1000).toISOString().slice(0, 19);
    cachedSecond2 = cachedSecond;
    cachedPrefix2 = cachedPrefix;
    cachedSecond = sec;
    cachedPrefix = prefix;
  }
  const frac = us - sec * US_PER_S;
  return `${prefix}.${frac < 100000 ? String(frac).padStart(6, '0') : frac}Z`;
}

/**
 * Reads a timestamp given as an ISO string or as a number of seconds, milliseconds, microseconds or
 * nanoseconds since the epoch (the unit is inferred from the magnitude, as exchanges mix them).
 */
export function toMicros(value: unknown): Micros | undefined {
  if (typeof value === 'string') {
    if (/^-?\d+(\.\d+)?$/.test(value.trim())) return toMicros(Number(value));
    return parseIsoMicros(value);
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
  if (value < 1e11) return Math.round(value * US_PER_S); // seconds (until year 5138)
  if (value < 1e14) return Math.round(value * US_PER_MS); // milliseconds
  if (value < 1e17) return Math.round(value); // microseconds
  return Math.round(value / 1_000); // nanoseconds
}

/** UTC `YYYY-MM-DD` and `HH` of a µs timestamp, for Hive partitions. */
export function partitionOf(us: Micros): { date: string; hour: string } {
  const iso = new Date(Math.floor(us / US_PER_MS)).toISOString();
  return { date: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** Parses durations such as `500ms`, `5s`, `2m`, `1h`, `1d` into µs. */
export function parseDurationMicros(text: string): Micros | undefined {
  const m = /^(\d+(?:\.\d+)?)(us|µs|ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2];
  const mult =
    unit === 'us' || unit === 'µs'
      ? 1
      : unit === 'ms'
        ? US_PER_MS
        : unit === 's'
          ? US_PER_S
          : unit === 'm'
            ? 60 * US_PER_S
            : unit === 'h'
              ? 3600 * US_PER_S
              : 86400 * US_PER_S;
  return Math.round(n * mult);
}
