/**
 * The messages of the live stream (`GET /v1/live`, Server-Sent Events), parsed and checked.
 *
 * Each event's `data:` is one JSON object. The event name (`event: quotes|stats|ticks`) says what it is;
 * an unnamed event (`message`) is recognised by its shape, so a server that sends no names still works.
 * Parsing never throws: malformed JSON or an unknown event gives null, and a malformed entry inside a
 * list (say a quote without a numeric price) is dropped while the rest of the list is kept.
 */

/** One quote or tick of the stream. `bid`/`ask` are null when the source gave none. */
export interface LiveQuote {
  symbol: string;
  price: number;
  bid: number | null;
  ask: number | null;
  size: number;
  ts: string;
  provider: string;
  received_at: string;
}

/** One source's state. `last_error` is null while it is healthy. */
export interface SourceStat {
  name: string;
  running: boolean;
  rate: number;
  emitted: number;
  last_error: string | null;
}

/** Pipeline health, once a second. A number the server could not compute yet is null. */
export interface PipelineStats {
  ticks_per_s: number | null;
  /** Fraction 0…1 of rows that passed the quality gate. */
  quality_pass_rate: number | null;
  quarantined_total: number | null;
  store_write_p50_ms: number | null;
  bus_lag_ticks: number | null;
  sources: SourceStat[];
}

export type LiveMessage =
  | { type: 'quotes'; quotes: LiveQuote[] }
  | { type: 'stats'; stats: PipelineStats }
  | { type: 'ticks'; symbol: string; ticks: LiveQuote[] };

export const LIVE_EVENTS = ['quotes', 'stats', 'ticks'] as const;

type Json = Record<string, unknown>;

/** Parses one event of the stream; `event` is the SSE event name (`message` when it had none). */
export function parseLiveMessage(event: string, data: string): LiveMessage | null {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(body)) return null;
  const kind = event === 'message' ? classify(body) : event;
  switch (kind) {
    case 'quotes':
      return Array.isArray(body.quotes) ? { type: 'quotes', quotes: quoteList(body.quotes) } : null;
    case 'ticks':
      return typeof body.symbol === 'string' && Array.isArray(body.ticks)
        ? { type: 'ticks', symbol: body.symbol, ticks: quoteList(body.ticks) }
        : null;
    case 'stats':
      return { type: 'stats', stats: parseStats(body) };
    default:
      return null;
  }
}

/** A source as either the stream (`last_error`) or `GET /v1/sources` (`lastError`) describes it. */
export function parseSource(v: unknown): SourceStat | null {
  if (!isObject(v) || typeof v.name !== 'string') return null;
  const err = v.last_error ?? v.lastError;
  return {
    name: v.name,
    running: v.running === true,
    rate: num(v.rate) ?? 0,
    emitted: num(v.emitted) ?? 0,
    last_error: typeof err === 'string' && err !== '' ? err : null,
  };
}

function classify(body: Json): string | null {
  if (Array.isArray(body.quotes)) return 'quotes';
  if (Array.isArray(body.ticks)) return 'ticks';
  if ('ticks_per_s' in body) return 'stats';
  return null;
}

function parseStats(body: Json): PipelineStats {
  const sources: SourceStat[] = [];
  if (Array.isArray(body.sources)) {
    for (const s of body.sources) {
      const parsed = parseSource(s);
      if (parsed !== null) sources.push(parsed);
    }
  }
  return {
    ticks_per_s: num(body.ticks_per_s),
    quality_pass_rate: num(body.quality_pass_rate),
    quarantined_total: num(body.quarantined_total),
    store_write_p50_ms: num(body.store_write_p50_ms),
    bus_lag_ticks: num(body.bus_lag_ticks),
    sources,
  };
}

function quoteList(items: unknown[]): LiveQuote[] {
  const out: LiveQuote[] = [];
  for (const q of items) {
    const parsed = parseQuote(q);
    if (parsed !== null) out.push(parsed);
  }
  return out;
}

function parseQuote(q: unknown): LiveQuote | null {
  if (!isObject(q) || typeof q.symbol !== 'string' || q.symbol === '' || typeof q.ts !== 'string') return null;
  const price = num(q.price);
  if (price === null) return null;
  return {
    symbol: q.symbol,
    price,
    bid: num(q.bid),
    ask: num(q.ask),
    size: num(q.size) ?? 0,
    ts: q.ts,
    provider: typeof q.provider === 'string' ? q.provider : '',
    received_at: typeof q.received_at === 'string' ? q.received_at : '',
  };
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
