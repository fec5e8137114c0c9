import type { Column } from './columns.ts';
import type { Batch } from './definition.ts';

/** The value of an id nothing was cached for. */
export const UNKNOWN = -0x80000000;

/**
 * Small integers cached per string id of one column (`Batch.ids`), e.g. a regex verdict per symbol: an
 * array read per row instead of a hash lookup. Dropped when the batch restarts its numbering.
 */
export class IdCache {
  readonly column: Column;
  #values = new Int32Array(64).fill(UNKNOWN);
  #generation = -1;

  constructor(column: Column) {
    this.column = column;
  }

  /** Call once per batch, before `get`. */
  sync(b: Batch): void {
    if (b.generation !== this.#generation) {
      this.#values.fill(UNKNOWN);
      this.#generation = b.generation;
    }
  }

  /** Forgets every value (for an owner whose own numbering restarted). */
  clear(): void {
    this.#values.fill(UNKNOWN);
  }

  /** The cached value, or UNKNOWN. */
  get(id: number): number {
    return id < this.#values.length ? this.#values[id]! : UNKNOWN;
  }

  set(id: number, value: number): void {
    if (id >= this.#values.length) {
      const bigger = new Int32Array(2 ** Math.ceil(Math.log2(id + 1))).fill(UNKNOWN);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[id] = value;
  }
}
