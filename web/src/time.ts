/**
 * Timestamps from the API are ISO 8601 UTC with microseconds (`2024-01-02T15:04:05.123456Z`). Browsers'
 * `Date.parse` is only required to understand milliseconds, so the fraction is parsed here and kept as a
 * fractional millisecond.
 */

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/** Milliseconds since the epoch (fraction = sub-millisecond part), or NaN when `iso` is not a timestamp. */
export function isoToMs(iso: string): number {
  const m = ISO_RE.exec(iso);
  if (m === null) return Number.NaN;
  const whole = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const frac = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  return whole + frac - offsetMs(m[8]);
}

// A missing zone means UTC: that is what the API writes.
function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

/**
 * Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or null when absent or
 * unreadable. Never negative.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | null {
  if (header === null || header === undefined) return null;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v);
  // HTTP dates start with the day's name ("Wed, 01 May 2024 12:01:30 GMT"); `Date.parse` alone would
  // also take "-3" for a year.
  if (!/^[A-Za-z]{3}/.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}
