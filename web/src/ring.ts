/**
 * A fixed-capacity ring of numbers: pushing past the capacity drops the oldest. Used for the recent prices
 * behind each sparkline and the stats history, so memory stays bounded however long the page is open,
 * and a push allocates nothing.
 */
export class Ring {
  readonly capacity: number;
  #buf: Float64Array;
  #start = 0;
  #length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#buf = new Float64Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  push(v: number): void {
    if (this.#length < this.capacity) {
      this.#buf[(this.#start + this.#length) % this.capacity] = v;
      this.#length++;
    } else {
      this.#buf[this.#start] = v;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /** The newest value, or NaN when empty. */
  last(): number {
    return this.#length === 0 ? Number.NaN : this.#buf[(this.#start + this.#length - 1) % this.capacity]!;
  }

  /** Copies the values oldest first into `out` (at least `length` long); returns how many. */
  copyTo(out: Float64Array): number {
    const n = Math.min(this.#length, out.length);
    const skip = this.#length - n; // keep the newest when `out` is short
    for (let i = 0; i < n; i++) out[i] = this.#buf[(this.#start + skip + i) % this.capacity]!;
    return n;
  }

  clear(): void {
    this.#start = 0;
    this.#length = 0;
  }
}
