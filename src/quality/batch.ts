import type { Tick } from '../core/tick.ts';
import { COLUMNS, type Column } from './columns.ts';
import type { Batch } from './definition.ts';

/** The columns of one batch: values (NaN / null where missing) and null masks, one array per column. */
interface Columns {
  symbol: Array<string | null>;
  currency: Array<string | null>;
  provider: Array<string | null>;
  ts: Float64Array;
  price: Float64Array;
  size: Float64Array;
  bid: Float64Array;
  ask: Float64Array;
  seq: Float64Array;
  received_at: Float64Array;
  nulls: Record<Column, Uint8Array>;
}

/**
 * Reads every column of every tick in one pass. One pass touches each tick object once, while it is in
 * the L1 cache; a pass per column would walk the whole batch of objects again for each column, and that
 * memory traffic, not the reads, is what extraction costs. Every property is read at a fixed name, so the
 * loads are monomorphic and doubles go straight into Float64Arrays, unboxed. The `== null` tests guard
 * against ticks built outside parseTick.
 */
function extract(ticks: readonly Tick[], n: number, c: Columns): void {
  const { symbol, currency, provider, ts, price, size, bid, ask, seq, received_at: recv } = c;
  const nl = c.nulls;
  const [nSymbol, nCurrency, nProvider, nTs, nPrice, nSize, nBid, nAsk, nSeq, nRecv] = [
    nl.symbol, nl.currency, nl.provider, nl.ts, nl.price, nl.size, nl.bid, nl.ask, nl.seq, nl.received_at,
  ];
  for (let i = 0; i < n; i++) {
    const t = ticks[i]!;
    const sy = t.symbol;
    nSymbol[i] = sy == null ? 1 : 0;
    symbol[i] = sy ?? null;
    const cu = t.currency;
    nCurrency[i] = cu == null ? 1 : 0;
    currency[i] = cu ?? null;
    const pr = t.provider;
    nProvider[i] = pr == null ? 1 : 0;
    provider[i] = pr ?? null;
    const e = t.ts;
    nTs[i] = e == null ? 1 : 0;
    ts[i] = e ?? NaN;
    const p = t.price;
    nPrice[i] = p == null ? 1 : 0;
    price[i] = p ?? NaN;
    const z = t.size;
    nSize[i] = z == null ? 1 : 0;
    size[i] = z ?? NaN;
    const b = t.bid;
    nBid[i] = b == null ? 1 : 0;
    bid[i] = b ?? NaN;
    const a = t.ask;
    nAsk[i] = a == null ? 1 : 0;
    ask[i] = a ?? NaN;
    const q = t.seq;
    nSeq[i] = q == null ? 1 : 0;
    seq[i] = q ?? NaN;
    const r = t.recvTs;
    nRecv[i] = r == null ? 1 : 0;
    recv[i] = r ?? NaN;
  }
}

function allocate(cap: number): Columns {
  const strings = () => new Array<string | null>(cap).fill(null);
  const nulls = {} as Record<Column, Uint8Array>;
  for (const c of COLUMNS) nulls[c] = new Uint8Array(cap);
  return {
    symbol: strings(), currency: strings(), provider: strings(),
    ts: new Float64Array(cap), price: new Float64Array(cap), size: new Float64Array(cap), bid: new Float64Array(cap),
    ask: new Float64Array(cap), seq: new Float64Array(cap), received_at: new Float64Array(cap), nulls,
  };
}

/** Distinct strings numbered per column; past this the numbering restarts (a new generation). */
const MAX_IDS = 1 << 20;

/** Numbers the distinct strings of one column in order of appearance. */
class Interner {
  readonly map = new Map<string, number>();
  readonly values: string[] = [];
  #last: string | null = null;
  #lastId = -1;

  /** Fills `out` with the ids of `strings[0 .. n)`. */
  number(strings: ReadonlyArray<string | null>, n: number, out: Int32Array): void {
    const map = this.map;
    let last = this.#last;
    let lastId = this.#lastId;
    for (let i = 0; i < n; i++) {
      const s = strings[i]!;
      // Consecutive rows often repeat a string (one provider, one currency): no hashing then.
      if (s === last) {
        out[i] = lastId;
        continue;
      }
      if (s === null) {
        out[i] = -1;
        continue;
      }
      let id = map.get(s);
      if (id === undefined) {
        id = this.values.length;
        map.set(s, id);
        this.values.push(s);
      }
      out[i] = id;
      last = s;
      lastId = id;
    }
    this.#last = last;
    this.#lastId = lastId;
  }

  clear(): void {
    this.map.clear();
    this.values.length = 0;
    this.#last = null;
    this.#lastId = -1;
  }
}

/**
 * The columns of the current batch. Arrays are kept between batches and only grow (to the largest batch
 * seen), so a steady stream of batches allocates no column memory.
 */
export class ColumnBatch implements Batch {
  size = 0;
  ticks: readonly Tick[] = [];
  generation = 0;
  #cols: Columns = allocate(0);
  #ids: Record<StringColumn, Int32Array> = allocateIds(0);
  readonly #interners: Record<StringColumn, Interner> = { symbol: new Interner(), currency: new Interner(), provider: new Interner() };
  #capacity = 0;

  load(ticks: readonly Tick[]): void {
    const n = ticks.length;
    if (n > this.#capacity) {
      // Powers of two, so a stream of slightly different batch sizes settles after one or two growths.
      this.#capacity = 2 ** Math.ceil(Math.log2(Math.max(n, 64)));
      this.#cols = allocate(this.#capacity);
      this.#ids = allocateIds(this.#capacity);
    }
    this.ticks = ticks;
    this.size = n;
    extract(ticks, n, this.#cols);
    const interners = this.#interners;
    if (STRING_COLUMNS.some((c) => interners[c].values.length > MAX_IDS)) {
      for (const c of STRING_COLUMNS) interners[c].clear();
      this.generation++;
    }
    for (const c of STRING_COLUMNS) interners[c].number(this.#cols[c], n, this.#ids[c]);
  }

  /** Drops the reference to the batch's ticks once it has been evaluated, so they can be collected. */
  release(): void {
    this.ticks = [];
    this.size = 0;
  }

  num(column: Column): Float64Array {
    const c = this.#cols;
    switch (column) {
      case 'ts': return c.ts;
      case 'price': return c.price;
      case 'size': return c.size;
      case 'bid': return c.bid;
      case 'ask': return c.ask;
      case 'seq': return c.seq;
      case 'received_at': return c.received_at;
      default: throw new Error(`column ${column} is not numeric`);
    }
  }

  nulls(column: Column): Uint8Array {
    return this.#cols.nulls[column];
  }

  str(column: Column): ReadonlyArray<string | null> {
    return this.#cols[stringColumn(column)];
  }

  ids(column: Column): Int32Array {
    return this.#ids[stringColumn(column)];
  }

  stringOf(column: Column, id: number): string {
    return this.#interners[stringColumn(column)].values[id]!;
  }
}

type StringColumn = 'symbol' | 'currency' | 'provider';
const STRING_COLUMNS: readonly StringColumn[] = ['symbol', 'currency', 'provider'];

function stringColumn(column: Column): StringColumn {
  if (column === 'symbol' || column === 'currency' || column === 'provider') return column;
  throw new Error(`column ${column} is not a string column`);
}

function allocateIds(cap: number): Record<StringColumn, Int32Array> {
  return { symbol: new Int32Array(cap), currency: new Int32Array(cap), provider: new Int32Array(cap) };
}
