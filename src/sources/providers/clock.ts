import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as the provider code sees it. Budgets, backoffs, circuit cool-downs and health windows all read
 * this clock, so tests pass a virtual one and a 30-second Retry-After costs them nothing.
 */
export interface Clock {
  /** Wall-clock time in ms since the epoch (fractions allowed); Retry-After dates are compared with it. */
  now(): number;
  /** Resolves after `ms`; rejects as soon as `signal` aborts, so a stopping source never sits out a backoff. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  // The same time base as core/time's nowMicros, so recvTs values from providers and other sources agree.
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal === undefined ? undefined : { signal }),
};

/** µs since the epoch on `clock`, for `recvTs` and `Rejected.receivedAt`. */
export function clockMicros(clock: Clock): number {
  return Math.round(clock.now() * 1000);
}

/** Exponential backoff with full jitter: a uniform delay in [0, min(max, base·2^(attempt-1))). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
