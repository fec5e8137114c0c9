import { TicklineError } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';

/**
 * The wire encoding of a batch of ticks on kafka:// and nats:// (documented in docs/buses.md).
 *
 * Version 1, little-endian, columnar so encoding and decoding are a few typed-array copies:
 *
 *   offset 0  "TL"            magic (0x54 0x4c)
 *          2  u8  version     = 1
 *          3  u8  flags       = 0 (reserved)
 *          4  u32 n           ticks in the batch
 *          8  u16 d           strings in the dictionary
 *         10  d × (u16 byteLength, UTF-8 bytes)      symbols, currencies and providers
 *          …  padding to a multiple of 8
 *          …  f64[n] ts, price, size, bid, ask, seq, recvTs   (NaN encodes null for bid, ask, seq)
 *          …  u16[n] symbol, currency, provider               (dictionary indexes)
 *
 * Decoding validates everything: a message from the bus is untrusted input like an API body.
 */
export const CODEC_VERSION = 1;
const MAGIC0 = 0x54;
const MAGIC1 = 0x4c;
const F64_COLS = 7;
const U16_COLS = 3;
const MAX_STR = 64;

export const BUS_CONTENT_TYPE = 'application/vnd.tickline.ticks.v1';

export function encodeTicks(ticks: readonly Tick[]): Uint8Array {
  const n = ticks.length;
  const dict = new Map<string, number>();
  const codes = new Uint16Array(n * U16_COLS);
  const intern = (s: string): number => {
    let c = dict.get(s);
    if (c === undefined) {
      c = dict.size;
      if (c > 0xffff) throw new TicklineError('TL_ERR_BAD_MESSAGE', 'a batch may hold at most 65536 distinct strings');
      dict.set(s, c);
    }
    return c;
  };
  for (let i = 0; i < n; i++) {
    const t = ticks[i]!;
    codes[i] = intern(t.symbol);
    codes[n + i] = intern(t.currency);
    codes[2 * n + i] = intern(t.provider);
  }
  const enc = new TextEncoder();
  const strs = [...dict.keys()].map((s) => enc.encode(s));
  let head = 10;
  for (const b of strs) head += 2 + b.length;
  const pad = (8 - (head % 8)) % 8;
  const f64At = head + pad;
  const u16At = f64At + n * 8 * F64_COLS;
  const total = u16At + n * 2 * U16_COLS;
  const buf = new ArrayBuffer(total);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  bytes[0] = MAGIC0;
  bytes[1] = MAGIC1;
  bytes[2] = CODEC_VERSION;
  bytes[3] = 0;
  view.setUint32(4, n, true);
  view.setUint16(8, strs.length, true);
  let o = 10;
  for (const b of strs) {
    view.setUint16(o, b.length, true);
    bytes.set(b, o + 2);
    o += 2 + b.length;
  }
  const f = new Float64Array(buf, f64At, n * F64_COLS);
  for (let i = 0; i < n; i++) {
    const t = ticks[i]!;
    f[i] = t.ts;
    f[n + i] = t.price;
    f[2 * n + i] = t.size;
    f[3 * n + i] = t.bid ?? NaN;
    f[4 * n + i] = t.ask ?? NaN;
    f[5 * n + i] = t.seq ?? NaN;
    f[6 * n + i] = t.recvTs;
  }
  new Uint16Array(buf, u16At, n * U16_COLS).set(codes);
  return bytes;
}

function bad(msg: string): TicklineError {
  return new TicklineError('TL_ERR_BAD_MESSAGE', `bus message rejected: ${msg}`);
}

/** Decodes and validates one message. Throws TL_ERR_BAD_MESSAGE naming the first problem found. */
export function decodeTicks(data: Uint8Array): Tick[] {
  if (data.byteLength < 10) throw bad(`${data.byteLength} bytes is shorter than the header`);
  if (data[0] !== MAGIC0 || data[1] !== MAGIC1) throw bad('not a Tickline batch (magic bytes differ)');
  if (data[2] !== CODEC_VERSION) throw bad(`encoding version ${data[2]} is not supported (this build reads ${CODEC_VERSION})`);
  // Typed-array views need 8-byte alignment: copy when the transport hands us an unaligned slice.
  // (Buffer#slice returns a view, so copy explicitly.)
  const bytes = data.byteOffset % 8 === 0 ? data : new Uint8Array(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(4, true);
  const d = view.getUint16(8, true);
  const dec = new TextDecoder('utf-8', { fatal: true });
  const dict: string[] = [];
  let o = 10;
  for (let k = 0; k < d; k++) {
    if (o + 2 > bytes.byteLength) throw bad('dictionary runs past the end');
    const len = view.getUint16(o, true);
    if (o + 2 + len > bytes.byteLength) throw bad('dictionary runs past the end');
    let s: string;
    try {
      s = dec.decode(bytes.subarray(o + 2, o + 2 + len));
    } catch {
      throw bad(`dictionary string ${k} is not valid UTF-8`);
    }
    if (s.length === 0 || s.length > MAX_STR) throw bad(`dictionary string ${k} has length ${s.length} (1..${MAX_STR})`);
    dict.push(s);
    o += 2 + len;
  }
  const f64At = o + ((8 - (o % 8)) % 8);
  const u16At = f64At + n * 8 * F64_COLS;
  if (u16At + n * 2 * U16_COLS !== bytes.byteLength) {
    throw bad(`length ${bytes.byteLength} does not match ${n} ticks and ${d} strings`);
  }
  const f = new Float64Array(bytes.buffer, bytes.byteOffset + f64At, n * F64_COLS);
  const c = new Uint16Array(bytes.buffer, bytes.byteOffset + u16At, n * U16_COLS);
  const out = new Array<Tick>(n);
  for (let i = 0; i < n; i++) {
    const ts = f[i]!;
    const recvTs = f[6 * n + i]!;
    // Anything the ingest API accepts must travel: implausible times (year 2999) are the quality
    // checks' business, not the transport's, so only the representation is checked here.
    if (!Number.isFinite(ts) || ts < 0 || ts !== Math.floor(ts)) throw bad(`tick ${i}: ts ${ts} is not a µs timestamp`);
    if (!Number.isFinite(recvTs) || recvTs < 0) throw bad(`tick ${i}: received_at ${recvTs} is not a µs timestamp`);
    const price = f[n + i]!;
    const size = f[2 * n + i]!;
    if (!Number.isFinite(price)) throw bad(`tick ${i}: price ${price} is not finite`);
    if (!Number.isFinite(size)) throw bad(`tick ${i}: size ${size} is not finite`);
    const bid = f[3 * n + i]!;
    const ask = f[4 * n + i]!;
    const seq = f[5 * n + i]!;
    if (!Number.isNaN(seq) && !Number.isSafeInteger(seq)) throw bad(`tick ${i}: seq ${seq} is not an integer`);
    const s = c[i]!;
    const cur = c[n + i]!;
    const prov = c[2 * n + i]!;
    if (s >= d || cur >= d || prov >= d) throw bad(`tick ${i}: string index out of the dictionary`);
    out[i] = {
      symbol: dict[s]!,
      ts,
      price,
      size,
      bid: Number.isNaN(bid) ? null : bid,
      ask: Number.isNaN(ask) ? null : ask,
      currency: dict[cur]!,
      provider: dict[prov]!,
      seq: Number.isNaN(seq) ? null : seq,
      recvTs,
    };
  }
  return out;
}
