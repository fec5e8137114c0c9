import { TicklineError, show } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Tick } from '../../core/tick.ts';
import type { Emit, Source, SourceStats } from '../../ports/source.ts';
import type { Clock } from './clock.ts';
import { RateMeter } from '../rate-meter.ts';
import type { QuoteProvider, Rejected, SourceOptions } from './types.ts';

/**
 * The last quote sent per symbol (time, price, bid and ask), so that an unchanged one — the market is
 * closed, or the provider has not updated — is not sent again. Bounded by the number of symbols polled.
 */
export class ChangedQuotes {
  readonly #last = new Map<string, string>();

  /** The quotes that differ from the last one marked for their symbol. */
  changed(ticks: readonly Tick[]): Tick[] {
    return ticks.filter((t) => this.#last.get(t.symbol) !== quoteKey(t));
  }

  /** Records these quotes as sent. */
  mark(ticks: readonly Tick[]): void {
    for (const t of ticks) this.#last.set(t.symbol, quoteKey(t));
  }
}

function quoteKey(t: Tick): string {
  return `${t.ts}|${t.price}|${t.bid}|${t.ask}`;
}

/**
 * The shortest poll interval, ms, that a budget of `perSecond` sustained requests allows when each poll of
 * `symbolCount` symbols takes one request per `symbolsPerRequest` of them.
 */
export function minPollIntervalMs(symbolCount: number, symbolsPerRequest: number, perSecond: number): number {
  return Math.ceil((Math.ceil(symbolCount / symbolsPerRequest) / perSecond) * 1000);
}

/** The polling source every quote provider hands out: at `options.intervalMs`, or at its minimum by default. */
export function pollingSourceOf(provider: QuoteProvider, options: SourceOptions, ctx: { clock: Clock; log: Logger }): PollingSource {
  return new PollingSource(provider, {
    symbols: options.symbols,
    intervalMs: options.intervalMs ?? provider.minIntervalMs(options.symbols.length),
    ...(options.onRejected ? { onRejected: options.onRejected } : {}),
    clock: ctx.clock,
    log: ctx.log,
  });
}

export interface PollingSourceOptions {
  symbols: readonly string[];
  intervalMs: number;
  onRejected?: (r: Rejected) => void;
  clock: Clock;
  /** Bound to the provider (a child logger with `provider` set). */
  log: Logger;
}

/**
 * Polls a provider's quotes every `intervalMs` (measured start to start) and emits them as ticks.
 * A quote identical to the last one emitted for its symbol (same time, price, bid and ask: the market
 * is closed, or the provider has not updated) is not emitted again. A failed poll is logged and kept as
 * `lastError`; the next interval tries again (the provider's circuit breaker decides whether the request
 * goes out at all). Stops as soon as the signal aborts, also in the middle of a budget wait or a backoff.
 */
export class PollingSource implements Source {
  readonly name: string;
  readonly #provider: QuoteProvider;
  readonly #o: PollingSourceOptions;
  readonly #meter: RateMeter;
  readonly #changes = new ChangedQuotes();
  #emitted = 0;
  #running = false;
  #lastError: string | undefined;

  constructor(provider: QuoteProvider, options: PollingSourceOptions) {
    if (options.symbols.length === 0) {
      throw new TicklineError('TL_ERR_VALIDATION', `${provider.name}: a polling source needs at least one symbol`);
    }
    for (const s of options.symbols) provider.checkSymbol(s);
    const min = provider.minIntervalMs(options.symbols.length);
    if (!(Number.isFinite(options.intervalMs) && options.intervalMs >= min)) {
      throw new TicklineError(
        'TL_ERR_VALIDATION',
        `${provider.name}: intervalMs must be at least ${min} ms for ${options.symbols.length} symbol(s) (the provider's rate budget), got ${show(options.intervalMs)}`,
        { details: { provider: provider.name, minIntervalMs: min } },
      );
    }
    this.name = provider.name;
    this.#provider = provider;
    this.#o = options;
    this.#meter = new RateMeter(options.clock);
  }

  async run(emit: Emit, signal: AbortSignal): Promise<void> {
    const { clock, intervalMs } = this.#o;
    this.#running = true;
    try {
      while (!signal.aborted) {
        const started = clock.now();
        const fresh = await this.#poll(signal);
        if (fresh.length > 0) {
          try {
            await emit(fresh);
          } catch (err) {
            this.#lastError = err instanceof Error ? err.message : String(err);
            throw err;
          }
          this.#emitted += fresh.length;
          this.#meter.add(fresh.length);
        }
        const wait = started + intervalMs - clock.now();
        if (wait > 0 && !signal.aborted) await clock.sleep(wait, signal).catch(() => undefined);
      }
    } finally {
      this.#running = false;
    }
  }

  /** One poll: the changed quotes, rejects reported; a provider failure is recorded, not thrown. */
  async #poll(signal: AbortSignal): Promise<Tick[]> {
    try {
      const batch = await this.#provider.quotes(this.#o.symbols, signal);
      for (const r of batch.rejected) this.#o.onRejected?.(r);
      const fresh = this.#changes.changed(batch.items);
      this.#changes.mark(fresh);
      return fresh;
    } catch (err) {
      if (signal.aborted) return [];
      this.#lastError = err instanceof Error ? err.message : String(err);
      this.#o.log.warn({ reason: this.#lastError }, 'poll failed');
      return [];
    }
  }

  stats(): SourceStats {
    const s: SourceStats = { name: this.name, emitted: this.#emitted, rate: Math.round(this.#meter.rate() * 100) / 100, running: this.#running };
    if (this.#lastError !== undefined) s.lastError = this.#lastError;
    return s;
  }
}
