import { INTERVALS, isInterval } from '../../core/bar.ts';
import { show, TicklineError } from '../../core/errors.ts';
import type { BarQuery, HistoryQuery } from '../../ports/store.ts';

/**
 * Argument checks every store applies to its queries, so a bad call gets the same error whatever the
 * engine. The API validates its own inputs first; these guard the other callers (CLI, tests, tools).
 */
export function checkSymbol(symbol: unknown): void {
  if (typeof symbol !== 'string' || symbol === '') {
    throw new TicklineError('TL_ERR_VALIDATION', `symbol must be a non-empty string, got ${show(symbol)}`);
  }
}

export function checkLimit(limit: unknown): void {
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
    throw new TicklineError('TL_ERR_VALIDATION', `limit must be a positive integer, got ${show(limit)}`);
  }
}

export function checkOptionalMicros(name: string, v: unknown): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v))) {
    throw new TicklineError('TL_ERR_VALIDATION', `${name} must be an integer number of µs since the epoch, got ${show(v)}`);
  }
}

export function checkBarQuery(q: BarQuery): void {
  checkSymbol(q.symbol);
  if (!isInterval(q.interval)) {
    throw new TicklineError('TL_ERR_VALIDATION', `interval must be one of ${INTERVALS.join(', ')}, got ${show(q.interval)}`);
  }
  checkLimit(q.limit);
  checkOptionalMicros('from', q.from);
  checkOptionalMicros('to', q.to);
}

/** Checks a history query and returns its order; the cursor is each store's own format and checked there. */
export function checkHistoryArgs(q: HistoryQuery): 'asc' | 'desc' {
  checkSymbol(q.symbol);
  checkLimit(q.limit);
  checkOptionalMicros('from', q.from);
  checkOptionalMicros('to', q.to);
  const order = q.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new TicklineError('TL_ERR_VALIDATION', `order must be "asc" or "desc", got ${show(order)}`);
  }
  return order;
}
