import type { Health } from '../../ports/health.ts';
import type { CircuitState } from './circuit.ts';
import type { Clock } from './clock.ts';

/** A provider's state for /ready and metrics. Messages are redacted before they get here. */
export interface ProviderHealth {
  provider: string;
  /** False while the circuit is open, or while a streaming source is disconnected. */
  ok: boolean;
  circuit: CircuitState;
  /** ISO 8601 time of the last request the provider answered usefully, or null. */
  lastSuccessAt: string | null;
  lastErrorAt: string | null;
  lastError: string | null;
  /** Failed requests / requests over the last `windowSeconds`, or null when there were none. */
  errorRate: number | null;
  requests: number;
  windowSeconds: number;
  /** Requests the rate budget would let out right now. */
  budgetAvailable: number;
  /** Streaming providers: whether every running stream is connected; null for polling providers. */
  connected: boolean | null;
}

/** Most outcomes kept, whatever the window: a bound on memory if a budget is set very high. */
const MAX_OUTCOMES = 10_000;

/** Records request outcomes for one provider and answers with error rate and last success/error. */
export class HealthTracker {
  readonly #clock: Clock;
  readonly #windowMs: number;
  /** [time ms, failed] pairs, oldest first. */
  readonly #outcomes: Array<[number, boolean]> = [];
  #lastSuccessAt: number | null = null;
  #lastErrorAt: number | null = null;
  #lastError: string | null = null;

  constructor(clock: Clock, windowMs: number) {
    this.#clock = clock;
    this.#windowMs = windowMs;
  }

  success(): void {
    this.#lastSuccessAt = this.#push(false);
  }

  /** `message` must already be redacted. */
  failure(message: string): void {
    this.#lastErrorAt = this.#push(true);
    this.#lastError = message;
  }

  snapshot(base: { provider: string; circuit: CircuitState; budgetAvailable: number; connected: boolean | null }): ProviderHealth {
    this.#prune(this.#clock.now());
    const n = this.#outcomes.length;
    const failed = this.#outcomes.reduce((k, [, f]) => k + (f ? 1 : 0), 0);
    return {
      provider: base.provider,
      ok: base.circuit !== 'open' && base.connected !== false,
      circuit: base.circuit,
      lastSuccessAt: iso(this.#lastSuccessAt),
      lastErrorAt: iso(this.#lastErrorAt),
      lastError: this.#lastError,
      errorRate: n === 0 ? null : failed / n,
      requests: n,
      windowSeconds: this.#windowMs / 1000,
      budgetAvailable: base.budgetAvailable,
      connected: base.connected,
    };
  }

  #push(failed: boolean): number {
    const now = this.#clock.now();
    this.#outcomes.push([now, failed]);
    if (this.#outcomes.length > MAX_OUTCOMES) this.#outcomes.shift();
    this.#prune(now);
    return now;
  }

  #prune(now: number): void {
    let drop = 0;
    while (drop < this.#outcomes.length && this.#outcomes[drop]![0] <= now - this.#windowMs) drop++;
    if (drop > 0) this.#outcomes.splice(0, drop);
  }
}

/** The port-level view (`/health`, `/ready`) of a provider snapshot. */
export function toHealth(h: ProviderHealth): Health {
  if (!h.ok) {
    const why = h.circuit === 'open' ? 'circuit open' : 'disconnected';
    return { ok: false, detail: h.lastError === null ? why : `${why}: ${h.lastError}` };
  }
  return { ok: true, detail: h.lastSuccessAt === null ? h.circuit : `${h.circuit}; last success ${h.lastSuccessAt}` };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
