import type { Column } from './columns.ts';
import type { ParamReader } from './params.ts';
import type { Tick } from '../core/tick.ts';

/** What happens to a row that fails an expectation. */
export type Action = 'quarantine' | 'warn';

/** One expectation one row failed: what was seen and what was expected. */
export interface RowFailure {
  /** The expectation's name. */
  expectation: string;
  type: string;
  /** The column `observed` was read from (for multi-column expectations the main one, or null). */
  column: string | null;
  /** The value seen (timestamps as ISO 8601 strings). */
  observed: string | number | boolean | null;
  /** Human-readable expectation, e.g. "> 0", "in {USD}", "≤ 20% change from 189.5". */
  threshold: string;
  action: Action;
}

/** Per-row results of a check. Bytes rather than objects, so evaluating rows allocates nothing. */
export const PASS = 0;
/** The row fails the expectation. */
export const FAIL = 1;
/** The expectation does not apply to the row (a null value, an unmapped symbol): not counted as evaluated. */
export const SKIP = 2;

/**
 * A batch of ticks as columns, extracted once per batch: checks loop over typed arrays instead of reading
 * (and boxing) tick properties. Arrays may be longer than `size`.
 */
export interface Batch {
  readonly size: number;
  readonly ticks: readonly Tick[];
  /** A numeric or timestamp column; NaN where the value is null. */
  num(column: Column): Float64Array;
  /** 1 where the column's value is null (any column). */
  nulls(column: Column): Uint8Array;
  /** A string column; null where the value is null. */
  str(column: Column): ReadonlyArray<string | null>;
  /**
   * A string column as small dense ids, one numbering per column (-1 where null): equal strings get
   * equal ids, so checks can cache per id in arrays instead of hashing strings per row. Ids stay valid
   * across batches until `generation` changes (the numbering is restarted when it grows too large).
   */
  ids(column: Column): Int32Array;
  /** The string of an id of `ids(column)`. */
  stringOf(column: Column, id: number): string;
  readonly generation: number;
}

/** The identity of a compiled expectation, copied into each `RowFailure`. */
export interface CheckMeta {
  name: string;
  type: string;
  action: Action;
}

interface CheckBase {
  /** Describes the failure of row `i`; allocates, but runs only for quarantined rows. */
  explain(b: Batch, i: number): RowFailure;
}

/** A stateless expectation, evaluated a whole batch at a time. */
export interface BatchCheck extends CheckBase {
  readonly kind: 'batch';
  /** Writes PASS, FAIL or SKIP for rows 0 .. b.size-1 into `out`. */
  run(b: Batch, out: Uint8Array): void;
}

/**
 * A stateful expectation, evaluated row by row because a row's verdict depends on which earlier rows
 * were accepted. Per batch the gate calls `prepare`; then per row in order `test`; then, if the row is
 * rejected, `explain` (before any later row is accepted) or, if it is accepted, `accept`. `explain` and
 * `accept` always concern the row `test` saw last, so a check may keep what `test` looked up for them.
 */
export interface RowCheck extends CheckBase {
  readonly kind: 'row';
  /** Takes this batch's column arrays. */
  prepare(b: Batch): void;
  /** PASS, FAIL or SKIP for row `i`. Must not change state: that is `accept`'s job. */
  test(i: number): number;
  /** Remembers row `i` (just tested) as accepted. */
  accept(i: number): void;
  /** Forgets everything. */
  reset(): void;
}

export type Check = BatchCheck | RowCheck;

/** One expectation type: its parameters, their validation, and how to compile a check from them. */
export interface ExpectationDef {
  type: string;
  /** Parameters besides the common `name`, `type`, `mostly` and `action`. */
  keys: readonly string[];
  /**
   * Reads and checks the parameters, reporting each problem through the reader. Returns a factory of
   * fresh checks (each with its own state), or undefined when a parameter was bad.
   */
  parse(p: ParamReader): ((meta: CheckMeta) => Check) | undefined;
}

/** A failure record; `column` is the column the observed value comes from. */
export function failure(meta: CheckMeta, column: Column | null, observed: RowFailure['observed'], threshold: string): RowFailure {
  return { expectation: meta.name, type: meta.type, column, observed, threshold, action: meta.action };
}
