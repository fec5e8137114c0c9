/**
 * Loads the open of each symbol's current UTC day (its newest 1d bar) once, so the overview can show the
 * change since the day's open. At most three requests run at once; a symbol whose newest 1d bar is not
 * today's (no stored ticks today yet) keeps the session basis. After midnight UTC everything is loaded
 * again for the new day.
 */
import type { ApiClient } from './api.ts';
import type { ApiBar } from './bars.ts';
import type { MarketState } from './market.ts';
import { isoToMs } from './time.ts';

const CONCURRENCY = 3;
const DAY_MS = 86_400_000;

export class DayOpenLoader {
  #api: ApiClient;
  #market: MarketState;
  #requested = new Set<string>();
  #queue: string[] = [];
  #running = 0;
  #day = utcDay(Date.now());

  constructor(api: ApiClient, market: MarketState) {
    this.#api = api;
    this.#market = market;
  }

  /** Queues `symbol` unless it was already asked for today. */
  request(symbol: string): void {
    this.#rollDay();
    if (this.#requested.has(symbol)) return;
    this.#requested.add(symbol);
    this.#queue.push(symbol);
    this.#pump();
  }

  #rollDay(): void {
    const today = utcDay(Date.now());
    if (today === this.#day) return;
    this.#day = today;
    const again = [...this.#requested];
    this.#requested.clear();
    for (const s of again) this.request(s);
  }

  #pump(): void {
    while (this.#running < CONCURRENCY && this.#queue.length > 0) {
      const symbol = this.#queue.shift()!;
      this.#running++;
      void this.#load(symbol).finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  }

  async #load(symbol: string): Promise<void> {
    try {
      const res = await this.#api.get<{ bars?: ApiBar[] }>('/v1/bars', { symbol, interval: '1d', limit: 1 });
      const bar = res.bars?.at(-1);
      if (bar === undefined || !Number.isFinite(bar.open)) return;
      const start = isoToMs(bar.start);
      if (utcDay(start) === this.#day) this.#market.setDayOpen(symbol, bar.open, start);
    } catch {
      // Without the day's open the overview keeps the session basis and says so; nothing to report.
    }
  }
}

function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}
