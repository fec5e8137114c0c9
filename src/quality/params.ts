import { show } from '../core/errors.ts';
import { parseDurationMicros, type Micros } from '../core/time.ts';
import { COLUMN_KIND, COLUMNS, isColumn, type Column, type ColumnKind } from './columns.ts';

/** Receives one problem with one parameter; `value` is `undefined` when the parameter is missing. */
export type ReportProblem = (parameter: string, value: unknown, message: string) => void;

/** A duration parameter: its µs value and the text it was written as (kept for thresholds). */
export interface Duration {
  us: Micros;
  text: string;
}

const DURATION_HELP = 'a duration such as 500ms, 5s, 10m, 2h or 1d';

/**
 * Reads and checks the parameters of one expectation. Every getter reports what is wrong through
 * `report` (naming the parameter and its value) and returns `undefined` instead of throwing, so that one
 * pass over a suite file collects all of its problems. Valid values are recorded in `effective`, with
 * defaults filled in and in file notation (durations stay "10m"), which becomes `ExpectationSpec.params`.
 */
export class ParamReader {
  readonly effective: Record<string, unknown> = {};
  readonly #raw: Readonly<Record<string, unknown>>;
  readonly #report: ReportProblem;

  constructor(raw: Readonly<Record<string, unknown>>, report: ReportProblem) {
    this.#raw = raw;
    this.#report = report;
  }

  report(parameter: string, value: unknown, message: string): void {
    this.#report(parameter, value, message);
  }

  /** The raw value of `key`, or undefined when absent (an explicit null counts as absent). */
  raw(key: string): unknown {
    const v = this.#raw[key];
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  #missing(key: string, what: string): undefined {
    this.#report(key, undefined, `is required: ${what}`);
    return undefined;
  }

  /** A column name, optionally restricted to some kinds. */
  column(key: string, kinds: readonly ColumnKind[] | null, fallback?: Column): Column | undefined {
    const v = this.raw(key) ?? fallback;
    if (v === undefined) return this.#missing(key, 'a column name');
    if (!isColumn(v)) {
      this.#report(key, v, `unknown column; columns are ${COLUMNS.join(', ')}`);
      return undefined;
    }
    if (kinds !== null && !kinds.includes(COLUMN_KIND[v])) {
      this.#report(key, v, `is a ${COLUMN_KIND[v]} column; this expectation needs a ${kinds.join(' or ')} column`);
      return undefined;
    }
    this.effective[key] = v;
    return v;
  }

  /** A list of distinct column names. */
  columns(key: string, opts: { fallback?: readonly Column[]; nonEmpty: boolean }): Column[] | undefined {
    const v = this.raw(key) ?? opts.fallback;
    if (v === undefined) return this.#missing(key, 'a list of column names');
    if (!Array.isArray(v)) {
      this.#report(key, v, 'must be a list of column names');
      return undefined;
    }
    if (opts.nonEmpty && v.length === 0) {
      this.#report(key, v, 'must name at least one column');
      return undefined;
    }
    const out: Column[] = [];
    let ok = true;
    for (const c of v as unknown[]) {
      if (!isColumn(c)) {
        this.#report(key, c, `unknown column; columns are ${COLUMNS.join(', ')}`);
        ok = false;
      } else if (out.includes(c)) {
        this.#report(key, c, 'names the same column twice');
        ok = false;
      } else out.push(c);
    }
    if (!ok) return undefined;
    this.effective[key] = [...out];
    return out;
  }

  /** A finite number within the given bounds. */
  number(
    key: string,
    opts: { fallback?: number; required?: boolean; integer?: boolean; gt?: number; ge?: number; le?: number },
  ): number | undefined {
    const v = this.raw(key) ?? opts.fallback;
    if (v === undefined) return opts.required ? this.#missing(key, 'a number') : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.#report(key, v, `must be ${opts.integer ? 'an integer' : 'a number'}`);
      return undefined;
    }
    const bad =
      opts.integer && !Number.isInteger(v)
        ? 'must be an integer'
        : opts.gt !== undefined && !(v > opts.gt)
          ? `must be > ${opts.gt}`
          : opts.ge !== undefined && !(v >= opts.ge)
            ? `must be ≥ ${opts.ge}`
            : opts.le !== undefined && !(v <= opts.le)
              ? `must be ≤ ${opts.le}`
              : null;
    if (bad !== null) {
      this.#report(key, v, bad);
      return undefined;
    }
    this.effective[key] = v;
    return v;
  }

  boolean(key: string, fallback: boolean): boolean | undefined {
    const v = this.raw(key) ?? fallback;
    if (typeof v !== 'boolean') {
      this.#report(key, v, 'must be true or false');
      return undefined;
    }
    this.effective[key] = v;
    return v;
  }

  /** A duration string; `positive` rejects zero. */
  duration(key: string, opts: { required: boolean; positive: boolean }): Duration | undefined {
    const v = this.raw(key);
    if (v === undefined) return opts.required ? this.#missing(key, DURATION_HELP) : undefined;
    const us = typeof v === 'string' ? parseDurationMicros(v) : undefined;
    if (us === undefined) {
      this.#report(key, v, `must be ${DURATION_HELP}`);
      return undefined;
    }
    if (opts.positive && us <= 0) {
      this.#report(key, v, 'must be longer than zero');
      return undefined;
    }
    this.effective[key] = v;
    return { us, text: (v as string).trim() };
  }

  /** A non-empty string. */
  string(key: string, required: boolean): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return required ? this.#missing(key, 'a string') : undefined;
    if (typeof v !== 'string' || v === '') {
      this.#report(key, v, 'must be a non-empty string');
      return undefined;
    }
    this.effective[key] = v;
    return v;
  }

  /** Reports every key that is not one of `allowed`. */
  finish(allowed: readonly string[]): void {
    for (const key of Object.keys(this.#raw)) {
      if (!allowed.includes(key)) this.#report(key, this.#raw[key], `unknown parameter; allowed: ${allowed.join(', ')}`);
    }
  }
}

/**
 * Compiles a suite regex with full-string semantics: the value must match as a whole, as if the pattern
 * were written `^(?:pattern)$`; anchors already in the pattern are harmless. Returns an error text on a
 * bad pattern.
 */
export function compileFullMatch(pattern: string): RegExp | string {
  try {
    new RegExp(pattern);
    return new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    return `is not a valid regular expression (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** Quotes a value for a problem line; a missing value reads "(missing)". */
export function showParam(value: unknown): string {
  return value === undefined ? '(missing)' : show(value);
}
