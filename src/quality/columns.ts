import type { Tick } from '../core/tick.ts';
import { formatIsoMicros } from '../core/time.ts';

/**
 * The columns an expectation may name: the tick's JSON field names (`received_at` is `Tick.recvTs`).
 * Each has a kind that decides which expectations and thresholds apply to it.
 */
export const COLUMNS = ['symbol', 'ts', 'price', 'size', 'bid', 'ask', 'currency', 'provider', 'seq', 'received_at'] as const;
export type Column = (typeof COLUMNS)[number];

/** `timestamp` columns hold µs since the epoch; suites give their thresholds as ISO 8601 or durations. */
export type ColumnKind = 'string' | 'number' | 'timestamp';

export const COLUMN_KIND: Readonly<Record<Column, ColumnKind>> = {
  symbol: 'string',
  ts: 'timestamp',
  price: 'number',
  size: 'number',
  bid: 'number',
  ask: 'number',
  currency: 'string',
  provider: 'string',
  seq: 'number',
  received_at: 'timestamp',
};

export function isColumn(name: unknown): name is Column {
  return typeof name === 'string' && Object.hasOwn(COLUMN_KIND, name);
}

/**
 * Reads one column of one tick, for the slow paths (failure descriptions). The hot path reads whole
 * batches into typed arrays instead (batch.ts).
 */
export function getterOf(column: Column): (t: Tick) => string | number | null {
  return GETTERS[column];
}

const GETTERS: Readonly<Record<Column, (t: Tick) => string | number | null>> = {
  symbol: (t) => t.symbol,
  ts: (t) => t.ts,
  price: (t) => t.price,
  size: (t) => t.size,
  bid: (t) => t.bid,
  ask: (t) => t.ask,
  currency: (t) => t.currency,
  provider: (t) => t.provider,
  seq: (t) => t.seq,
  received_at: (t) => t.recvTs,
};

/** A column value as a `RowFailure.observed`: timestamps as ISO 8601 (µs), missing values as null. */
export function observedValue(column: Column, value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (COLUMN_KIND[column] === 'timestamp' && typeof value === 'number' && Number.isFinite(value)) return formatIsoMicros(value);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

/** A value inside a threshold text: timestamps as ISO 8601, numbers as they print. */
export function showThresholdValue(kind: ColumnKind, value: number | string): string {
  return kind === 'timestamp' && typeof value === 'number' ? formatIsoMicros(value) : String(value);
}
