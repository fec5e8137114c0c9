import { show } from '../../core/errors.ts';
import { tickToJson, type Tick } from '../../core/tick.ts';
import { parseIsoMicros } from '../../core/time.ts';

/**
 * The value of `last_quote:{SYMBOL}` and of each element of a channel message: `tickToJson`, so seed
 * clients read `symbol`, `price` and an ISO `ts`, and every Tick field survives (timestamps with µs).
 */
export function encodeQuote(t: Tick): string {
  return JSON.stringify(tickToJson(t));
}

/** Why a tick cannot be written so that it reads back identical, or undefined when it can. */
export function unstorable(t: Tick): string | undefined {
  if (typeof t.symbol !== 'string' || t.symbol === '') return `symbol must be a non-empty string, got ${show(t.symbol)}`;
  // The compare-and-set script orders quotes by the fixed-width ISO text of `ts`, which needs whole µs
  // in years 1970-9999 (every safe integer ≥ 0 is).
  if (!Number.isSafeInteger(t.ts) || t.ts < 0) return `ts of ${t.symbol} must be whole µs since the epoch, got ${show(t.ts)}`;
  if (!Number.isSafeInteger(t.recvTs) || t.recvTs < 0) return `recvTs of ${t.symbol} must be whole µs since the epoch, got ${show(t.recvTs)}`;
  if (!Number.isFinite(t.price)) return `price of ${t.symbol} must be finite, got ${show(t.price)}`;
  return undefined;
}

/**
 * The newest tick of each symbol in a batch; of equal event times the later one in the batch wins, as
 * in the memory cache.
 */
export function newestPerSymbol(ticks: readonly Tick[]): Tick[] {
  const latest = new Map<string, Tick>();
  for (let i = 0; i < ticks.length; i++) {
    const t = ticks[i]!;
    const cur = latest.get(t.symbol);
    if (cur === undefined || t.ts >= cur.ts) latest.set(t.symbol, t);
  }
  return [...latest.values()];
}

function num(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Rebuilds a Tick from a stored or published quote. Redis contents are untrusted (any client can write
 * them), so every field is checked; returns the reason when the value is not a quote Tickline wrote.
 */
export function decodeQuote(value: unknown): Tick | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `quote must be a JSON object, got ${show(value)}`;
  const q = value as Record<string, unknown>;
  if (typeof q.symbol !== 'string' || q.symbol === '') return `symbol must be a non-empty string, got ${show(q.symbol)}`;
  const ts = typeof q.ts === 'string' ? parseIsoMicros(q.ts) : undefined;
  if (ts === undefined) return `ts must be an ISO 8601 date-time, got ${show(q.ts)}`;
  const recvTs = typeof q.received_at === 'string' ? parseIsoMicros(q.received_at) : undefined;
  if (recvTs === undefined) return `received_at must be an ISO 8601 date-time, got ${show(q.received_at)}`;
  if (!num(q.price)) return `price must be a finite number, got ${show(q.price)}`;
  if (!num(q.size)) return `size must be a finite number, got ${show(q.size)}`;
  if (q.bid !== null && !num(q.bid)) return `bid must be a number or null, got ${show(q.bid)}`;
  if (q.ask !== null && !num(q.ask)) return `ask must be a number or null, got ${show(q.ask)}`;
  if (q.seq !== null && !Number.isSafeInteger(q.seq)) return `seq must be an integer or null, got ${show(q.seq)}`;
  if (typeof q.currency !== 'string') return `currency must be a string, got ${show(q.currency)}`;
  if (typeof q.provider !== 'string') return `provider must be a string, got ${show(q.provider)}`;
  return {
    symbol: q.symbol,
    ts,
    price: q.price,
    size: q.size,
    bid: q.bid as number | null,
    ask: q.ask as number | null,
    currency: q.currency,
    provider: q.provider,
    seq: q.seq as number | null,
    recvTs,
  };
}

/** Parses stored JSON text into a Tick, or the reason it is not one. */
export function decodeQuoteText(text: string): Tick | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `not JSON: ${show(text)}`;
  }
  return decodeQuote(parsed);
}

/**
 * Decodes one channel message (a JSON array of quotes). Bad elements are reported and skipped, so one
 * foreign or corrupt quote does not hide the good ones published with it.
 */
export function decodeMessage(text: string): { ticks: Tick[]; problems: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ticks: [], problems: [`message is not JSON: ${show(text)}`] };
  }
  if (!Array.isArray(parsed)) return { ticks: [], problems: [`message must be a JSON array of quotes, got ${show(parsed)}`] };
  const ticks: Tick[] = [];
  const problems: string[] = [];
  for (let i = 0; i < parsed.length; i++) {
    const t = decodeQuote(parsed[i]);
    if (typeof t === 'string') problems.push(`element ${i}: ${t}`);
    else ticks.push(t);
  }
  return { ticks, problems };
}
