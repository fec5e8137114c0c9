import { TicklineError, show } from '../../core/errors.ts';
import { systemClock, type Clock } from './clock.ts';

/** One token bucket: `capacity` is the largest burst, `perSecond` the sustained rate. */
export interface RateLimit {
  capacity: number;
  perSecond: number;
}

interface Bucket {
  limit: RateLimit;
  tokens: number;
  at: number;
}

/**
 * A provider's request budget: one or more token buckets (e.g. 5 per minute and 25 per day), all of which
 * must hold a token for a request to go out. Buckets start full. Waiters are served in arrival order, so
 * one busy caller cannot starve another, and a waiter whose signal aborts leaves at once without spending.
 */
export class RateBudget {
  readonly #clock: Clock;
  readonly #buckets: Bucket[];
  #pausedUntil = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(limits: readonly RateLimit[], clock: Clock = systemClock) {
    if (limits.length === 0) throw new TicklineError('TL_ERR_CONFIG', 'a rate budget needs at least one limit');
    for (const l of limits) {
      if (!(Number.isFinite(l.capacity) && l.capacity >= 1)) {
        throw new TicklineError('TL_ERR_CONFIG', `rate limit capacity must be a number >= 1, got ${show(l.capacity)}`);
      }
      if (!(Number.isFinite(l.perSecond) && l.perSecond > 0)) {
        throw new TicklineError('TL_ERR_CONFIG', `rate limit perSecond must be a number > 0, got ${show(l.perSecond)}`);
      }
    }
    this.#clock = clock;
    const now = clock.now();
    this.#buckets = limits.map((limit) => ({ limit: { ...limit }, tokens: limit.capacity, at: now }));
  }

  /** Waits until every bucket has a token, then spends one from each. Rejects when `signal` aborts. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#acquire(signal));
    this.#queue = turn.catch(() => undefined);
    return signal === undefined ? turn : abortable(turn, signal);
  }

  /** Holds every request until `untilMs` (clock time): the provider said when to come back. */
  pauseUntil(untilMs: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, untilMs);
  }

  /** The steady rate the budget allows, requests per second: its tightest bucket. */
  get sustainedPerSecond(): number {
    return Math.min(...this.#buckets.map((b) => b.limit.perSecond));
  }

  /** Whole requests that could go out right now. */
  available(): number {
    const now = this.#clock.now();
    if (now < this.#pausedUntil) return 0;
    return Math.floor(Math.min(...this.#buckets.map((b) => this.#refill(b, now))));
  }

  #refill(b: Bucket, now: number): number {
    b.tokens = Math.min(b.limit.capacity, b.tokens + ((now - b.at) / 1000) * b.limit.perSecond);
    b.at = now;
    return b.tokens;
  }

  async #acquire(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#clock.now();
      let waitMs = this.#pausedUntil - now;
      for (const b of this.#buckets) {
        const tokens = this.#refill(b, now);
        if (tokens < 1) waitMs = Math.max(waitMs, ((1 - tokens) / b.limit.perSecond) * 1000);
      }
      if (waitMs <= 0) {
        for (const b of this.#buckets) b.tokens -= 1;
        return;
      }
      await this.#clock.sleep(Math.ceil(waitMs), signal);
    }
  }
}

/** `p`, or a rejection with the abort reason as soon as `signal` aborts (whichever comes first). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
