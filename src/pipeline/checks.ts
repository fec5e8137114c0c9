import { SYMBOL_RE } from '../config/schema.ts';
import type { Tick } from '../core/tick.ts';
import type { Micros } from '../core/time.ts';

/** Names of the basic checks, used as the quarantine `reason` and as a metric label. */
export const CHECKS = ['symbol_format', 'price_positive', 'size_non_negative', 'not_in_future', 'bid_le_ask', 'quote_positive'] as const;
export type CheckName = (typeof CHECKS)[number];

export interface CheckOptions {
  /** How far past `now` an event time may be. */
  maxFutureSkewUs: Micros;
}

export interface CheckFailure {
  check: CheckName;
  detail: string;
}

/** The first basic check one tick fails, or null. Pure: the same tick and `now` give the same answer. */
export function checkTick(t: Tick, now: Micros, opts: CheckOptions): CheckFailure | null {
  if (!SYMBOL_RE.test(t.symbol)) return { check: 'symbol_format', detail: `symbol ${JSON.stringify(t.symbol)} does not match ${SYMBOL_RE}` };
  if (!(t.price > 0) || !Number.isFinite(t.price)) return { check: 'price_positive', detail: `price ${t.price} is not a finite number > 0` };
  if (!(t.size >= 0) || !Number.isFinite(t.size)) return { check: 'size_non_negative', detail: `size ${t.size} is not a finite number >= 0` };
  if (t.ts > now + opts.maxFutureSkewUs) {
    return { check: 'not_in_future', detail: `event time is ${((t.ts - now) / 1e6).toFixed(3)} s in the future (allowed ${opts.maxFutureSkewUs / 1e6} s)` };
  }
  if ((t.bid !== null && !(t.bid > 0)) || (t.ask !== null && !(t.ask > 0))) {
    return { check: 'quote_positive', detail: `bid ${t.bid} / ask ${t.ask} must be > 0 when present` };
  }
  if (t.bid !== null && t.ask !== null && t.bid > t.ask) return { check: 'bid_le_ask', detail: `crossed quote: bid ${t.bid} > ask ${t.ask}` };
  return null;
}

export interface CheckedBatch {
  good: Tick[];
  bad: Tick[];
  /** One per `bad` tick, same order. */
  failures: CheckFailure[];
}

/** Splits a batch into passing and failing ticks; order within each part is kept. */
export function checkBatch(ticks: readonly Tick[], now: Micros, opts: CheckOptions): CheckedBatch {
  const good: Tick[] = [];
  const bad: Tick[] = [];
  const failures: CheckFailure[] = [];
  for (let i = 0; i < ticks.length; i++) {
    const t = ticks[i]!;
    const f = checkTick(t, now, opts);
    if (f === null) good.push(t);
    else {
      bad.push(t);
      failures.push(f);
    }
  }
  return { good, bad, failures };
}
