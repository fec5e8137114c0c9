import type { Tick } from '../core/tick.ts';
import { COLUMN_KIND, getterOf, observedValue, type Column } from './columns.ts';
import type { Batch } from './definition.ts';

type KeyPart = string | number | null;
/** Nested arrays indexed by string ids, one level per column; the last level holds records. */
type IdTree = unknown[];

/**
 * Per-key records of a stateful expectation, keyed by the values of its `by` columns in the rows of the
 * current batch. The records live in nested Maps, one level per column (no key string is built per row).
 * When every `by` column is a string column, lookups go first through nested arrays indexed by the
 * batch's string ids (`Batch.ids`), which costs array reads instead of hashing; that cache is rebuilt
 * from the Maps on a miss and dropped when the batch restarts its numbering.
 *
 * Memory: one record per distinct key ever set (until `clear`).
 */
export class Keyed<S> {
  readonly #by: readonly Column[];
  readonly #byIds: boolean;
  readonly #root = new Map<KeyPart, unknown>();
  #only: S | undefined;
  #parts: Array<ArrayLike<KeyPart>> = [];
  #ids: Int32Array[] = [];
  #tree: IdTree = [];
  #generation = -1;

  constructor(by: readonly Column[]) {
    this.#by = by;
    this.#byIds = by.length > 0 && by.every((c) => COLUMN_KIND[c] === 'string');
  }

  /** Takes the batch's arrays of the `by` columns. */
  prepare(b: Batch): void {
    this.#parts = this.#by.map((c) => (COLUMN_KIND[c] === 'string' ? b.str(c) : b.num(c)));
    if (!this.#byIds) return;
    this.#ids = this.#by.map((c) => b.ids(c));
    if (b.generation !== this.#generation) {
      this.#tree = [];
      this.#generation = b.generation;
    }
  }

  /** The record of row `i`'s key. */
  get(i: number): S | undefined {
    if (this.#byIds) {
      const cached = this.#cached(i);
      if (cached !== undefined) return cached;
    }
    const r = this.#lookup(i);
    if (r !== undefined && this.#byIds) this.#cache(i, r);
    return r;
  }

  /** Stores the record of row `i`'s key. */
  set(i: number, record: S): void {
    const parts = this.#parts;
    const last = parts.length - 1;
    if (last < 0) {
      this.#only = record;
      return;
    }
    let m = this.#root;
    for (let l = 0; l < last; l++) {
      const k = parts[l]![i]!;
      let next = m.get(k) as Map<KeyPart, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        m.set(k, next);
      }
      m = next;
    }
    m.set(parts[last]![i]!, record);
    if (this.#byIds) this.#cache(i, record);
  }

  clear(): void {
    this.#root.clear();
    this.#only = undefined;
    this.#tree = [];
  }

  #lookup(i: number): S | undefined {
    const parts = this.#parts;
    const last = parts.length - 1;
    if (last < 0) return this.#only;
    let m: Map<KeyPart, unknown> | undefined = this.#root;
    for (let l = 0; l < last && m !== undefined; l++) m = m.get(parts[l]![i]!) as Map<KeyPart, unknown> | undefined;
    return m === undefined ? undefined : (m.get(parts[last]![i]!) as S | undefined);
  }

  #cached(i: number): S | undefined {
    const ids = this.#ids;
    let node: IdTree | undefined = this.#tree;
    for (let l = 0; l < ids.length - 1; l++) {
      const id = ids[l]![i]!;
      if (id < 0) return undefined;
      node = node[id] as IdTree | undefined;
      if (node === undefined) return undefined;
    }
    const id = ids[ids.length - 1]![i]!;
    return id < 0 ? undefined : (node[id] as S | undefined);
  }

  #cache(i: number, record: S): void {
    const ids = this.#ids;
    let node = this.#tree;
    for (let l = 0; l < ids.length - 1; l++) {
      const id = ids[l]![i]!;
      if (id < 0) return;
      let next = node[id] as IdTree | undefined;
      if (next === undefined) {
        next = [];
        fillTo(node, id);
        node[id] = next;
      }
      node = next;
    }
    const id = ids[ids.length - 1]![i]!;
    if (id < 0) return;
    fillTo(node, id);
    node[id] = record;
  }
}

/** Extends an array with undefined up to `index`, keeping it dense (a hole-free array stays fast). */
function fillTo(a: unknown[], index: number): void {
  while (a.length < index) a.push(undefined);
}

/** "symbol=AAPL, provider=sim": a row's key, for failure thresholds. */
export function describeKey(by: readonly Column[], t: Tick): string {
  return by.map((c) => `${c}=${String(observedValue(c, getterOf(c)(t)))}`).join(', ');
}
