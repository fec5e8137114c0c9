import { TicklineError } from '../../core/errors.ts';
import type { Clock } from './clock.ts';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** Share of failures among the last `windowSize` requests that opens it, once `minRequests` were seen. */
  failureRate: number;
  windowSize: number;
  minRequests: number;
  /** How long an open circuit fails fast before it lets one probe through, ms. */
  coolDownMs: number;
}

export const DEFAULT_CIRCUIT: CircuitOptions = {
  failureThreshold: 5,
  failureRate: 0.5,
  windowSize: 20,
  minRequests: 10,
  coolDownMs: 30_000,
};

/**
 * A circuit breaker for one provider. Closed: requests flow and outcomes are counted. Open (after
 * `failureThreshold` consecutive failures, or a failure share of `failureRate` over the recent window):
 * requests fail at once with TL_ERR_CIRCUIT_OPEN, so a provider outage costs no budget, no timeouts and
 * no retry storms. After `coolDownMs` one probe goes through (half-open): its success closes the circuit,
 * its failure opens it for another cool-down.
 *
 * Only outages count as failures (5xx, timeouts, network errors). A 4xx or a rate-limit answer shows the
 * provider is up; the caller reports those with `neutral()`.
 */
export class CircuitBreaker {
  readonly #provider: string;
  readonly #o: CircuitOptions;
  readonly #clock: Clock;
  readonly #onChange: (state: CircuitState) => void;
  #state: CircuitState = 'closed';
  #openedAt = 0;
  #openReason = '';
  #probing = false;
  #consecutive = 0;
  /** Outcomes of the last `windowSize` requests, true = failure, as a ring. */
  readonly #window: boolean[] = [];
  #next = 0;

  constructor(provider: string, options: CircuitOptions, clock: Clock, onChange: (state: CircuitState) => void = () => {}) {
    this.#provider = provider;
    this.#o = options;
    this.#clock = clock;
    this.#onChange = onChange;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** Asks to send a request. Throws TL_ERR_CIRCUIT_OPEN while open or while the half-open probe is out. */
  acquire(): void {
    if (this.#state === 'closed') return;
    const retryInMs = this.#openedAt + this.#o.coolDownMs - this.#clock.now();
    if (this.#state === 'open' && retryInMs <= 0) {
      this.#set('half-open');
    }
    if (this.#state === 'half-open' && !this.#probing) {
      this.#probing = true;
      return;
    }
    const wait = Math.max(0, Math.ceil(retryInMs));
    throw new TicklineError(
      'TL_ERR_CIRCUIT_OPEN',
      `${this.#provider}: circuit open after ${this.#openReason}; ` +
        (this.#state === 'half-open' ? 'a probe request is in flight' : `next probe in ${Math.ceil(wait / 1000)} s`),
      { details: { provider: this.#provider, retryInMs: wait } },
    );
  }

  /** A request answered. Closes a half-open circuit; a straggler that started before it opened changes nothing. */
  success(): void {
    this.#record(false);
    this.#consecutive = 0;
    if (this.#state === 'half-open') {
      this.#window.length = 0;
      this.#next = 0;
      this.#probing = false;
      this.#set('closed');
    }
  }

  failure(): void {
    this.#record(true);
    this.#consecutive++;
    if (this.#state === 'half-open') {
      this.#open('the probe request failed');
      return;
    }
    if (this.#state !== 'closed') return;
    const failures = this.#window.filter(Boolean).length;
    if (this.#consecutive >= this.#o.failureThreshold) {
      this.#open(`${this.#consecutive} consecutive failures`);
    } else if (this.#window.length >= this.#o.minRequests && failures / this.#window.length >= this.#o.failureRate) {
      this.#open(`${failures} of the last ${this.#window.length} requests failed`);
    }
  }

  /** The request ended without saying anything about the provider's health (4xx, rate limit, abort). */
  neutral(): void {
    this.#probing = false;
  }

  #record(failed: boolean): void {
    if (this.#window.length < this.#o.windowSize) this.#window.push(failed);
    else this.#window[this.#next] = failed;
    this.#next = (this.#next + 1) % this.#o.windowSize;
  }

  #open(reason: string): void {
    this.#openReason = reason;
    this.#openedAt = this.#clock.now();
    this.#probing = false;
    this.#set('open');
  }

  #set(state: CircuitState): void {
    const changed = state !== this.#state;
    this.#state = state;
    if (changed) this.#onChange(state);
  }
}
