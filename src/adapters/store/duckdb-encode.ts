import type { Tick } from '../../core/tick.ts';
import {
  C_COLUMNS, C_CURRENCY, C_PROVIDER, C_SYMBOL, F_ASK, F_BID, F_COLUMNS, F_PRICE, F_RECV, F_SEQ, F_SIZE, F_TS,
  type EncodedTicks,
} from './duckdb-protocol.ts';

/**
 * Main-thread half of a DuckDB write: ticks to columns, as cheaply as possible because it runs on the
 * pipeline's thread. No validation or conversion happens here (the worker checks timestamps while it
 * builds chunks anyway); nulls become NaN and strings become dictionary codes.
 */

const MIN_CAP = 1024;
/** Buffers above this many ticks are not pooled, so one huge batch does not pin its memory. */
const MAX_POOLED_CAP = 1 << 16;
const MAX_POOLED_PER_CAP = 4;

function capFor(n: number): number {
  let cap = MIN_CAP;
  while (cap < n) cap *= 2;
  return cap;
}

/** Column buffers handed back by the worker after a write, reused for the next ones. */
export class BufferPool {
  readonly #free = new Map<number, { f64: ArrayBuffer; codes: ArrayBuffer }[]>();

  take(n: number): { cap: number; f64: ArrayBuffer; codes: ArrayBuffer } {
    const cap = capFor(n);
    const hit = this.#free.get(cap)?.pop();
    if (hit) return { cap, ...hit };
    // Codes are sized for the wide (uint32) case so a buffer serves either width.
    return { cap, f64: new ArrayBuffer(F_COLUMNS * cap * 8), codes: new ArrayBuffer(C_COLUMNS * cap * 4) };
  }

  give(cap: number, f64: ArrayBuffer, codes: ArrayBuffer): void {
    if (cap > MAX_POOLED_CAP || f64.byteLength !== F_COLUMNS * cap * 8 || codes.byteLength !== C_COLUMNS * cap * 4) return;
    let list = this.#free.get(cap);
    if (!list) this.#free.set(cap, (list = []));
    if (list.length < MAX_POOLED_PER_CAP) list.push({ f64, codes });
  }
}

export function encodeTicks(ticks: readonly Tick[], pool: BufferPool): EncodedTicks {
  const n = ticks.length;
  const { cap, f64, codes } = pool.take(n);
  encodeNumbers(ticks, new Float64Array(f64, 0, F_COLUMNS * cap), cap);
  let dict = encodeStrings(ticks, new Uint16Array(codes, 0, C_COLUMNS * cap), cap, 0xffff);
  let wide = false;
  if (dict === null) {
    dict = encodeStrings(ticks, new Uint32Array(codes, 0, C_COLUMNS * cap), cap, 0xffffffff)!;
    wide = true;
  }
  return { n, cap, f64, codes, wide, dict };
}

function encodeNumbers(ticks: readonly Tick[], f: Float64Array, cap: number): void {
  const n = ticks.length;
  const price = F_PRICE * cap;
  const size = F_SIZE * cap;
  const bid = F_BID * cap;
  const ask = F_ASK * cap;
  const seq = F_SEQ * cap;
  const recv = F_RECV * cap;
  const ts = F_TS * cap;
  for (let i = 0; i < n; i++) {
    const t = ticks[i]!;
    f[ts + i] = t.ts;
    f[price + i] = t.price;
    f[size + i] = t.size;
    const b = t.bid;
    f[bid + i] = b === null ? NaN : b;
    const a = t.ask;
    f[ask + i] = a === null ? NaN : a;
    const s = t.seq;
    f[seq + i] = s === null ? NaN : s;
    f[recv + i] = t.recvTs;
  }
}

/** Fills the code columns; returns the dictionary, or null when it would exceed `maxCode`. */
function encodeStrings(ticks: readonly Tick[], out: Uint16Array | Uint32Array, cap: number, maxCode: number): string[] | null {
  const n = ticks.length;
  const dict: string[] = [];
  const index = new Map<string, number>();
  const code = (s: string): number => {
    let c = index.get(s);
    if (c === undefined) {
      c = dict.length;
      if (c > maxCode) return -1;
      dict.push(s);
      index.set(s, c);
    }
    return c;
  };
  const cur = C_CURRENCY * cap;
  const prov = C_PROVIDER * cap;
  const sym = C_SYMBOL * cap;
  // Consecutive ticks mostly repeat currency and provider (and often symbol): skip the map for those.
  let lastSym: string | null = null;
  let lastCur: string | null = null;
  let lastProv: string | null = null;
  let symCode = 0;
  let curCode = 0;
  let provCode = 0;
  for (let i = 0; i < n; i++) {
    const t = ticks[i]!;
    if (t.symbol !== lastSym) {
      symCode = code(t.symbol);
      if (symCode < 0) return null;
      lastSym = t.symbol;
    }
    if (t.currency !== lastCur) {
      curCode = code(t.currency);
      if (curCode < 0) return null;
      lastCur = t.currency;
    }
    if (t.provider !== lastProv) {
      provCode = code(t.provider);
      if (provCode < 0) return null;
      lastProv = t.provider;
    }
    out[sym + i] = symCode;
    out[cur + i] = curCode;
    out[prov + i] = provCode;
  }
  return dict;
}
