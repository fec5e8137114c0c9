/**
 * The write hot path on the Node side: one pass over a batch that checks it, orders it, and encodes it
 * as a binary COPY payload, collecting what the store needs besides the rows (the UTC days touched, for
 * partitions, and per symbol and day the count and first/last event time).
 */
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { mergeBar, type Bar } from '../../core/bar.ts';
import { show, TicklineError } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import { DAY_US } from './postgres-sql.ts';

/** Postgres timestamps count µs from 2000-01-01. */
const PG_EPOCH_US = 946_684_800_000_000;
const TWO_32 = 4_294_967_296;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Field count (2) + 10 length words + the fixed-width values; strings come on top. */
const FIXED_ROW_BYTES = 2 + 10 * 4 + 7 * 8;

export interface DayStats {
  symbol: string;
  day: number;
  ticks: number;
  first: number;
  last: number;
}

export interface PreparedTicks {
  /** The complete binary COPY payload (signature, rows, trailer). */
  payload: Buffer;
  rows: number;
  /** Distinct UTC days (since the epoch) of the ticks' event times. */
  days: number[];
  stats: DayStats[];
}

/** UTF-8 of the few distinct symbols, currencies and providers, so each is encoded once. */
const UTF8 = new Map<string, Buffer>();

function utf8(s: string): Buffer {
  let b = UTF8.get(s);
  if (b === undefined) {
    if (typeof s !== 'string') throw new TypeError(`expected a string, got ${show(s)}`);
    b = Buffer.from(s, 'utf8');
    if (UTF8.size > 10_000) UTF8.clear();
    UTF8.set(s, b);
  }
  return b;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The order every writer inserts ticks in. Any fixed total order over the identity avoids deadlocks
 * between concurrent writers of overlapping batches; event time first because batches nearly always
 * arrive in it already, so checking costs one pass and sorting is rare.
 */
function cmpTicks(a: Tick, b: Tick): number {
  return (
    a.ts - b.ts ||
    cmpStr(a.symbol, b.symbol) ||
    cmpStr(a.provider, b.provider) ||
    (a.seq === b.seq ? 0 : a.seq === null ? -1 : b.seq === null ? 1 : a.seq - b.seq)
  );
}

function badTick(i: number, t: Tick, field: string, v: unknown, why: string): TicklineError {
  return new TicklineError('TL_ERR_STORE', `cannot store tick ${i} (${show(t?.symbol)}): ${field} is ${show(v)}, ${why}`);
}

export function prepareTicks(input: readonly Tick[]): PreparedTicks {
  const n = input.length;
  // Checked first, so that a bad tick fails the batch before it is sorted or sent.
  for (let i = 0; i < n; i++) {
    const t = input[i]!;
    if (!Number.isSafeInteger(t.ts)) throw badTick(i, t, 'ts', t.ts, 'not an integer number of µs');
    if (!Number.isSafeInteger(t.recvTs)) throw badTick(i, t, 'recvTs', t.recvTs, 'not an integer number of µs');
    if (t.seq !== null && !Number.isNaN(t.seq) && !Number.isSafeInteger(t.seq)) throw badTick(i, t, 'seq', t.seq, 'not an integer');
    if (typeof t.symbol !== 'string' || typeof t.provider !== 'string' || typeof t.currency !== 'string') {
      throw badTick(i, t, 'symbol/provider/currency', [t.symbol, t.provider, t.currency], 'not all strings');
    }
  }
  let ticks = input;
  for (let i = 1; i < n; i++) {
    if (cmpTicks(input[i - 1]!, input[i]!) > 0) {
      ticks = [...input].sort(cmpTicks);
      break;
    }
  }

  let buf = Buffer.allocUnsafe(19 + n * (FIXED_ROW_BYTES + 24) + 2);
  let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  SIGNATURE.copy(buf, 0);
  view.setUint32(11, 0); // flags
  view.setUint32(15, 0); // header extension length
  let o = 19;

  const days: number[] = [];
  const stats: DayStats[] = [];
  const bySymbol = new Map<string, DayStats>();
  let lastDay = NaN;

  const putStr = (b: Buffer) => {
    view.setInt32(o, b.length);
    b.copy(buf, o + 4);
    o += 4 + b.length;
  };
  const putF64 = (v: number | null) => {
    if (v === null || Number.isNaN(v)) {
      view.setInt32(o, -1);
      o += 4;
    } else {
      view.setInt32(o, 8);
      view.setFloat64(o + 4, v);
      o += 12;
    }
  };
  const putI64 = (v: number) => {
    const hi = Math.floor(v / TWO_32);
    view.setInt32(o, 8);
    view.setInt32(o + 4, hi);
    view.setUint32(o + 8, v - hi * TWO_32);
    o += 12;
  };

  for (let i = 0; i < n; i++) {
    const t = ticks[i]!;
    const sym = utf8(t.symbol);
    const cur = utf8(t.currency);
    const prov = utf8(t.provider);
    const need = o + FIXED_ROW_BYTES + sym.length + cur.length + prov.length + 2;
    if (need > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
      buf.copy(bigger, 0, 0, o);
      buf = bigger;
      view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    view.setInt16(o, 10);
    o += 2;
    putStr(sym);
    putI64(t.ts - PG_EPOCH_US);
    putF64(t.price);
    putF64(t.size);
    putF64(t.bid);
    putF64(t.ask);
    putStr(cur);
    putStr(prov);
    if (t.seq === null || Number.isNaN(t.seq)) {
      view.setInt32(o, -1);
      o += 4;
    } else {
      putI64(t.seq);
    }
    putI64(t.recvTs - PG_EPOCH_US);

    const day = Math.floor(t.ts / DAY_US);
    if (day !== lastDay) {
      if (!days.includes(day)) days.push(day);
      lastDay = day;
    }
    let st = bySymbol.get(t.symbol);
    if (st === undefined || st.day !== day) {
      st = stats.find((x) => x.symbol === t.symbol && x.day === day);
      if (st === undefined) {
        st = { symbol: t.symbol, day, ticks: 0, first: t.ts, last: t.ts };
        stats.push(st);
      }
      bySymbol.set(t.symbol, st);
    }
    st.ticks++;
    // Sorted by ts, so the first seen is the earliest.
    st.last = t.ts;
  }
  view.setInt16(o, -1); // trailer
  o += 2;
  return { payload: buf.subarray(0, o), rows: n, days, stats };
}

/** Sends a COPY … FROM STDIN payload; resolves when the server has taken every row. */
export function copyIn(client: PoolClient, sql: string, payload: Buffer): Promise<number> {
  const stream = client.query(copyFrom(sql));
  return new Promise<number>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', () => resolve(stream.rowCount));
    // One CopyData message per MiB keeps each socket write modest.
    const MIB = 1 << 20;
    for (let off = 0; off < payload.length; off += MIB) stream.write(payload.subarray(off, Math.min(off + MIB, payload.length)));
    stream.end();
  });
}

/** Column arrays for `unnest`, one entry per bar key (parts of one key merged in order with mergeBar). */
export interface BarColumns {
  count: number;
  values: [string[], string[], number[], number[], number[], number[], number[], number[], number[], number[], number[]];
}

export function prepareBars(bars: readonly Bar[]): BarColumns {
  const byKey = new Map<string, Bar>();
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    for (const f of ['start', 'firstTs', 'lastTs'] as const) {
      if (!Number.isSafeInteger(b[f])) {
        throw new TicklineError('TL_ERR_STORE', `cannot store bar ${i} (${show(b.symbol)} ${show(b.interval)}): ${f} is ${show(b[f])}, not an integer number of µs`);
      }
    }
    const key = `${b.symbol}\u0000${b.interval}\u0000${b.start}`;
    const prev = byKey.get(key);
    byKey.set(key, prev === undefined ? b : mergeBar(prev, b));
  }
  const values: BarColumns['values'] = [[], [], [], [], [], [], [], [], [], [], []];
  for (const b of byKey.values()) {
    values[0].push(b.symbol);
    values[1].push(b.interval);
    values[2].push(b.start);
    values[3].push(b.open);
    values[4].push(b.high);
    values[5].push(b.low);
    values[6].push(b.close);
    values[7].push(b.volume);
    values[8].push(b.trades);
    values[9].push(b.firstTs);
    values[10].push(b.lastTs);
  }
  return { count: byKey.size, values };
}

export function statsColumns(stats: readonly DayStats[]): [string[], number[], number[], number[], number[]] {
  return [stats.map((s) => s.symbol), stats.map((s) => s.day), stats.map((s) => s.ticks), stats.map((s) => s.first), stats.map((s) => s.last)];
}
