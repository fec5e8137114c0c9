import type { ServerResponse } from 'node:http';
import type { Logger } from '../core/log.ts';
import type { Tick } from '../core/tick.ts';
import { formatIsoMicros } from '../core/time.ts';
import type { Cache } from '../ports/cache.ts';
import type { PipelineStats } from './stats.ts';

/** Most `ticks` a symbol subscriber gets per event; older ones are dropped (and counted) when a client lags. */
export const TICKS_PER_EVENT = 200;

const STATS_INTERVAL_MS = 1000;

function quoteJson(t: Tick): Record<string, unknown> {
  return {
    symbol: t.symbol,
    price: t.price,
    bid: t.bid,
    ask: t.ask,
    size: t.size,
    ts: formatIsoMicros(t.ts),
    provider: t.provider,
    received_at: formatIsoMicros(t.recvTs),
  };
}

interface Client {
  res: ServerResponse;
  symbol: string | null;
  /** Newest quote per symbol since the last event: bounded by the number of symbols. */
  quotes: Map<string, Tick>;
  /** New ticks of `symbol` since the last event, at most TICKS_PER_EVENT. */
  ticks: Tick[];
  dropped: number;
}

/**
 * Server-Sent Events for the dashboard: one watch on the latest-price cache feeds every client, and
 * each client gets at most `renderHz` events a second holding only what changed, coalesced per symbol.
 * A slow client is never queued for: while its socket is still draining, updates keep coalescing in its
 * per-symbol map (bounded by the number of symbols) and are sent when it has caught up.
 */
export class LiveHub {
  readonly #cache: Cache;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #clients = new Set<Client>();
  readonly #stats: (() => Promise<PipelineStats>) | undefined;
  #stopWatch: Promise<() => Promise<void>> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #statsBusy = false;

  /** `stats`: the pipeline-health figures, sampled once a second and sent to every client as one `stats` event. */
  constructor(opts: { cache: Cache; logger: Logger; renderHz?: number; stats?: () => Promise<PipelineStats> }) {
    this.#cache = opts.cache;
    this.#logger = opts.logger;
    this.#intervalMs = Math.round(1000 / Math.max(0.5, Math.min(opts.renderHz ?? 4, 30)));
    this.#stats = opts.stats;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Starts streaming to `res` (headers included); ends when the client goes away or `close()`. */
  async attach(res: ServerResponse, symbol: string | null): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: Client = { res, symbol, quotes: new Map(), ticks: [], dropped: 0 };
    // The current prices first, so a new page has something to show at once.
    for (const t of await this.#cache.all()) client.quotes.set(t.symbol, t);
    this.#clients.add(client);
    res.write(`retry: 3000\n\n`);
    this.#flush(client);
    res.on('close', () => this.#detach(client));
    this.#stopWatch ??= this.#cache.watch((ticks) => this.#onUpdate(ticks));
    if (!this.#timer) this.#schedule(performance.now() + this.#intervalMs);
    if (this.#stats && !this.#statsTimer) {
      this.#statsTimer = setInterval(() => void this.#sendStats(), STATS_INTERVAL_MS);
      this.#statsTimer.unref();
      void this.#sendStats();
    }
  }

  /**
   * Flushes at fixed deadlines rather than with setInterval: on a busy event loop each interval timer
   * fires late and the next one is counted from then, so the render rate would sag (3.5/s instead of 4
   * under a saturated pipeline). A deadline missed by more than an interval is dropped, not caught up.
   */
  #schedule(deadline: number): void {
    this.#timer = setTimeout(() => {
      for (const c of this.#clients) this.#flush(c);
      const now = performance.now();
      const next = deadline + this.#intervalMs;
      this.#schedule(next > now ? next : now + this.#intervalMs);
    }, Math.max(0, deadline - performance.now()));
    this.#timer.unref();
  }

  /** One sample for all clients, serialised once; a client still draining skips it (the next one follows in a second). */
  async #sendStats(): Promise<void> {
    if (this.#statsBusy || !this.#stats) return;
    this.#statsBusy = true;
    try {
      const event = `event: stats\ndata: ${JSON.stringify(await this.#stats())}\n\n`;
      for (const c of this.#clients) if (!c.res.writableNeedDrain && !c.res.destroyed) c.res.write(event);
    } catch (err) {
      this.#logger.warn({ err }, 'live: sampling the pipeline stats failed');
    } finally {
      this.#statsBusy = false;
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.#clients]) c.res.end();
    this.#clients.clear();
    await this.#stop();
  }

  #onUpdate(ticks: Tick[]): void {
    for (const c of this.#clients) {
      for (const t of ticks) {
        const prev = c.quotes.get(t.symbol);
        if (!prev || prev.ts <= t.ts) c.quotes.set(t.symbol, t);
        if (c.symbol === t.symbol) {
          c.ticks.push(t);
          if (c.ticks.length > TICKS_PER_EVENT) {
            c.dropped += c.ticks.length - TICKS_PER_EVENT;
            c.ticks.splice(0, c.ticks.length - TICKS_PER_EVENT);
          }
        }
      }
    }
  }

  #flush(c: Client): void {
    if (c.res.writableNeedDrain || c.res.destroyed) return;
    let out = '';
    if (c.quotes.size > 0) {
      out += `event: quotes\ndata: ${JSON.stringify({ quotes: [...c.quotes.values()].map(quoteJson) })}\n\n`;
      c.quotes.clear();
    }
    if (c.ticks.length > 0) {
      out += `event: ticks\ndata: ${JSON.stringify({ symbol: c.symbol, ticks: c.ticks.map(quoteJson), dropped: c.dropped })}\n\n`;
      c.ticks = [];
      c.dropped = 0;
    }
    if (out !== '') c.res.write(out);
  }

  #detach(c: Client): void {
    this.#clients.delete(c);
    if (this.#clients.size === 0) void this.#stop();
  }

  async #stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    const stop = this.#stopWatch;
    this.#stopWatch = undefined;
    if (stop) await (await stop)().catch((err: unknown) => this.#logger.warn({ err }, 'live: stopping the cache watch failed'));
  }
}
