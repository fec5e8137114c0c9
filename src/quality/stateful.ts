import { formatIsoMicros, type Micros } from '../core/time.ts';
import { COLUMN_KIND, getterOf, observedValue, showThresholdValue, type Column } from './columns.ts';
import { FAIL, PASS, SKIP, failure, type Batch, type CheckMeta, type ExpectationDef, type RowCheck, type RowFailure } from './definition.ts';
import { Keyed, describeKey } from './keyed.ts';
import type { Duration } from './params.ts';
import { IdCache, UNKNOWN } from './id-cache.ts';
import { TupleTable } from './tuple-table.ts';

/*
 * The stateful expectations compare a row with rows accepted before it (in this batch or earlier ones).
 * The gate calls `accept` only for accepted rows, so a rejected row never becomes a reference.
 */

// ---------------------------------------------------------------------------------------------- unique

/** The largest `max_keys`: each of the two generations holds at most half of it in a TupleTable. */
const MAX_KEYS = 10_000_000;
/** Distinct strings remembered by one `unique` check; beyond this it starts over (see docs/quality.md). */
const MAX_INTERNED = 1_000_000;

/**
 * `unique`: a row fails when a row with the same key was accepted with an event time within `window` of
 * its own (either side, so duplicates arriving out of order are caught too).
 *
 * A key is a tuple of numbers: numeric columns as they are, string columns as small ids from an intern
 * table; keys and their last accepted event time live in TupleTables, so the check makes no garbage per
 * row. Expiry is by generations: accepted keys go into the current table; once the newest accepted
 * event time has advanced by `window` since the current table was started (or it holds `maxKeys / 2`
 * keys), the previous table is cleared and becomes the current one. A key is therefore remembered for at
 * least one `window` of stream time after it was accepted, and memory holds at most two windows of keys
 * and never more than `maxKeys`.
 */
class UniqueCheck implements RowCheck {
  readonly kind = 'row';
  readonly #meta: CheckMeta;
  readonly #keyColumns: readonly Column[];
  readonly #window: Duration;
  readonly #maxKeys: number;
  /** Positions in the key tuple of the numeric / string key columns. */
  readonly #numAt: readonly number[];
  readonly #strAt: readonly number[];
  /** String → id; ids are given only to strings of accepted rows. */
  readonly #ids = new Map<string, number>();
  #current: TupleTable;
  #previous: TupleTable;
  /** Newest accepted event time when `#current` was started. */
  #generationStart = -Infinity;
  /** The key of the row being evaluated. */
  readonly #key: Float64Array;
  // This batch's arrays, split by kind so that each read site sees one array type (no boxing).
  #nums: Float64Array[] = [];
  #numNulls: Uint8Array[] = [];
  #strs: Array<ReadonlyArray<string | null>> = [];
  #strNulls: Uint8Array[] = [];
  #ts: Float64Array = new Float64Array(0);
  /** The row just tested: skipped (a null key column); its key complete (it was looked up). */
  #skipped = false;
  #keyReady = false;
  readonly #keyHasTs: boolean;
  /** Per string key column: this batch's ids, and the check's id for each batch id. */
  #strIds: Int32Array[] = [];
  readonly #idCaches: IdCache[];
  #prev = NaN;
  #newest = -Infinity;

  constructor(meta: CheckMeta, columns: readonly Column[], window: Duration, maxKeys: number) {
    this.#keyColumns = columns;
    this.#meta = meta;
    this.#window = window;
    this.#maxKeys = maxKeys;
    const positions = columns.map((_, k) => k);
    this.#numAt = positions.filter((k) => COLUMN_KIND[columns[k]!] !== 'string');
    this.#strAt = positions.filter((k) => COLUMN_KIND[columns[k]!] === 'string');
    this.#current = new TupleTable(columns.length);
    this.#previous = new TupleTable(columns.length);
    this.#key = new Float64Array(columns.length);
    this.#keyHasTs = columns.includes('ts');
    this.#idCaches = this.#strAt.map((k) => new IdCache(columns[k]!));
  }

  prepare(b: Batch): void {
    const cols = this.#keyColumns;
    this.#nums = this.#numAt.map((k) => b.num(cols[k]!));
    this.#numNulls = this.#numAt.map((k) => b.nulls(cols[k]!));
    this.#strs = this.#strAt.map((k) => b.str(cols[k]!));
    this.#strIds = this.#strAt.map((k) => b.ids(cols[k]!));
    for (const c of this.#idCaches) c.sync(b);
    this.#strNulls = this.#strAt.map((k) => b.nulls(cols[k]!));
    this.#ts = b.num('ts');
  }

  test(i: number): number {
    const key = this.#key;
    this.#skipped = true;
    this.#keyReady = false;
    this.#prev = NaN;
    for (let k = 0; k < this.#nums.length; k++) {
      if (this.#numNulls[k]![i] === 1) return SKIP;
      key[this.#numAt[k]!] = this.#nums[k]![i]!;
    }
    for (let k = 0; k < this.#strNulls.length; k++) if (this.#strNulls[k]![i] === 1) return SKIP;
    this.#skipped = false;
    // With the event time in the key, a duplicate has the same event time: a row newer than every
    // accepted row has none. In a stream in time order that is almost every row, and it costs no lookup.
    if (this.#keyHasTs && this.#ts[i]! > this.#newest) return PASS;
    // A string never accepted before cannot be part of a remembered key.
    if (!this.#fillStrings(i, false)) return PASS;
    this.#keyReady = true;
    let prev = this.#current.get(key);
    if (prev !== prev) prev = this.#previous.get(key); // NaN: not in the current generation
    this.#prev = prev;
    return Math.abs(this.#ts[i]! - prev) <= this.#window.us ? FAIL : PASS;
  }

  explain(b: Batch, i: number): RowFailure {
    const when = Number.isNaN(this.#prev) ? '' : ` (same key accepted at ${formatIsoMicros(this.#prev)})`;
    return failure(this.#meta, null, describeKey(this.#keyColumns, b.ticks[i]!), `unique within ${this.#window.text}${when}`);
  }

  accept(i: number): void {
    if (this.#skipped) return;
    if (!this.#keyReady) {
      if (this.#ids.size >= MAX_INTERNED) this.reset();
      this.#fillStrings(i, true);
    }
    const ts = this.#ts[i]!;
    if (ts > this.#newest) {
      this.#newest = ts;
      if (this.#generationStart === -Infinity) this.#generationStart = ts;
      else if (ts - this.#generationStart >= this.#window.us) this.#rotate();
    }
    // A row that took the fast path in `test` (event time in the key, newer than every accepted row) has
    // a key no accepted row had: it is appended without a lookup.
    if (this.#keyHasTs && !this.#keyReady) this.#current.append(this.#key, ts);
    else this.#current.set(this.#key, ts);
    if (this.#current.size * 2 >= this.#maxKeys) this.#rotate();
  }

  reset(): void {
    this.#ids.clear();
    for (const c of this.#idCaches) c.clear();
    this.#current.clear();
    this.#previous.clear();
    this.#newest = -Infinity;
    this.#generationStart = -Infinity;
  }

  /**
   * Puts the ids of row `i`'s strings into the key. Without `assign`, returns false at a string that
   * has no id; with it, gives new strings the next id. The check's own ids are cached per batch string
   * id, so a row costs array reads; the check's numbering, unlike the batch's, lives as long as its state.
   */
  #fillStrings(i: number, assign: boolean): boolean {
    for (let k = 0; k < this.#strIds.length; k++) {
      const batchId = this.#strIds[k]![i]!;
      const cache = this.#idCaches[k]!;
      let id = cache.get(batchId);
      if (id === UNKNOWN) {
        const s = this.#strs[k]![i]!;
        id = this.#ids.get(s) ?? UNKNOWN;
        if (id === UNKNOWN) {
          if (!assign) return false;
          id = this.#ids.size;
          this.#ids.set(s, id);
        }
        cache.set(batchId, id);
      }
      this.#key[this.#strAt[k]!] = id;
    }
    return true;
  }

  /** Forgets the previous generation; the current one becomes previous. */
  #rotate(): void {
    const emptied = this.#previous;
    emptied.clear();
    this.#previous = this.#current;
    this.#current = emptied;
    this.#generationStart = this.#newest;
  }
}

export const unique: ExpectationDef = {
  type: 'unique',
  keys: ['columns', 'window', 'max_keys'],
  parse(p) {
    const columns = p.columns('columns', { nonEmpty: true });
    const window = p.duration('window', { required: true, positive: true });
    const maxKeys = p.number('max_keys', { fallback: 1_000_000, integer: true, ge: 2, le: MAX_KEYS });
    if (columns === undefined || window === undefined || maxKeys === undefined) return undefined;
    return (meta) => new UniqueCheck(meta, columns, window, maxKeys);
  },
};

// ------------------------------------------------------------------------------------------ increasing

/**
 * `increasing`: per key of `by`, the column never goes below (with `strict`, never repeats) its value in
 * the key's last accepted row. Memory: one record per distinct key.
 */
class IncreasingCheck implements RowCheck {
  readonly kind = 'row';
  readonly #meta: CheckMeta;
  readonly #column: Column;
  readonly #by: readonly Column[];
  readonly #strict: boolean;
  readonly #last: Keyed<{ value: number }>;
  #values: Float64Array = new Float64Array(0);
  #nulls: Uint8Array = new Uint8Array(0);
  #cur: { value: number } | undefined;

  constructor(meta: CheckMeta, column: Column, by: readonly Column[], strict: boolean) {
    this.#meta = meta;
    this.#column = column;
    this.#by = by;
    this.#strict = strict;
    this.#last = new Keyed(by);
  }

  prepare(b: Batch): void {
    this.#values = b.num(this.#column);
    this.#nulls = b.nulls(this.#column);
    this.#last.prepare(b);
  }

  test(i: number): number {
    if (this.#nulls[i] === 1) return SKIP;
    const v = this.#values[i]!;
    // A non-finite value fails rather than becoming a reference nothing could follow.
    if (v - v !== 0) {
      this.#cur = undefined;
      return FAIL;
    }
    const last = (this.#cur = this.#last.get(i));
    if (last === undefined) return PASS;
    return (this.#strict ? v > last.value : v >= last.value) ? PASS : FAIL;
  }

  explain(b: Batch, i: number): RowFailure {
    const t = b.ticks[i]!;
    const observed = observedValue(this.#column, getterOf(this.#column)(t));
    if (this.#cur === undefined) return failure(this.#meta, this.#column, observed, 'a finite value');
    const last = showThresholdValue(COLUMN_KIND[this.#column], this.#cur.value);
    const of = this.#by.length === 0 ? 'the last accepted row' : `the last accepted row of ${describeKey(this.#by, t)}`;
    return failure(this.#meta, this.#column, observed, `${this.#strict ? '>' : '≥'} ${last} (${of})`);
  }

  accept(i: number): void {
    const v = this.#values[i]!;
    // Null and non-finite values (accepted when the action is warn) are never references.
    if (this.#nulls[i] === 1 || v - v !== 0) return;
    if (this.#cur === undefined) this.#last.set(i, { value: v });
    else this.#cur.value = v;
  }

  reset(): void {
    this.#last.clear();
    this.#cur = undefined;
  }
}

export const increasing: ExpectationDef = {
  type: 'increasing',
  keys: ['column', 'by', 'strict'],
  parse(p) {
    const column = p.column('column', ['number', 'timestamp']);
    const by = p.columns('by', { fallback: [], nonEmpty: false });
    const strict = p.boolean('strict', false);
    if (column === undefined || by === undefined || strict === undefined) return undefined;
    return (meta) => new IncreasingCheck(meta, column, by, strict);
  },
};

// ------------------------------------------------------------------------------------------ max_change

interface ChangeState {
  /** The value of the key's last accepted row, the reference for the next one. */
  prev: number;
  /** Newest event time accepted for the key (for `stale_after`). */
  newestTs: Micros;
  /** The last `lookback` accepted returns (a ring), with running sums for an O(1) standard deviation. */
  returns: Float64Array | null;
  head: number;
  n: number;
  sum: number;
  sumSq: number;
  pushes: number;
}

interface ChangeLimits {
  /** Largest allowed |relative change|, as a fraction (max_pct / 100); Infinity when not set. */
  maxFraction: number;
  maxPct: number | undefined;
  maxStddev: number | undefined;
  lookback: number;
  minSamples: number;
  /** Infinity when `stale_after` is not set. */
  staleAfterUs: number;
}

/**
 * `max_change`: the relative change from the key's previous accepted value must stay within `max_pct`
 * percent, and/or within `max_stddev` standard deviations of the key's last `lookback` accepted returns
 * (once `min_samples` of them are known). Memory: one record per key, with `lookback` numbers when
 * `max_stddev` is set.
 */
class MaxChangeCheck implements RowCheck {
  readonly kind = 'row';
  readonly #meta: CheckMeta;
  readonly #column: Column;
  readonly #limits: ChangeLimits;
  readonly #state: Keyed<ChangeState>;
  #values: Float64Array = new Float64Array(0);
  #nulls: Uint8Array = new Uint8Array(0);
  #ts: Float64Array = new Float64Array(0);
  #cur: ChangeState | undefined;
  #stale = false;
  #ret = 0;
  #bySigma = false;

  constructor(meta: CheckMeta, column: Column, by: readonly Column[], limits: ChangeLimits) {
    this.#meta = meta;
    this.#column = column;
    this.#limits = limits;
    this.#state = new Keyed(by);
  }

  prepare(b: Batch): void {
    this.#values = b.num(this.#column);
    this.#nulls = b.nulls(this.#column);
    this.#ts = b.num('ts');
    this.#state.prepare(b);
  }

  test(i: number): number {
    if (this.#nulls[i] === 1) return SKIP;
    const v = this.#values[i]!;
    const s = (this.#cur = this.#state.get(i));
    this.#bySigma = false;
    // A non-finite value fails rather than becoming a reference nothing could follow.
    if (v - v !== 0) {
      this.#cur = undefined;
      return FAIL;
    }
    if (s === undefined) return PASS;
    const lim = this.#limits;
    // After a long silence the old reference says little about the new level: start again from this row.
    this.#stale = lim.staleAfterUs < Infinity && this.#ts[i]! - s.newestTs > lim.staleAfterUs;
    if (this.#stale) return PASS;
    const ret = (this.#ret = s.prev === 0 ? (v === 0 ? 0 : Infinity) : (v - s.prev) / s.prev);
    const size = Math.abs(ret);
    if (!(size <= lim.maxFraction)) return FAIL;
    if (lim.maxStddev !== undefined && s.n >= lim.minSamples && !(size <= lim.maxStddev * stddev(s))) {
      this.#bySigma = true;
      return FAIL;
    }
    return PASS;
  }

  explain(b: Batch, i: number): RowFailure {
    const s = this.#cur;
    const lim = this.#limits;
    const threshold =
      s === undefined
        ? 'a finite value'
        : this.#bySigma
          ? `≤ ${lim.maxStddev}σ change from ${s.prev} (σ = ${formatPct(stddev(s))} over ${s.n} returns)`
          : `≤ ${lim.maxPct}% change from ${s.prev}`;
    return failure(this.#meta, this.#column, observedValue(this.#column, getterOf(this.#column)(b.ticks[i]!)), threshold);
  }

  accept(i: number): void {
    const v = this.#values[i]!;
    // Null and non-finite values (accepted when the action is warn) are never references.
    if (this.#nulls[i] === 1 || v - v !== 0) return;
    const ts = this.#ts[i]!;
    const s = this.#cur;
    if (s === undefined) {
      const lookback = this.#limits.maxStddev === undefined ? 0 : this.#limits.lookback;
      this.#state.set(i, {
        prev: v, newestTs: ts, returns: lookback > 0 ? new Float64Array(lookback) : null,
        head: 0, n: 0, sum: 0, sumSq: 0, pushes: 0,
      });
      return;
    }
    if (!this.#stale && s.returns !== null) pushReturn(s, s.returns, this.#ret);
    s.prev = v;
    if (ts > s.newestTs) s.newestTs = ts;
  }

  reset(): void {
    this.#state.clear();
    this.#cur = undefined;
  }
}

function pushReturn(s: ChangeState, ring: Float64Array, r: number): void {
  const cap = ring.length;
  if (s.n < cap) {
    ring[(s.head + s.n) % cap] = r;
    s.n++;
    s.sum += r;
    s.sumSq += r * r;
  } else {
    const old = ring[s.head]!;
    ring[s.head] = r;
    s.head = s.head + 1 === cap ? 0 : s.head + 1;
    s.sum += r - old;
    s.sumSq += r * r - old * old;
  }
  // Running sums drift as values enter and leave; recomputing them once per window bounds the error.
  if (++s.pushes % cap === 0) {
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < s.n; i++) {
      const x = ring[(s.head + i) % cap]!;
      sum += x;
      sumSq += x * x;
    }
    s.sum = sum;
    s.sumSq = sumSq;
  }
}

/** Sample standard deviation of the returns in the ring. */
function stddev(s: ChangeState): number {
  if (s.n < 2) return 0;
  const variance = (s.sumSq - (s.sum * s.sum) / s.n) / (s.n - 1);
  return variance > 0 ? Math.sqrt(variance) : 0;
}

function formatPct(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))}%`;
}

export const maxChange: ExpectationDef = {
  type: 'max_change',
  keys: ['column', 'by', 'max_pct', 'max_stddev', 'lookback', 'min_samples', 'stale_after'],
  parse(p) {
    const column = p.column('column', ['number']);
    const by = p.columns('by', { fallback: [], nonEmpty: false });
    const maxPct = p.number('max_pct', { gt: 0 });
    const maxStddev = p.number('max_stddev', { gt: 0 });
    const lookback = p.number('lookback', { fallback: 50, integer: true, ge: 2 });
    const minSamples = p.number('min_samples', { fallback: 20, integer: true, ge: 2 });
    const staleAfter = p.duration('stale_after', { required: false, positive: true });
    if (!p.has('max_pct') && !p.has('max_stddev')) {
      p.report('max_pct', undefined, 'is required unless max_stddev is given: max_change needs at least one limit');
      return undefined;
    }
    if (lookback !== undefined && minSamples !== undefined && minSamples > lookback) {
      p.report('min_samples', minSamples, `must be ≤ lookback (${lookback})`);
      return undefined;
    }
    if (
      column === undefined || by === undefined || lookback === undefined || minSamples === undefined ||
      (p.has('max_pct') && maxPct === undefined) || (p.has('max_stddev') && maxStddev === undefined) ||
      (p.has('stale_after') && staleAfter === undefined)
    ) {
      return undefined;
    }
    const limits: ChangeLimits = {
      maxFraction: maxPct === undefined ? Infinity : maxPct / 100,
      maxPct,
      maxStddev,
      lookback,
      minSamples,
      staleAfterUs: staleAfter?.us ?? Infinity,
    };
    return (meta) => new MaxChangeCheck(meta, column, by, limits);
  },
};
