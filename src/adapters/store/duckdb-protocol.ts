import type { Bar } from '../../core/bar.ts';
import type { Tick } from '../../core/tick.ts';
import type { ErrorCode } from '../../core/errors.ts';
import type { BarQuery } from '../../ports/store.ts';

/**
 * Messages between the DuckDB store (main thread) and its worker. Ticks travel as columns in
 * transferred ArrayBuffers so neither side copies or clones per tick.
 */

/** Float64 columns of `EncodedTicks.f64`, each `cap` long. Nulls (bid, ask, seq) are NaN. */
export const F_TS = 0;
export const F_PRICE = 1;
export const F_SIZE = 2;
export const F_BID = 3;
export const F_ASK = 4;
export const F_SEQ = 5;
export const F_RECV = 6;
export const F_COLUMNS = 7;

/** Code columns of `EncodedTicks.codes`, each `cap` long, indexing `dict`. */
export const C_SYMBOL = 0;
export const C_CURRENCY = 1;
export const C_PROVIDER = 2;
export const C_COLUMNS = 3;

export interface EncodedTicks {
  n: number;
  /** Column stride: every column occupies `cap` slots (buffers are pooled, so `cap >= n`). */
  cap: number;
  f64: ArrayBuffer;
  /** Uint16 codes, or Uint32 when `wide` (more than 65,536 distinct strings in one batch). */
  codes: ArrayBuffer;
  wide: boolean;
  dict: string[];
}

/** A history query after validation and cursor decoding (done on the main thread). */
export interface HistoryRequest {
  symbol: string;
  from: number | null;
  to: number | null;
  limit: number;
  /** Continue strictly after (or before, when `desc`) this (ts, rowid) position. */
  after: { ts: number; rowid: number } | null;
  desc: boolean;
}

/** A page of ticks with their row ids, from which the next cursor is made. */
export interface HistoryResult {
  ticks: Tick[];
  /** Row id of each tick, same order. */
  rowids: number[];
  /** Whether more rows match beyond this page. */
  more: boolean;
}

export interface WorkerInit {
  path: string;
  options: Record<string, string>;
}

export type Request =
  | { id: number; op: 'init' }
  | { id: number; op: 'write'; ticks: EncodedTicks; bars: Bar[] }
  /** Bars replacing what the store holds for their keys (checked and de-duplicated on the main thread). */
  | { id: number; op: 'putBars'; bars: Bar[] }
  | { id: number; op: 'history'; query: HistoryRequest }
  | { id: number; op: 'bars'; query: BarQuery }
  | { id: number; op: 'symbols' }
  | { id: number; op: 'latest' }
  | { id: number; op: 'health' }
  | { id: number; op: 'close' };

export interface WireError {
  code: ErrorCode;
  message: string;
}

export type Response =
  | { id: number; ok: true; value?: unknown; recycle?: { f64: ArrayBuffer; codes: ArrayBuffer; cap: number } }
  | { id: number; ok: false; error: WireError };

/** Unsolicited: something the main thread should log (the worker has no logger). */
export interface WorkerLog {
  log: string;
}
