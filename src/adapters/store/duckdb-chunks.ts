import { createRequire } from 'node:module';
import {
  BIGINT,
  DOUBLE,
  DuckDBDataChunk,
  TIMESTAMP,
  VARCHAR,
  type DuckDBType,
} from '@duckdb/node-api';

/**
 * Raw chunk building for DuckDB appends.
 *
 * The @duckdb/node-api vector wrappers cost one native call per VARCHAR value on flush and one bigint
 * object per TIMESTAMP value, which halves append throughput. Instead we fill plain typed arrays laid
 * out exactly like DuckDB's vectors and hand each column over with a single memcpy
 * (`copy_data_to_vector`): doubles as float64, TIMESTAMP/BIGINT as int64 written as two uint32 halves
 * (no BigInt), and VARCHAR as 16-byte `string_t` structs, which DuckDB stores inline for strings of at
 * most 12 UTF-8 bytes. Longer strings go through `vector_assign_string_element_len`, which copies them
 * into the vector's own heap.
 */

/** The few native functions used here; declared locally so nothing depends on the bindings' typings. */
interface RawBindings {
  vector_size(): number;
  data_chunk_reset(chunk: unknown): void;
  data_chunk_set_size(chunk: unknown, size: number): void;
  data_chunk_get_vector(chunk: unknown, columnIndex: number): unknown;
  copy_data_to_vector(vector: unknown, targetOffset: number, source: ArrayBufferLike, sourceOffset: number, byteCount: number): void;
  copy_data_to_vector_validity(vector: unknown, targetOffset: number, source: ArrayBufferLike, sourceOffset: number, byteCount: number): void;
  vector_ensure_validity_writable(vector: unknown): void;
  vector_assign_string_element_len(vector: unknown, index: number, data: Uint8Array): void;
}

// Resolved from @duckdb/node-api's own location: the bindings are its dependency, not ours, so this
// keeps working under package managers that do not hoist transitive packages.
const requireFromApi = createRequire(import.meta.resolve('@duckdb/node-api'));
export const raw = requireFromApi('@duckdb/node-bindings') as RawBindings;

/** Rows per DuckDB vector (2048 in every release so far). */
export const VECTOR_SIZE: number = raw.vector_size();

export type ColumnKind = 'varchar' | 'timestamp' | 'double' | 'bigint';

const TYPES: Record<ColumnKind, DuckDBType> = { varchar: VARCHAR, timestamp: TIMESTAMP, double: DOUBLE, bigint: BIGINT };
const WIDTH: Record<ColumnKind, number> = { varchar: 16, timestamp: 8, double: 8, bigint: 8 };
const TWO_32 = 4294967296;
const INLINE_MAX = 12;

/** The `ticks` columns in table order, shared by the adapter and the ceiling benchmark. */
export const TICK_COLUMNS: readonly ColumnKind[] = [
  'varchar', // symbol
  'timestamp', // ts
  'double', // price
  'double', // size
  'double', // bid
  'double', // ask
  'varchar', // currency
  'varchar', // provider
  'bigint', // seq
  'timestamp', // recv_ts
];

/** The `bars` (and `bars_stage`) columns in table order. */
export const BAR_COLUMNS: readonly ColumnKind[] = [
  'varchar', // symbol
  'varchar', // interval
  'timestamp', // start
  'double', // open
  'double', // high
  'double', // low
  'double', // close
  'double', // volume
  'bigint', // trades
  'timestamp', // first_ts
  'timestamp', // last_ts
];

const encoder = new TextEncoder();

/**
 * A string as DuckDB wants it: the 16-byte inline `string_t` when it fits, else its UTF-8 bytes.
 * Cached because the same few symbols, currencies and providers repeat in every batch.
 */
export class StringSlots {
  readonly #cache = new Map<string, Uint32Array | Uint8Array>();

  get(s: string): Uint32Array | Uint8Array {
    let slot = this.#cache.get(s);
    if (slot === undefined) {
      // Bounded so a stream of ever-new strings cannot grow the cache without limit.
      if (this.#cache.size >= 100_000) this.#cache.clear();
      slot = encodeSlot(s);
      this.#cache.set(s, slot);
    }
    return slot;
  }
}

function encodeSlot(s: string): Uint32Array | Uint8Array {
  const bytes = encoder.encode(s);
  if (bytes.length > INLINE_MAX) return bytes;
  const slot = new Uint8Array(16);
  new DataView(slot.buffer).setUint32(0, bytes.length, true);
  slot.set(bytes, 4);
  return new Uint32Array(slot.buffer);
}

/** Writes an integer-valued number as little-endian int64 at `out[2*i]`, without BigInt. */
export function putInt64(out: Uint32Array, i: number, x: number): void {
  const hi = Math.floor(x / TWO_32);
  out[2 * i] = x - hi * TWO_32;
  out[2 * i + 1] = hi; // ToUint32 wraps negative halves into two's complement
}

/**
 * One reusable DuckDB data chunk plus typed scratch arrays shaped like its vectors. Fill rows with the
 * setters (or the scratch arrays directly on hot paths), then `finish(rows)` copies every column into
 * the chunk with one memcpy each and returns it, ready for `appender.appendDataChunk`.
 */
export class ChunkBuilder {
  readonly kinds: readonly ColumnKind[];
  readonly chunk: DuckDBDataChunk;
  /** Per column: uint32 view of the scratch data (4 words per VARCHAR row, 2 per int64 row). */
  readonly u32: Uint32Array[];
  /** Per column: float64 view of the same scratch data (for DOUBLE columns). */
  readonly f64: Float64Array[];
  /** Per column: validity bitmap, bit set = valid, same layout as DuckDB's uint64 words on little-endian. */
  readonly validity: Uint32Array[];
  readonly hasNull: boolean[];
  /** Per column: a source to copy instead of the scratch array (zero-copy path for ready float64 data). */
  readonly source: ({ buffer: ArrayBufferLike; byteOffset: number } | null)[];
  readonly #long: { row: number; bytes: Uint8Array }[][];
  readonly #slots = new StringSlots();

  constructor(kinds: readonly ColumnKind[]) {
    this.kinds = kinds;
    this.chunk = DuckDBDataChunk.create(kinds.map((k) => TYPES[k]));
    this.u32 = [];
    this.f64 = [];
    this.validity = [];
    this.hasNull = [];
    this.source = [];
    this.#long = [];
    for (const kind of kinds) {
      const buf = new ArrayBuffer(WIDTH[kind] * VECTOR_SIZE);
      this.u32.push(new Uint32Array(buf));
      this.f64.push(new Float64Array(buf));
      this.validity.push(new Uint32Array(Math.ceil(VECTOR_SIZE / 64) * 2));
      this.hasNull.push(false);
      this.source.push(null);
      this.#long.push([]);
    }
  }

  /** Starts a new chunk: every value valid, no long strings, no external sources. */
  begin(): void {
    for (let c = 0; c < this.kinds.length; c++) {
      if (this.hasNull[c]) {
        this.validity[c]!.fill(0xffffffff);
        this.hasNull[c] = false;
      }
      this.source[c] = null;
      this.#long[c]!.length = 0;
    }
  }

  setNull(col: number, row: number): void {
    if (!this.hasNull[col]) {
      this.validity[col]!.fill(0xffffffff);
      this.hasNull[col] = true;
    }
    this.validity[col]![row >>> 5]! &= ~(1 << (row & 31));
  }

  setString(col: number, row: number, s: string): void {
    this.setSlot(col, row, this.#slots.get(s));
  }

  /** Writes a pre-encoded string (from `StringSlots`). */
  setSlot(col: number, row: number, slot: Uint32Array | Uint8Array): void {
    if (slot instanceof Uint32Array) {
      const out = this.u32[col]!;
      const j = row << 2;
      out[j] = slot[0]!;
      out[j + 1] = slot[1]!;
      out[j + 2] = slot[2]!;
      out[j + 3] = slot[3]!;
    } else {
      this.addLong(col, row, slot);
    }
  }

  /** Registers a string longer than the inline limit; written after the column's memcpy. */
  addLong(col: number, row: number, bytes: Uint8Array): void {
    this.#long[col]!.push({ row, bytes });
  }

  /** TIMESTAMP (µs) or BIGINT from an integer-valued number. */
  setInt64(col: number, row: number, x: number): void {
    putInt64(this.u32[col]!, row, x);
  }

  setDouble(col: number, row: number, x: number): void {
    this.f64[col]![row] = x;
  }

  /** Copies the filled rows into the DuckDB chunk and returns it. */
  finish(rows: number): DuckDBDataChunk {
    const chunk = this.chunk.chunk;
    raw.data_chunk_reset(chunk);
    raw.data_chunk_set_size(chunk, rows);
    for (let c = 0; c < this.kinds.length; c++) {
      const vector = raw.data_chunk_get_vector(chunk, c);
      const bytes = rows * WIDTH[this.kinds[c]!];
      const src = this.source[c];
      if (src) raw.copy_data_to_vector(vector, 0, src.buffer, src.byteOffset, bytes);
      else raw.copy_data_to_vector(vector, 0, this.u32[c]!.buffer, 0, bytes);
      if (this.hasNull[c]) {
        raw.vector_ensure_validity_writable(vector);
        raw.copy_data_to_vector_validity(vector, 0, this.validity[c]!.buffer, 0, Math.ceil(rows / 64) * 8);
      }
      for (const { row, bytes: text } of this.#long[c]!) raw.vector_assign_string_element_len(vector, row, text);
    }
    return this.chunk;
  }
}
