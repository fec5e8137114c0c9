import { setTimeout as sleep } from 'node:timers/promises';
import type { Tick } from '../core/tick.ts';
import { nowMicros, type Micros } from '../core/time.ts';
import type { Emit, Source, SourceStats } from '../ports/source.ts';
import { Rng, hashString } from './random.ts';
import { RateMeter } from './rate-meter.ts';

/** Starting price, annual volatility, and whether it trades in fractional sizes. */
interface Profile {
  price: number;
  vol: number;
  crypto: boolean;
}

const PROFILES: Record<string, Profile> = {
  AAPL: { price: 190, vol: 0.28, crypto: false },
  MSFT: { price: 420, vol: 0.25, crypto: false },
  GOOG: { price: 170, vol: 0.3, crypto: false },
  AMZN: { price: 185, vol: 0.32, crypto: false },
  NVDA: { price: 120, vol: 0.55, crypto: false },
  TSLA: { price: 250, vol: 0.6, crypto: false },
  'BTC-USD': { price: 65_000, vol: 0.65, crypto: true },
  'ETH-USD': { price: 3_400, vol: 0.8, crypto: true },
};

function profileOf(symbol: string): Profile {
  const p = PROFILES[symbol];
  if (p) return p;
  const h = hashString(symbol);
  return { price: 10 + (h % 49_000) / 100, vol: 0.3, crypto: symbol.endsWith('-USD') || symbol.endsWith('-USDT') };
}

/** Seconds in a trading year: volatility is quoted per year of trading time. */
const TRADING_YEAR_S = 252 * 6.5 * 3600;

export const BAD_KINDS = ['negative_price', 'crossed_quote', 'bad_symbol', 'future_time'] as const;
export type BadKind = (typeof BAD_KINDS)[number];

export interface SimOptions {
  symbols: readonly string[];
  /** Updates per second per symbol; `Infinity` emits as fast as the pipeline accepts. 0 emits nothing. */
  rate: number;
  seed: number;
  /** Fraction in [0, 1] of ticks made deliberately bad. */
  badFraction: number;
  /** Largest batch handed to `emit`. */
  batchMax: number;
  /** How often a paced feed emits, in ms (smaller = lower latency, more batches). */
  intervalMs: number;
  /** Stop after this many ticks (for tests and benchmarks); unlimited by default. */
  limit?: number;
  /** Clock, for tests. */
  now?: () => Micros;
}

interface SymState {
  symbol: string;
  mid: number;
  sigmaStep: number;
  crypto: boolean;
  seq: number;
  tickSize: number;
}

/**
 * A simulated feed: each symbol's mid price follows geometric Brownian motion with a realistic
 * annual volatility; trades print at the bid or the ask of a spread of a few basis points; sizes are
 * round lots for equities and fractional for crypto. Prices, sizes, sides and bad-tick choices come
 * from one seeded PRNG, so the same seed and symbols give the same sequence (timestamps follow the clock).
 */
export class SimSource implements Source {
  readonly name = 'sim';
  readonly #o: SimOptions;
  readonly #rng: Rng;
  readonly #syms: SymState[];
  #next = 0;
  #emitted = 0;
  #running = false;
  #lastError: string | undefined;
  /** Ticks emitted per wall-clock second, for the last few seconds (a ring keyed by second). */
  readonly #meter = new RateMeter();
  #lastTs: Micros = 0;

  constructor(opts: SimOptions) {
    this.#o = opts;
    this.#rng = new Rng(opts.seed);
    const dt = Number.isFinite(opts.rate) && opts.rate > 0 ? 1 / opts.rate : 0.001;
    this.#syms = opts.symbols.map((symbol) => {
      const p = profileOf(symbol);
      return {
        symbol,
        mid: p.price,
        sigmaStep: p.vol * Math.sqrt(dt / TRADING_YEAR_S),
        crypto: p.crypto,
        seq: 0,
        tickSize: 0.01,
      };
    });
  }

  /** Makes the next `n` ticks with event times spread evenly over (from, to]. */
  generate(n: number, from: Micros, to: Micros): Tick[] {
    const out = new Array<Tick>(n);
    const rng = this.#rng;
    const syms = this.#syms;
    const bad = this.#o.badFraction;
    const span = to - from;
    for (let i = 0; i < n; i++) {
      const s = syms[this.#next]!;
      this.#next = this.#next + 1 === syms.length ? 0 : this.#next + 1;
      s.mid *= Math.exp(s.sigmaStep * rng.normal() - 0.5 * s.sigmaStep * s.sigmaStep);
      const halfSpread = Math.max(s.tickSize / 2, s.mid * (s.crypto ? 0.00005 : 0.0001));
      const bid = Math.round((s.mid - halfSpread) / s.tickSize) * s.tickSize;
      const ask = Math.max(bid + s.tickSize, Math.round((s.mid + halfSpread) / s.tickSize) * s.tickSize);
      const price = rng.next() < 0.5 ? bid : ask;
      const size = s.crypto
        ? Math.round(Math.exp(rng.normal() * 1.2 - 3) * 1e6) / 1e6
        : Math.max(1, Math.round(Math.exp(rng.normal() + 4.6) / 10)) * 10;
      const ts = span > 0 ? from + Math.floor((span * (i + 1)) / n) : to;
      const t: Tick = {
        symbol: s.symbol,
        ts,
        price: round(price),
        size,
        bid: round(bid),
        ask: round(ask),
        currency: 'USD',
        provider: 'sim',
        seq: ++s.seq,
        recvTs: to,
      };
      if (bad > 0 && rng.next() < bad) spoil(t, BAD_KINDS[Math.floor(rng.next() * BAD_KINDS.length)]!);
      out[i] = t;
    }
    return out;
  }

  async run(emit: Emit, signal: AbortSignal): Promise<void> {
    const o = this.#o;
    if (o.rate <= 0 || o.symbols.length === 0) return;
    const now = o.now ?? nowMicros;
    const limit = o.limit ?? Infinity;
    const perSecond = o.rate * o.symbols.length;
    this.#running = true;
    const started = now();
    this.#lastTs = started;
    let justEmitted = false;
    try {
      while (!signal.aborted && this.#emitted < limit) {
        let n: number;
        if (Number.isFinite(perSecond)) {
          const due = Math.floor(((now() - started) / 1e6) * perSecond) - this.#emitted;
          n = Math.min(due, o.batchMax, limit - this.#emitted);
          // Between batches the feed waits one interval unless a full batch is already due: a paced
          // feed emits a batch per interval, not a trickle of one-tick batches as fast as `emit` returns.
          if (n <= 0 || (justEmitted && n < o.batchMax)) {
            justEmitted = false;
            await sleep(o.intervalMs, undefined, { ref: true });
            continue;
          }
        } else {
          n = Math.min(o.batchMax, limit - this.#emitted);
        }
        const to = Math.max(now(), this.#lastTs);
        const batch = this.generate(n, this.#lastTs, to);
        this.#lastTs = to;
        await emit(batch);
        justEmitted = true;
        this.#emitted += n;
        this.#meter.add(n);
        // An unpaced feed must still let timers and I/O run between batches.
        if (!Number.isFinite(perSecond)) await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      this.#lastError = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      this.#running = false;
    }
  }

  stats(): SourceStats {
    const stats: SourceStats = { name: this.name, emitted: this.#emitted, rate: Math.round(this.#meter.rate()), running: this.#running };
    if (this.#lastError !== undefined) stats.lastError = this.#lastError;
    return stats;
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function spoil(t: Tick, kind: BadKind): void {
  switch (kind) {
    case 'negative_price':
      t.price = -t.price;
      break;
    case 'crossed_quote':
      if (t.bid !== null && t.ask !== null) [t.bid, t.ask] = [t.ask + 0.05, t.bid];
      break;
    case 'bad_symbol':
      t.symbol = `${t.symbol}$??`;
      break;
    case 'future_time':
      t.ts += 3_600_000_000;
      break;
  }
}
