import type { Tick } from '../../core/tick.ts';
import type { Micros } from '../../core/time.ts';
import type { Emit, Source, SourceStats } from '../../ports/source.ts';
import { backoffMs, clockMicros } from './clock.ts';
import type { CoinbaseTrades } from './coinbase-trades.ts';
import { tradeTick } from './coinbase-trades.ts';
import type { ProviderContext } from './context.ts';
import { isRecord, parseJson } from './fields.ts';
import { RateMeter } from '../rate-meter.ts';
import { TradeIds } from './trade-ids.ts';
import type { GapEvent, Rejected } from './types.ts';

export interface CoinbaseStreamOptions {
  /** Reconnect when no message at all (heartbeats included) arrived for this long, ms. Coinbase sends a heartbeat per product every second. */
  heartbeatTimeoutMs: number;
  /** Report a silence gap when a product had no trade for this long, ms. */
  silenceMs: number;
  /** Reconnect backoff: full jitter from `reconnectBaseMs`, doubling per failed attempt up to `reconnectMaxMs`. */
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Messages held while the pipeline or a backfill catches up; past it the connection is dropped and the hole backfilled after reconnecting. */
  maxBuffered: number;
  /** REST pages (1000 trades each) fetched to fill one gap, at most. */
  maxBackfillPages: number;
}

export const DEFAULT_STREAM: CoinbaseStreamOptions = {
  heartbeatTimeoutMs: 5_000,
  silenceMs: 300_000,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  maxBuffered: 50_000,
  maxBackfillPages: 10,
};

export interface CoinbaseSourceDeps {
  ctx: ProviderContext;
  trades: CoinbaseTrades;
  wsUrl: string;
  symbols: readonly string[];
  stream: CoinbaseStreamOptions;
  onRejected?: ((r: Rejected) => void) | undefined;
  onGap?: ((g: GapEvent) => void) | undefined;
}

/**
 * Trades from the Coinbase Exchange WebSocket feed (`matches` and `heartbeat` channels).
 *
 * - Every connection subscribes anew; on a close, an error, a heartbeat timeout or a full buffer it
 *   reconnects with exponential backoff and jitter (reset once a connection delivered messages).
 * - Gaps are found by `trade_id`, which Coinbase numbers consecutively per product (the feed's `sequence`
 *   counts every order-book event of the product, so it jumps between matches by design). A jump, including
 *   one across a reconnect (revealed by the `last_match` sent on subscribing), is filled from
 *   `GET /products/{id}/trades` before the trade that revealed it: ticks go out in id order, each id once.
 * - A product without trades for `silenceMs` is reported as a silence gap (nothing to backfill by).
 */
export class CoinbaseSource implements Source {
  readonly name = 'coinbase';
  readonly #d: CoinbaseSourceDeps;
  readonly #ids = new TradeIds();
  readonly #meter: RateMeter;
  /** Receive time of each product's last trade (or of the start), µs. */
  readonly #lastTradeAt = new Map<string, Micros>();
  /** Products already reported silent, until their next trade. */
  readonly #silent = new Set<string>();
  #emitted = 0;
  #running = false;
  #connected = false;
  #lastError: string | undefined;

  constructor(deps: CoinbaseSourceDeps) {
    this.#d = deps;
    this.#meter = new RateMeter(deps.ctx.clock);
  }

  get running(): boolean {
    return this.#running;
  }

  get connected(): boolean {
    return this.#connected;
  }

  async run(emit: Emit, signal: AbortSignal): Promise<void> {
    const { ctx, stream } = this.#d;
    this.#running = true;
    const start = clockMicros(ctx.clock);
    for (const s of this.#d.symbols) if (!this.#lastTradeAt.has(s)) this.#lastTradeAt.set(s, start);
    let attempt = 0;
    try {
      while (!signal.aborted) {
        let delivered: boolean;
        try {
          delivered = await this.#connection(emit, signal);
        } catch (err) {
          if (signal.aborted) break;
          throw err;
        }
        if (signal.aborted) break;
        attempt = delivered ? 1 : attempt + 1;
        const delayMs = backoffMs(attempt, stream.reconnectBaseMs, stream.reconnectMaxMs, ctx.random);
        ctx.metrics?.reconnects.inc({ provider: 'coinbase' });
        ctx.log.warn({ reason: this.#lastError, delayMs }, 'stream ended; reconnecting');
        await ctx.clock.sleep(delayMs, signal).catch(() => undefined);
      }
    } finally {
      this.#running = false;
      this.#connected = false;
    }
  }

  /** One connection, until it ends or `signal` aborts; true when it delivered any message. */
  async #connection(emit: Emit, signal: AbortSignal): Promise<boolean> {
    const { ctx, stream, symbols } = this.#d;
    const ws = new WebSocket(this.#d.wsUrl);
    ws.binaryType = 'arraybuffer';
    const inbox: string[] = [];
    const decoder = new TextDecoder();
    let delivered = false;
    let ended: string | null = null;
    let lastMessageAt = ctx.clock.now();
    let wake: (() => void) | null = null;
    const notify = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const end = (why: string): void => {
      if (ended === null) ended = why;
      ws.close();
      notify();
    };
    ws.addEventListener('open', () => {
      this.#connected = true;
      ws.send(JSON.stringify({ type: 'subscribe', product_ids: symbols, channels: ['heartbeat', 'matches'] }));
    });
    ws.addEventListener('message', (ev: MessageEvent) => {
      if (ended !== null) return;
      lastMessageAt = ctx.clock.now();
      delivered = true;
      if (inbox.length >= stream.maxBuffered) return end(`more than ${stream.maxBuffered} messages waiting`);
      inbox.push(typeof ev.data === 'string' ? ev.data : decoder.decode(ev.data as ArrayBuffer));
      notify();
    });
    // An `error` event carries no detail and is always followed by `close`, which has the code.
    let failed = false;
    ws.addEventListener('error', () => (failed = true));
    ws.addEventListener('close', (ev: CloseEvent) => end(`connection ${failed ? 'failed' : 'closed'} (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`));
    const onAbort = (): void => end('stopped');
    signal.addEventListener('abort', onAbort, { once: true });
    const watchdog = setInterval(
      () => {
        if (ctx.clock.now() - lastMessageAt > stream.heartbeatTimeoutMs) end(`no message for ${stream.heartbeatTimeoutMs} ms`);
        this.#checkSilence();
      },
      Math.max(25, Math.min(1_000, stream.heartbeatTimeoutMs / 4)),
    );
    try {
      // Messages that arrived before the connection ended are still handled; a stop ends at once.
      while (!signal.aborted) {
        if (inbox.length > 0) {
          const ticks = await this.#handle(inbox.splice(0), signal);
          if (ticks.length > 0 && !signal.aborted) await this.#emit(emit, ticks);
        } else if (ended !== null) {
          break;
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
        }
      }
    } finally {
      clearInterval(watchdog);
      signal.removeEventListener('abort', onAbort);
      this.#connected = false;
      ws.close();
    }
    if (ended !== 'stopped') this.#lastError = `coinbase: stream ${ended ?? 'ended'}`;
    return delivered;
  }

  async #emit(emit: Emit, ticks: Tick[]): Promise<void> {
    try {
      await emit(ticks);
    } catch (err) {
      this.#lastError = err instanceof Error ? err.message : String(err);
      throw err;
    }
    this.#emitted += ticks.length;
    this.#meter.add(ticks.length);
  }

  /** Turns feed messages into ticks, in order, with holes backfilled and repeats dropped. */
  async #handle(texts: string[], signal: AbortSignal): Promise<Tick[]> {
    const { ctx } = this.#d;
    const out: Tick[] = [];
    for (const text of texts) {
      if (signal.aborted) break;
      const receivedAt = clockMicros(ctx.clock);
      const msg = parseJson(text);
      if (!isRecord(msg) || typeof msg.type !== 'string') {
        this.#reject(ctx.reject(null, 'message is not a JSON object with a type', text, receivedAt));
        continue;
      }
      if (msg.type === 'error') {
        // Coinbase explains a refused subscription this way, then closes the connection.
        this.#lastError = ctx.redactor.text(`coinbase: ${String(msg.message)}${typeof msg.reason === 'string' ? `: ${msg.reason}` : ''}`);
        ctx.log.warn({ reason: this.#lastError }, 'feed error');
        continue;
      }
      // `subscriptions` and `heartbeat` only prove liveness, which every message does.
      if (msg.type !== 'match' && msg.type !== 'last_match') continue;
      const t = tradeTick(msg, null, receivedAt);
      if (typeof t === 'string') {
        this.#reject(ctx.reject(typeof msg.product_id === 'string' ? msg.product_id : null, t, text, receivedAt));
        continue;
      }
      const check = this.#ids.check(t.symbol, t.seq!);
      if (check.kind === 'duplicate') continue;
      if (check.kind === 'gap') out.push(...(await this.#backfill(t.symbol, check.from, check.to, signal)));
      out.push(t);
      this.#ids.advance(t.symbol, t.seq!);
      this.#lastTradeAt.set(t.symbol, receivedAt);
      this.#silent.delete(t.symbol);
    }
    return out;
  }

  /** Fetches the missing trades and reports the gap; a failed backfill is reported, not thrown. */
  async #backfill(symbol: string, from: number, to: number, signal: AbortSignal): Promise<Tick[]> {
    const { ctx, trades, stream } = this.#d;
    const detectedAt = clockMicros(ctx.clock);
    let ticks: Tick[] = [];
    let error: string | null = null;
    try {
      const r = await trades.between(symbol, from, to, signal);
      for (const rej of r.rejected) this.#reject(rej);
      ticks = r.items;
      const want = to - from + 1;
      if (ticks.length < want) {
        error = r.complete ? `the REST API returned ${ticks.length} of ${want} trades` : `stopped after ${stream.maxBackfillPages} pages`;
      }
    } catch (err) {
      if (signal.aborted) throw err;
      error = err instanceof Error ? err.message : String(err);
    }
    this.#gap({ provider: 'coinbase', symbol, kind: 'trade_id', from, to, detectedAt, backfilled: ticks.length, error });
    ctx.metrics?.backfilled.inc({ provider: 'coinbase' }, ticks.length);
    return ticks;
  }

  #checkSilence(): void {
    const now = clockMicros(this.#d.ctx.clock);
    const limit = this.#d.stream.silenceMs * 1000;
    for (const [symbol, last] of this.#lastTradeAt) {
      if (now - last < limit || this.#silent.has(symbol)) continue;
      this.#silent.add(symbol);
      this.#gap({ provider: 'coinbase', symbol, kind: 'silence', from: last, to: now, detectedAt: now, backfilled: 0, error: null });
    }
  }

  #gap(g: GapEvent): void {
    this.#d.ctx.metrics?.gaps.inc({ provider: 'coinbase', kind: g.kind });
    this.#d.ctx.log.warn({ symbol: g.symbol, kind: g.kind, from: g.from, to: g.to, backfilled: g.backfilled, error: g.error }, `${g.kind} gap`);
    this.#d.onGap?.(g);
  }

  #reject(r: Rejected): void {
    this.#d.onRejected?.(r);
  }

  stats(): SourceStats {
    const s: SourceStats = { name: this.name, emitted: this.#emitted, rate: Math.round(this.#meter.rate() * 100) / 100, running: this.#running };
    if (this.#lastError !== undefined) s.lastError = this.#lastError;
    return s;
  }
}
