import type { Tick } from '../core/tick.ts';
import { ColumnBatch } from './batch.ts';
import { FAIL, SKIP, type Action, type BatchCheck, type Check, type RowCheck, type RowFailure } from './definition.ts';
import { checkFactories, type Suite } from './suite.ts';

export type { Action, RowFailure } from './definition.ts';

/** How one expectation did on one batch. */
export interface ExpectationResult {
  name: string;
  type: string;
  column: string | null;
  mostly: number;
  action: Action;
  /** Rows the expectation applied to (rows with a null value, or an unmapped symbol, are not evaluated). */
  evaluated: number;
  failed: number;
  /** (evaluated - failed) / evaluated >= mostly; true when evaluated = 0. */
  success: boolean;
}

export interface GateResult {
  /** Rows with no failure, or only `warn` failures, in input order. */
  passed: Tick[];
  /** Rows with at least one `quarantine` failure, in input order. */
  failed: Tick[];
  /** One entry per `failed` row: all its failures, quarantine ones first, each group in suite order. */
  failures: RowFailure[][];
  /** Rows in `passed` that had warn failures. */
  warned: number;
  /** Suite order. */
  expectations: ExpectationResult[];
  /** PASS iff every `quarantine` expectation's `success` holds (`warn` ones are reported, not judged). */
  verdict: 'PASS' | 'FAIL';
}

/** Row flags: the row failed a quarantine expectation / a warn expectation. */
const QUARANTINED = 1;
const WARNED = 2;

/**
 * Evaluates ticks against an expectation suite, row by row in input order. A row is accepted when no
 * `quarantine` expectation fails it; only accepted rows update the state of stateful expectations
 * (`unique`, `increasing`, `max_change`), so a rejected row never becomes the reference for later ones.
 * Every expectation is evaluated on every row, so failure lists are complete and counts exact. `mostly`
 * does not change routing; it decides each expectation's success and thus the verdict.
 *
 * How it is fast: each expectation is compiled once into a specialised check. Per batch, the ticks are
 * read once, in one pass, into typed column arrays; stateless expectations then run over whole columns,
 * and only the stateful ones run row by row (their verdict depends on which earlier rows were accepted).
 * Passing rows allocate nothing; failure records are built only for quarantined rows.
 *
 * Batches must be evaluated one at a time, in order: that order defines what "earlier" means.
 */
/** One readable sentence for a failure, e.g. `price -1 violates between > 0`. */
export function describeFailure(f: RowFailure): string {
  return `${f.column ?? 'row'} ${JSON.stringify(f.observed)} violates ${f.type} ${f.threshold}`;
}

export class Gate {
  readonly suite: Suite;
  readonly #checks: readonly Check[];
  readonly #batchChecks: readonly BatchCheck[];
  /** Suite positions of `#batchChecks` / `#rowChecks`. */
  readonly #batchAt: readonly number[];
  readonly #rowChecks: readonly RowCheck[];
  readonly #rowAt: readonly number[];
  readonly #quarantines: Uint8Array;
  /** The row flag each row check sets when it fails a row. */
  readonly #rowBits: Uint8Array;
  readonly #batch: ColumnBatch;
  /** Per expectation, its PASS/FAIL/SKIP for each row of the current batch. */
  #codes: Uint8Array[] = [];
  /** The same memory as `#codes`, four rows per element. */
  #codeWords: Int32Array[] = [];
  #flags: Uint8Array = new Uint8Array(0);

  /** Compiles the suite's expectations; throws TL_ERR_SUITE when the suite is invalid. */
  constructor(suite: Suite) {
    this.suite = suite;
    const factories = checkFactories(suite);
    this.#checks = suite.expectations.map((e, i) => factories[i]!({ name: e.name, type: e.type, action: e.action }));
    const batchAt: number[] = [];
    const rowAt: number[] = [];
    this.#checks.forEach((c, j) => (c.kind === 'batch' ? batchAt : rowAt).push(j));
    this.#batchAt = batchAt;
    this.#rowAt = rowAt;
    this.#batchChecks = batchAt.map((j) => this.#checks[j] as BatchCheck);
    this.#rowChecks = rowAt.map((j) => this.#checks[j] as RowCheck);
    this.#quarantines = Uint8Array.from(suite.expectations, (e) => (e.action === 'quarantine' ? 1 : 0));
    this.#rowBits = Uint8Array.from(rowAt, (j) => (this.#quarantines[j] === 1 ? QUARANTINED : WARNED));
    this.#batch = new ColumnBatch();
  }

  /** Evaluates a batch in order; stateful expectations see rows accepted earlier (this batch and before). */
  evaluate(ticks: readonly Tick[]): GateResult {
    const n = ticks.length;
    const m = this.#checks.length;
    if (n > this.#flags.length) this.#grow(n);
    const batch = this.#batch;
    batch.load(ticks);
    const codes = this.#codes;
    const flags = this.#flags;
    flags.fill(0, 0, n);
    const skipped = new Int32Array(m);
    const failedCount = new Int32Array(m);

    // Stateless expectations: whole columns at a time.
    for (let k = 0; k < this.#batchChecks.length; k++) {
      const j = this.#batchAt[k]!;
      const out = codes[j]!;
      this.#batchChecks[k]!.run(batch, out);
      this.#tally(j, out, n, failedCount, skipped);
    }

    // Stateful expectations and routing: row by row, in order.
    const rowChecks = this.#rowChecks;
    const rowAt = this.#rowAt;
    const nr = rowChecks.length;
    const rowBits = this.#rowBits;
    for (const c of rowChecks) c.prepare(batch);
    const passed: Tick[] = [];
    const failed: Tick[] = [];
    const failures: RowFailure[][] = [];
    let warned = 0;
    for (let i = 0; i < n; i++) {
      let fl = flags[i]!;
      for (let k = 0; k < nr; k++) {
        const r = rowChecks[k]!.test(i);
        const j = rowAt[k]!;
        codes[j]![i] = r;
        if (r === FAIL) {
          failedCount[j]!++;
          fl |= rowBits[k]!;
        } else if (r === SKIP) skipped[j]!++;
      }
      if ((fl & QUARANTINED) === 0) {
        passed.push(ticks[i]!);
        if (fl !== 0) warned++;
        for (let k = 0; k < nr; k++) rowChecks[k]!.accept(i);
      } else {
        failed.push(ticks[i]!);
        // Now, before a later row is accepted: stateful checks describe the state this row was judged by.
        failures.push(this.#explain(i));
      }
    }
    batch.release();
    return this.#result(n, passed, failed, failures, warned, skipped, failedCount);
  }

  /**
   * Counts the failures and skips of expectation `j` and marks its failing rows in `#flags`. Results are
   * scanned four rows at a time through an Int32Array view: a batch is mostly PASS (0), and a zero word
   * settles four rows with one comparison.
   */
  #tally(j: number, out: Uint8Array, n: number, failedCount: Int32Array, skipped: Int32Array): void {
    const flags = this.#flags;
    const bit = this.#quarantines[j] === 1 ? QUARANTINED : WARNED;
    const words = this.#codeWords[j]!;
    let f = 0;
    let s = 0;
    for (let w = 0, nw = (n + 3) >> 2; w < nw; w++) {
      if (words[w] === 0) continue;
      for (let i = w << 2, end = Math.min(i + 4, n); i < end; i++) {
        const c = out[i]!;
        if (c === FAIL) {
          f++;
          flags[i] = flags[i]! | bit;
        } else if (c === SKIP) s++;
      }
    }
    failedCount[j] = f;
    skipped[j] = s;
  }

  /** Forgets all state (a replay or release starts from a fresh gate instead). */
  reset(): void {
    for (const c of this.#rowChecks) c.reset();
  }

  /** The failure records of quarantined row `i`: quarantine failures first, then warnings. */
  #explain(i: number): RowFailure[] {
    const out: RowFailure[] = [];
    for (const wanted of [1, 0]) {
      for (let j = 0; j < this.#checks.length; j++) {
        if (this.#codes[j]![i] === FAIL && this.#quarantines[j] === wanted) out.push(this.#checks[j]!.explain(this.#batch, i));
      }
    }
    return out;
  }

  #grow(n: number): void {
    const cap = 2 ** Math.ceil(Math.log2(Math.max(n, 64)));
    this.#codes = this.#checks.map(() => new Uint8Array(cap));
    this.#codeWords = this.#codes.map((c) => new Int32Array(c.buffer));
    this.#flags = new Uint8Array(cap);
  }

  #result(
    rows: number,
    passed: Tick[],
    failed: Tick[],
    failures: RowFailure[][],
    warned: number,
    skipped: Int32Array,
    failedCount: Int32Array,
  ): GateResult {
    let allSucceed = true;
    const expectations = this.suite.expectations.map((e, j): ExpectationResult => {
      const evaluated = rows - skipped[j]!;
      const nFailed = failedCount[j]!;
      // A division, not `failed <= (1 - mostly) * evaluated`: both sides of `>=` are then correctly
      // rounded, so a pass fraction exactly at `mostly` succeeds.
      const success = evaluated === 0 || (evaluated - nFailed) / evaluated >= e.mostly;
      // `warn` expectations are informational: they are reported but do not fail the batch.
      if (!success && e.action === 'quarantine') allSucceed = false;
      return { name: e.name, type: e.type, column: e.column, mostly: e.mostly, action: e.action, evaluated, failed: nFailed, success };
    });
    return { passed, failed, failures, warned, expectations, verdict: allSucceed ? 'PASS' : 'FAIL' };
  }
}
