import { formatIsoMicros, nowMicros, toMicros, type Micros } from './time.ts';
import { show } from './errors.ts';

/**
 * The one canonical price update. Every source, the bus codecs, the API and the stores speak it.
 * Objects always carry every field (nulls, never missing keys) so the hot path stays monomorphic.
 */
export interface Tick {
  /** Instrument, upper case, e.g. `AAPL`, `BTC-USD`. */
  symbol: string;
  /** Event time, µs since the epoch, UTC (microseconds kept when the source has them). */
  ts: Micros;
  price: number;
  /** Traded or quoted size; 0 when the source has none. */
  size: number;
  bid: number | null;
  ask: number | null;
  /** ISO 4217 (or crypto) code, upper case. */
  currency: string;
  /** Where the tick came from: `sim`, `api`, `yahoo`, ... */
  provider: string;
  /** The source's sequence number, when it has one. */
  seq: number | null;
  /** When Tickline first saw the tick, µs since the epoch. */
  recvTs: Micros;
}

/** One problem with one input record: which record, which field, the value seen, and why. */
export interface FieldIssue {
  index: number;
  field: string;
  value: unknown;
  message: string;
}

export interface TickDefaults {
  provider: string;
  currency: string;
  recvTs?: Micros;
}

const MAX_STR = 64;

function readNumber(
  rec: Record<string, unknown>,
  keys: readonly string[],
  index: number,
  issues: FieldIssue[],
  required: boolean,
): number | null {
  for (const key of keys) {
    const v = rec[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return v;
      issues.push({ index, field: key, value: v, message: `${key} must be a finite number, got ${show(v)}` });
      return null;
    }
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    issues.push({ index, field: key, value: v, message: `${key} must be a number, got ${show(v)}` });
    return null;
  }
  if (required) {
    issues.push({ index, field: keys[0]!, value: undefined, message: `${keys[0]} is required` });
  }
  return null;
}

function readString(
  rec: Record<string, unknown>,
  key: string,
  index: number,
  issues: FieldIssue[],
): string | undefined {
  const v = rec[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    issues.push({ index, field: key, value: v, message: `${key} must be a string, got ${show(v)}` });
    return undefined;
  }
  if (v.length > MAX_STR) {
    issues.push({ index, field: key, value: v, message: `${key} is longer than ${MAX_STR} characters` });
    return undefined;
  }
  return v;
}

const KNOWN_FIELDS = new Set([
  'symbol', 'ts', 'timestamp', 'time', 'price', 'size', 'volume', 'bid', 'ask',
  'currency', 'provider', 'seq', 'received_at',
]);

/**
 * Turns one untrusted record (API body, file row, bus message) into a Tick, or says exactly what is wrong.
 * Structural problems (wrong type, missing field) are reported here; values that are well-formed but
 * implausible (negative price, crossed quote, bad symbol format) pass through to the quality checks,
 * which quarantine them with a reason instead of rejecting the request.
 *
 * Accepted aliases: `timestamp`/`time` for `ts`, `volume` for `size` (the seed systems' names).
 * `ts` may be ISO 8601 (µs kept) or epoch seconds/ms/µs/ns.
 */
export function parseTick(input: unknown, index: number, defaults: TickDefaults): Tick | FieldIssue[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ index, field: '(record)', value: input, message: `record must be a JSON object, got ${show(input)}` }];
  }
  const rec = input as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(rec)) {
    if (!KNOWN_FIELDS.has(key)) {
      issues.push({ index, field: key, value: rec[key], message: `unknown field ${show(key)}; allowed: ${[...KNOWN_FIELDS].join(', ')}` });
    }
  }
  const symbolRaw = readString(rec, 'symbol', index, issues);
  if (symbolRaw === undefined && !issues.some((i) => i.field === 'symbol')) {
    issues.push({ index, field: 'symbol', value: undefined, message: 'symbol is required' });
  }
  const price = readNumber(rec, ['price'], index, issues, true);
  const size = readNumber(rec, ['size', 'volume'], index, issues, false);
  const bid = readNumber(rec, ['bid'], index, issues, false);
  const ask = readNumber(rec, ['ask'], index, issues, false);
  const seq = readNumber(rec, ['seq'], index, issues, false);
  if (seq !== null && !Number.isSafeInteger(seq)) {
    issues.push({ index, field: 'seq', value: seq, message: `seq must be an integer, got ${show(seq)}` });
  }
  let ts: Micros | undefined;
  const tsKey = rec.ts !== undefined ? 'ts' : rec.timestamp !== undefined ? 'timestamp' : rec.time !== undefined ? 'time' : undefined;
  if (tsKey === undefined) {
    issues.push({ index, field: 'ts', value: undefined, message: 'ts (or timestamp) is required' });
  } else {
    ts = toMicros(rec[tsKey]);
    if (ts === undefined) {
      issues.push({ index, field: tsKey, value: rec[tsKey], message: `${tsKey} must be an ISO 8601 date-time or epoch number, got ${show(rec[tsKey])}` });
    }
  }
  let recvTs: Micros | undefined;
  if (rec.received_at !== undefined) {
    recvTs = toMicros(rec.received_at);
    if (recvTs === undefined) {
      issues.push({ index, field: 'received_at', value: rec.received_at, message: `received_at must be a timestamp, got ${show(rec.received_at)}` });
    }
  }
  const currency = readString(rec, 'currency', index, issues);
  const provider = readString(rec, 'provider', index, issues);
  if (issues.length > 0) return issues;
  return {
    symbol: symbolRaw!.trim().toUpperCase(),
    ts: ts!,
    price: price!,
    size: size ?? 0,
    bid,
    ask,
    currency: (currency ?? defaults.currency).trim().toUpperCase(),
    provider: provider ?? defaults.provider,
    seq,
    recvTs: recvTs ?? defaults.recvTs ?? nowMicros(),
  };
}

/** JSON shape of a tick on the wire and in zone files (timestamps as ISO 8601 with µs). */
export interface TickJson {
  symbol: string;
  ts: string;
  price: number;
  size: number;
  bid: number | null;
  ask: number | null;
  currency: string;
  provider: string;
  seq: number | null;
  received_at: string;
}

export function tickToJson(t: Tick): TickJson {
  return {
    symbol: t.symbol,
    ts: formatIsoMicros(t.ts),
    price: t.price,
    size: t.size,
    bid: t.bid,
    ask: t.ask,
    currency: t.currency,
    provider: t.provider,
    seq: t.seq,
    received_at: formatIsoMicros(t.recvTs),
  };
}

/** Serialises a tick as one JSONL line body (no newline). Hand-written because it runs per tick on the hot path. */
export function tickToJsonLine(t: Tick, extra?: string): string {
  // Symbols, currencies and providers are validated strings; JSON.stringify still escapes anything odd.
  return (
    `{"symbol":${quote(t.symbol)},"ts":"${formatIsoMicros(t.ts)}","price":${num(t.price)},"size":${num(t.size)},` +
    `"bid":${num(t.bid)},"ask":${num(t.ask)},"currency":${quote(t.currency)},"provider":${quote(t.provider)},` +
    `"seq":${num(t.seq)},"received_at":"${formatIsoMicros(t.recvTs)}"${extra ?? ''}}`
  );
}

/** JSON-quoted strings of the few distinct symbols/currencies/providers, so each is escaped once. */
const QUOTED = new Map<string, string>();

function quote(s: string): string {
  let q = QUOTED.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (QUOTED.size > 10_000) QUOTED.clear();
    QUOTED.set(s, q);
  }
  return q;
}

function num(v: number | null): string {
  return v === null || !Number.isFinite(v) ? 'null' : String(v);
}
