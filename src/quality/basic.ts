import type { Tick } from '../core/tick.ts';
import { formatIsoMicros, parseIsoMicros, type Micros } from '../core/time.ts';
import { COLUMN_KIND, getterOf, observedValue, showThresholdValue, type Column } from './columns.ts';
import { FAIL, PASS, SKIP, failure, type Batch, type BatchCheck, type CheckMeta, type ExpectationDef } from './definition.ts';
import { IdCache, UNKNOWN } from './id-cache.ts';
import { compileFullMatch, type Duration, type ParamReader } from './params.ts';

/*
 * The stateless expectations, each evaluated over a whole batch of column arrays. Common rule: a null
 * value is not evaluated (SKIP), as in Great Expectations where column expectations ignore missing
 * values; `not_null` is the one that looks at them.
 */

/** The failure of row `i` for a single-column check, observed value read from the tick (slow path). */
function columnFailure(meta: CheckMeta, column: Column, threshold: string): BatchCheck['explain'] {
  const get = getterOf(column);
  return (b: Batch, i: number) => failure(meta, column, observedValue(column, get(b.ticks[i]!)), threshold);
}

export const notNull: ExpectationDef = {
  type: 'not_null',
  keys: ['column'],
  parse(p) {
    const column = p.column('column', null);
    if (column === undefined) return undefined;
    return (meta) => ({
      kind: 'batch',
      run(b, out) {
        const nulls = b.nulls(column);
        for (let i = 0, n = b.size; i < n; i++) out[i] = nulls[i] === 1 ? FAIL : PASS;
      },
      explain: () => failure(meta, column, null, 'not null'),
    });
  },
};

/** Reads one bound of `between`: a number, or an ISO 8601 string for timestamp columns. */
function readBound(p: ParamReader, key: string, column: Column): number | undefined {
  if (COLUMN_KIND[column] !== 'timestamp') return p.number(key, {});
  const v = p.raw(key);
  if (v === undefined) return undefined;
  const us = typeof v === 'string' ? parseIsoMicros(v) : undefined;
  if (us === undefined) {
    p.report(key, v, `must be an ISO 8601 date-time (${column} is a timestamp column)`);
    return undefined;
  }
  p.effective[key] = v;
  return us;
}

/** The smallest double above `x` (for finite x). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const f = new Float64Array([x]);
  const bits = new BigInt64Array(f.buffer);
  // For doubles of one sign, the bit patterns are ordered like the values (reversed when negative).
  bits[0]! += x > 0 ? 1n : -1n;
  return f[0]!;
}

function boundsText(column: Column, min: number | undefined, max: number | undefined, strictMin: boolean, strictMax: boolean): string {
  const kind = COLUMN_KIND[column];
  const lo = min === undefined ? null : `${strictMin ? '>' : '≥'} ${showThresholdValue(kind, min)}`;
  const hi = max === undefined ? null : `${strictMax ? '<' : '≤'} ${showThresholdValue(kind, max)}`;
  return lo !== null && hi !== null ? `${lo} and ${hi}` : (lo ?? hi ?? '');
}

export const between: ExpectationDef = {
  type: 'between',
  keys: ['column', 'min', 'max', 'strict_min', 'strict_max'],
  parse(p) {
    const column = p.column('column', ['number', 'timestamp']);
    if (column === undefined) return undefined;
    const hasMin = p.has('min');
    const hasMax = p.has('max');
    const min = readBound(p, 'min', column);
    const max = readBound(p, 'max', column);
    const strictMin = p.boolean('strict_min', false);
    const strictMax = p.boolean('strict_max', false);
    if (!hasMin && !hasMax) {
      p.report('min', undefined, 'is required unless max is given: between needs at least one bound');
      return undefined;
    }
    if ((hasMin && min === undefined) || (hasMax && max === undefined) || strictMin === undefined || strictMax === undefined) return undefined;
    if (min !== undefined && max !== undefined && (min > max || (min === max && (strictMin || strictMax)))) {
      const why = min > max ? 'is above' : 'equals, with a strict bound,';
      p.report('min', p.raw('min'), `leaves no value: it ${why} max ${String(p.raw('max'))}`);
      return undefined;
    }
    // Strict bounds become inclusive ones on the adjacent double (v > 0 ⟺ v ≥ 5e-324), so the loop
    // makes the same two comparisons whatever the strictness.
    const lo = min === undefined ? -Infinity : strictMin ? nextUp(min) : min;
    const hi = max === undefined ? Infinity : strictMax ? -nextUp(-max) : max;
    const threshold = boundsText(column, min, max, strictMin, strictMax);
    return (meta) => ({
      kind: 'batch',
      run(b, out) {
        const values = b.num(column);
        const nulls = b.nulls(column);
        for (let i = 0, n = b.size; i < n; i++) {
          const v = values[i]!;
          // NaN fails every comparison; infinities (v - v is NaN) are never a plausible value.
          out[i] = nulls[i] === 1 ? SKIP : v >= lo && v <= hi && v - v === 0 ? PASS : FAIL;
        }
      },
      explain: columnFailure(meta, column, threshold),
    });
  },
};

export const matchesRegex: ExpectationDef = {
  type: 'matches_regex',
  keys: ['column', 'regex'],
  parse(p) {
    const column = p.column('column', ['string']);
    const pattern = p.string('regex', true);
    if (column === undefined || pattern === undefined) return undefined;
    const re = compileFullMatch(pattern);
    if (typeof re === 'string') {
      p.report('regex', pattern, re);
      return undefined;
    }
    const threshold = `matches /${pattern}/ (whole value)`;
    return (meta) => ({
      kind: 'batch',
      run: perStringRun(column, (v) => (re.test(v) ? PASS : FAIL)),
      explain: columnFailure(meta, column, threshold),
    });
  },
};

export const inSet: ExpectationDef = {
  type: 'in_set',
  keys: ['column', 'values'],
  parse(p) {
    const column = p.column('column', ['string', 'number']);
    const values = p.raw('values');
    if (values === undefined) {
      p.report('values', undefined, 'is required: a list of allowed values');
      return undefined;
    }
    if (column === undefined) return undefined;
    const want = COLUMN_KIND[column] === 'string' ? 'string' : 'number';
    if (!Array.isArray(values) || values.length === 0) {
      p.report('values', values, `must be a non-empty list of ${want}s`);
      return undefined;
    }
    const bad = (values as unknown[]).filter((v) => typeof v !== want || (want === 'number' && !Number.isFinite(v)));
    for (const v of bad) p.report('values', v, `is not a ${want} (${column} is a ${COLUMN_KIND[column]} column)`);
    if (bad.length > 0) return undefined;
    const allowed = [...new Set(values as Array<string | number>)];
    p.effective.values = allowed;
    const threshold = `in {${allowed.join(', ')}}`;
    const set = new Set<string | number>(allowed);
    return (meta) => ({
      kind: 'batch',
      run: want === 'string' ? perStringRun(column, (v) => (set.has(v) ? PASS : FAIL)) : numberSetRun(column, set),
      explain: columnFailure(meta, column, threshold),
    });
  },
};

/**
 * A batch run for a verdict that depends only on a string value: computed once per distinct string and
 * cached by the string's id, so a batch of a few symbols runs the verdict (a regex, a set lookup) a few
 * times rather than once per row. Null values are SKIP.
 */
function perStringRun(column: Column, verdict: (v: string) => number): BatchCheck['run'] {
  const cache = new IdCache(column);
  return (b, out) => {
    cache.sync(b);
    const ids = b.ids(column);
    for (let i = 0, n = b.size; i < n; i++) {
      const id = ids[i]!;
      if (id < 0) {
        out[i] = SKIP;
        continue;
      }
      let v = cache.get(id);
      if (v === UNKNOWN) {
        v = verdict(b.stringOf(column, id));
        cache.set(id, v);
      }
      out[i] = v;
    }
  };
}

function numberSetRun(column: Column, set: ReadonlySet<string | number>): BatchCheck['run'] {
  return (b, out) => {
    const values = b.num(column);
    const nulls = b.nulls(column);
    for (let i = 0, n = b.size; i < n; i++) out[i] = nulls[i] === 1 ? SKIP : set.has(values[i]!) ? PASS : FAIL;
  };
}

export const bidLeAsk: ExpectationDef = {
  type: 'bid_le_ask',
  keys: ['bid', 'ask'],
  parse(p) {
    const bidCol = p.column('bid', ['number'], 'bid');
    const askCol = p.column('ask', ['number'], 'ask');
    if (bidCol === undefined || askCol === undefined) return undefined;
    const getBid = getterOf(bidCol);
    const getAsk = getterOf(askCol);
    return (meta) => ({
      kind: 'batch',
      run(b, out) {
        const bids = b.num(bidCol);
        const asks = b.num(askCol);
        const bidNulls = b.nulls(bidCol);
        const askNulls = b.nulls(askCol);
        for (let i = 0, n = b.size; i < n; i++) {
          out[i] = (bidNulls[i]! | askNulls[i]!) !== 0 ? SKIP : bids[i]! <= asks[i]! ? PASS : FAIL;
        }
      },
      explain(b, i) {
        const t = b.ticks[i]!;
        return failure(meta, bidCol, getBid(t), `≤ ${askCol} ${String(getAsk(t))}`);
      },
    });
  },
};

export const freshness: ExpectationDef = {
  type: 'freshness',
  keys: ['max_age', 'max_future'],
  parse(p) {
    const maxAge = p.duration('max_age', { required: false, positive: false });
    const maxFuture = p.duration('max_future', { required: false, positive: false });
    if (!p.has('max_age') && !p.has('max_future')) {
      p.report('max_age', undefined, 'is required unless max_future is given: freshness needs at least one bound');
      return undefined;
    }
    if ((p.has('max_age') && maxAge === undefined) || (p.has('max_future') && maxFuture === undefined)) return undefined;
    const ageUs = maxAge?.us ?? Infinity;
    const futureUs = maxFuture?.us ?? Infinity;
    return (meta) => ({
      kind: 'batch',
      run(b, out) {
        const ts = b.num('ts');
        const recv = b.num('received_at');
        for (let i = 0, n = b.size; i < n; i++) {
          // Measured against when Tickline received the row, not the wall clock: re-validating or
          // replaying old data later gives the same verdict. A missing time (NaN) fails.
          const age = recv[i]! - ts[i]!;
          out[i] = age <= ageUs && -age <= futureUs ? PASS : FAIL;
        }
      },
      explain(b, i) {
        const t = b.ticks[i]!;
        return failure(meta, 'ts', observedValue('ts', t.ts), freshnessThreshold(t, maxAge, maxFuture));
      },
    });
  },
};

function freshnessThreshold(t: Tick, maxAge: Duration | undefined, maxFuture: Duration | undefined): string {
  const recv = (offset: Micros) => formatIsoMicros(t.recvTs + offset);
  if (maxFuture !== undefined && t.ts - t.recvTs > maxFuture.us) return `≤ received_at + ${maxFuture.text} (${recv(maxFuture.us)})`;
  if (maxAge !== undefined) return `≥ received_at − ${maxAge.text} (${recv(-maxAge.us)})`;
  return 'a finite event time';
}
