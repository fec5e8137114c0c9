/**
 * Number and time formatting for the dashboard. Pure functions (no DOM), so they run under Node's test
 * runner. Formatting is fixed to en-US (comma thousands separators, dot decimals) so the numbers read the
 * same on every screen and in every screenshot; `Intl.NumberFormat` instances are cached because creating
 * one costs far more than formatting with it, and tables format on every frame.
 */

/** Shown for a missing or non-finite value. */
export const MISSING = '—';

// The minus sign, not the hyphen: it has the width of a digit, so signed columns stay aligned.
const MINUS = '\u2212';

const fixedFormats = new Map<number, Intl.NumberFormat>();

function fixed(decimals: number): Intl.NumberFormat {
  let f = fixedFormats.get(decimals);
  if (f === undefined) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    fixedFormats.set(decimals, f);
  }
  return f;
}

const compactFormat = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/**
 * Decimal places for a price of this magnitude: two from 1 up (cents, and BTC at 67,234.50), four
 * between 0.01 and 1, and four significant digits below that (0.00001234), capped at 10.
 */
export function priceDecimals(price: number): number {
  const a = Math.abs(price);
  if (!Number.isFinite(a) || a === 0 || a >= 1) return 2;
  if (a >= 0.01) return 4;
  return Math.min(10, 3 - Math.floor(Math.log10(a)));
}

/** A price with thousands separators; `decimals` defaults to what its magnitude needs. */
export function formatPrice(price: number | null | undefined, decimals?: number): string {
  if (price === null || price === undefined || !Number.isFinite(price)) return MISSING;
  return fixed(decimals ?? priceDecimals(price)).format(price);
}

/** A signed percentage with two decimals: `+1.23%`, `−0.45%`, `0.00%`. */
export function formatPct(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return MISSING;
  const text = fixed(2).format(Math.abs(pct));
  if (text === '0.00') return '0.00%';
  return `${pct > 0 ? '+' : MINUS}${text}%`;
}

/** A fraction 0…1 as a percentage (`0.9987` → `99.87%`). */
export function formatRatio(fraction: number | null | undefined, decimals = 2): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return MISSING;
  return `${fixed(decimals).format(fraction * 100)}%`;
}

/** An integer count with thousands separators (rounded). */
export function formatInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return MISSING;
  return fixed(0).format(Math.round(n));
}

/** A rate or size: one decimal below 100 (none for whole numbers), whole numbers with separators above. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return MISSING;
  return fixed(Math.abs(n) >= 100 || Number.isInteger(n) ? 0 : 1).format(n);
}

const sizeSmall = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 });
const sizeLarge = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });

/**
 * A traded size: whole numbers with separators (1,500), fractional sizes as precise as they matter
 * (2.5, 0.2164, 0.006614: four decimals from 1 up, four significant digits below), so a crypto trade
 * of 0.02 never reads as 0.0.
 */
export function formatSize(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return MISSING;
  if (Number.isInteger(n)) return fixed(0).format(n);
  return (Math.abs(n) >= 1 ? sizeLarge : sizeSmall).format(n);
}

/** Large counts in short form: `1.2K`, `3.4M`. */
export function formatCompact(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return MISSING;
  return compactFormat.format(n);
}

/** A latency in milliseconds: `0.42 ms`, `12.3 ms`, `340 ms`, `1.25 s`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return MISSING;
  const a = Math.abs(ms);
  if (a >= 1000) return `${fixed(2).format(ms / 1000)} s`;
  if (a >= 100) return `${fixed(0).format(ms)} ms`;
  if (a >= 10) return `${fixed(1).format(ms)} ms`;
  return `${fixed(2).format(ms)} ms`;
}

/**
 * How long ago something happened, compact enough for a table cell: `0.4s`, `12s`, `3m 05s`, `2h 03m`,
 * `3d 04h`. A negative age (the event time is ahead of this machine's clock) reads `0.0s`: the clocks
 * disagree, the price is not from the future.
 */
export function formatAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return MISSING;
  const a = Math.max(0, ms);
  if (a < 10_000) return `${(Math.floor(a / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(a / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${pad2(h % 24)}h`;
}

/** A wait in whole seconds for a person: `45 s`, `14 min 32 s`, `1 h 05 min`. */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${pad2(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${pad2(m % 60)} min`;
}

/** An ISO timestamp as `YYYY-MM-DD HH:MM:SS.mmm` UTC (the API's times are UTC; so is the chart). */
export function formatUtc(iso: string | null | undefined, withMillis = true): string {
  if (iso === null || iso === undefined || iso === '') return MISSING;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,9})?/.exec(iso);
  if (m === null) return iso;
  const frac = withMillis ? (m[3] ?? '.000').padEnd(4, '0').slice(0, 4) : '';
  return `${m[1]} ${m[2]}${frac}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
