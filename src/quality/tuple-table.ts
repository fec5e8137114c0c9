/**
 * A hash table from fixed-width tuples of numbers to one number (an event time), for the `unique`
 * expectation: hundreds of thousands of recent keys without a JS object or string per key, so no garbage
 * per row. Two typed arrays:
 *
 * - `entries`, appended in insertion order, `width + 1` numbers each: [value, t0, t1, ...]. Appending
 *   is sequential, so it costs no cache miss however large the table.
 * - `slots`, an open-addressing index (linear probing) of 4 bytes per slot: 0 for empty, else 7 bits of
 *   the key's hash and the entry number. A lookup of an absent key (most rows are not duplicates) reads
 *   only this compact array, and reads an entry only when the 7 hash bits match.
 *
 * The index is maintained lazily: `append` only writes the entry, and the next lookup first indexes the
 * entries appended since. A stream that rarely needs a lookup (see UniqueCheck) therefore rarely pays
 * for hashing and the index's random memory accesses.
 *
 * There is no per-entry delete: the owner drops the whole table at once with `clear` (see UniqueCheck),
 * which keeps the arrays for reuse.
 */
export class TupleTable {
  readonly width: number;
  readonly #stride: number;
  #slots: Int32Array;
  #mask: number;
  #entries: Float64Array;
  #count = 0;
  /** Entries [0, #indexed) are in `#slots`. */
  #indexed = 0;

  /** The largest number of entries (the entry number must fit in 24 bits). */
  static readonly MAX_ENTRIES = (1 << 24) - 2;

  constructor(width: number) {
    this.width = width;
    this.#stride = width + 1;
    this.#slots = new Int32Array(1024);
    this.#mask = 1023;
    this.#entries = new Float64Array(512 * this.#stride);
  }

  get size(): number {
    return this.#count;
  }

  /** The value stored for `tuple`, or NaN when absent. */
  get(tuple: Float64Array): number {
    this.#catchUp();
    const e = this.#find(tuple, hashTuple(tuple, 0, this.width));
    return e < 0 ? NaN : this.#entries[e * this.#stride]!;
  }

  /** Stores `value` for `tuple`, replacing the value of an equal tuple. */
  set(tuple: Float64Array, value: number): void {
    this.#catchUp();
    const e = this.#find(tuple, hashTuple(tuple, 0, this.width));
    if (e >= 0) this.#entries[e * this.#stride] = value;
    else this.append(tuple, value);
  }

  /**
   * Adds `tuple` without looking for an equal one: only for a tuple known to be absent, else lookups may
   * find either copy. Throws past MAX_ENTRIES (the owner clears before that).
   */
  append(tuple: Float64Array, value: number): void {
    const e = this.#count;
    if (e >= TupleTable.MAX_ENTRIES) throw new RangeError('TupleTable is full');
    if ((e + 1) * this.#stride > this.#entries.length) this.#growEntries();
    const entries = this.#entries;
    const base = e * this.#stride;
    entries[base] = value;
    for (let c = 0; c < this.width; c++) entries[base + 1 + c] = tuple[c]!;
    this.#count = e + 1;
  }

  /** Empties the table, keeping its arrays. */
  clear(): void {
    if (this.#indexed > 0) this.#slots.fill(0);
    this.#count = 0;
    this.#indexed = 0;
  }

  /** Indexes the entries appended since the last lookup. */
  #catchUp(): void {
    if (this.#indexed === this.#count) return;
    // Load factor at most 1/2 keeps probe runs short.
    if (this.#count * 2 > this.#mask + 1) {
      const cap = 2 ** Math.ceil(Math.log2(this.#count * 2));
      this.#slots = new Int32Array(cap);
      this.#mask = cap - 1;
      this.#indexed = 0;
    }
    for (let e = this.#indexed; e < this.#count; e++) this.#index(hashTuple(this.#entries, e * this.#stride + 1, this.width), e);
    this.#indexed = this.#count;
  }

  /** The entry number of `tuple`, or -1. */
  #find(tuple: Float64Array, hash: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const tag = tagOf(hash);
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      if (s >>> 24 === tag) {
        const e = (s & 0xffffff) - 1;
        if (this.#sameTuple(e, tuple)) return e;
      }
    }
  }

  #sameTuple(e: number, tuple: Float64Array): boolean {
    const entries = this.#entries;
    const base = e * this.#stride + 1;
    for (let c = 0; c < this.width; c++) if (entries[base + c] !== tuple[c]) return false;
    return true;
  }

  #index(hash: number, e: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = (tagOf(hash) << 24) | (e + 1);
  }

  #growEntries(): void {
    const bigger = new Float64Array(this.#entries.length * 2);
    bigger.set(this.#entries);
    this.#entries = bigger;
  }
}

/** 7 bits of the hash other than those choosing the slot, never 0 (0 marks an empty slot). */
function tagOf(hash: number): number {
  return (hash >>> 24) || 1;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * A 31-bit hash of `width` numbers from `tuple[offset]`: each number's two 32-bit halves are folded in
 * by multiplication, then the result is avalanched (the finaliser of "lowbias32"), so that nearby
 * timestamps and small ids spread over all bits.
 */
export function hashTuple(tuple: Float64Array, offset: number, width: number): number {
  let h = 0x811c9dc5;
  for (let c = 0; c < width; c++) {
    f64[0] = tuple[offset + c]!;
    h = Math.imul(h ^ u32[0]!, 0x9e3779b1);
    h = Math.imul(h ^ u32[1]!, 0x85ebca77);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return h & 0x7fffffff;
}
