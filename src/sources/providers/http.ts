import { TicklineError, isTicklineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Micros } from '../../core/time.ts';
import type { RateBudget } from './budget.ts';
import type { CircuitBreaker } from './circuit.ts';
import { backoffMs, clockMicros, type Clock } from './clock.ts';
import type { HealthTracker } from './health.ts';
import type { ProviderMetrics } from './metrics.ts';
import type { Redactor } from './redact.ts';

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** Backoff ceiling of the first retry; it doubles per attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  /** Longest wait between attempts; a Retry-After beyond it ends the request instead of waiting. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: string;
  /** When the body had been read, µs since the epoch. */
  receivedAt: Micros;
}

/**
 * Thrown by a response reader when the provider answered 200 but its body says "too many requests"
 * (Alpha Vantage's `Note`): the request is retried with backoff like an HTTP 429.
 */
export class RateLimitedResponse extends Error {
  override readonly name = 'RateLimitedResponse';
}

export interface HttpClientOptions {
  provider: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** Sent with every request (e.g. CoinGecko's key header). Never logged. */
  headers: Readonly<Record<string, string>>;
  budget: RateBudget;
  circuit: CircuitBreaker;
  health: HealthTracker;
  redactor: Redactor;
  clock: Clock;
  random: () => number;
  /** Bound to the provider (a child logger with `provider` set). */
  log: Logger;
  metrics: ProviderMetrics | undefined;
}

type Outcome = 'ok' | 'rate_limited' | 'http_error' | 'server_error' | 'timeout' | 'network' | 'circuit_open';

/** An attempt that may succeed if repeated. */
interface Retryable {
  kind: Outcome;
  message: string;
  retryAfterMs?: number;
}

/**
 * GETs for one provider, through its budget and circuit breaker. Each attempt waits for a budget token,
 * runs under a timeout, and is classified: 2xx goes to `read`; 429, 408, 5xx, timeouts and network errors
 * are retried with exponential backoff and full jitter (a Retry-After, in seconds or as an HTTP date, is
 * waited exactly and also pauses the whole budget); other 4xx fail at once (404 as TL_ERR_NOT_FOUND).
 * Every message that leaves (error, log line, health) has the API key redacted.
 */
export class HttpClient {
  readonly #o: HttpClientOptions;

  constructor(options: HttpClientOptions) {
    this.#o = options;
  }

  /** Fetches `url` and returns what `read` makes of the answer. Rejects with the abort reason if `signal` aborts. */
  async get<T>(url: URL, read: (res: HttpResponse) => T, signal?: AbortSignal): Promise<T> {
    const o = this.#o;
    const where = o.redactor.text(url.toString());
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      try {
        o.circuit.acquire();
      } catch (err) {
        this.#count('circuit_open');
        throw err;
      }
      const result = await this.#attempt(url, where, read, signal);
      if (!isRetryable(result)) return result.value;

      o.health.failure(result.message);
      this.#count(result.kind);
      if (result.retryAfterMs !== undefined) o.budget.pauseUntil(o.clock.now() + result.retryAfterMs);
      if (attempt >= o.retry.maxAttempts) {
        throw new TicklineError('TL_ERR_PROVIDER', `${result.message} (gave up after ${attempt} attempts)`, {
          details: { provider: o.provider, attempts: attempt },
        });
      }
      if (result.retryAfterMs !== undefined && result.retryAfterMs > o.retry.maxDelayMs) {
        throw new TicklineError(
          'TL_ERR_PROVIDER',
          `${result.message}; it asks to wait ${Math.ceil(result.retryAfterMs / 1000)} s, longer than the ${o.retry.maxDelayMs} ms retry limit`,
          { details: { provider: o.provider, retryAfterMs: result.retryAfterMs } },
        );
      }
      const delayMs = result.retryAfterMs ?? backoffMs(attempt, o.retry.baseDelayMs, o.retry.maxDelayMs, o.random);
      o.log.warn({ url: where, attempt, delayMs, reason: result.message }, 'provider request failed; retrying');
      await o.clock.sleep(delayMs, signal);
    }
  }

  /**
   * One attempt. Reports exactly one outcome to the circuit (success, failure or neutral), returns the
   * value or a retryable failure, and throws what must not be retried.
   */
  async #attempt<T>(url: URL, where: string, read: (res: HttpResponse) => T, signal: AbortSignal | undefined): Promise<{ value: T } | Retryable> {
    const o = this.#o;
    try {
      await o.budget.take(signal);
    } catch (err) {
      o.circuit.neutral();
      throw err;
    }
    const timeout = AbortSignal.timeout(o.timeoutMs);
    let res: Response;
    let body: string;
    try {
      res = await fetch(url, { headers: o.headers, signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) });
      body = await res.text();
    } catch (err) {
      if (signal?.aborted) {
        o.circuit.neutral();
        throw signal.reason;
      }
      o.circuit.failure();
      return timeout.aborted
        ? { kind: 'timeout', message: `${o.provider}: no answer within ${o.timeoutMs} ms from ${where}` }
        : { kind: 'network', message: o.redactor.text(`${o.provider}: request to ${where} failed: ${describe(err)}`) };
    }
    const status = res.status;
    if (status === 429) {
      o.circuit.neutral();
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), o.clock.now());
      return { kind: 'rate_limited', message: `${o.provider}: HTTP 429 (rate limited) from ${where}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    if (status >= 500 || status === 408) {
      o.circuit.failure();
      return { kind: 'server_error', message: o.redactor.text(`${o.provider}: HTTP ${status} from ${where}: ${excerpt(body)}`) };
    }
    if (status < 200 || status >= 300) {
      o.circuit.neutral();
      throw this.#fail(
        new TicklineError(status === 404 ? 'TL_ERR_NOT_FOUND' : 'TL_ERR_PROVIDER', `${o.provider}: HTTP ${status} from ${where}: ${excerpt(body)}`, {
          details: { provider: o.provider, status },
        }),
      );
    }
    // The provider answered: whatever the body says, it is not down.
    o.circuit.success();
    let value: T;
    try {
      value = read({ status, headers: res.headers, body, receivedAt: clockMicros(o.clock) });
    } catch (err) {
      if (err instanceof RateLimitedResponse) return { kind: 'rate_limited', message: o.redactor.text(`${o.provider}: ${err.message}`) };
      throw this.#fail(err);
    }
    o.health.success();
    this.#count('ok');
    return { value };
  }

  /** A non-retryable failure as a TicklineError with its message redacted, recorded in health and metrics. */
  #fail(err: unknown): TicklineError {
    const o = this.#o;
    const e = isTicklineError(err)
      ? new TicklineError(err.code, o.redactor.text(err.message), { details: err.details })
      : new TicklineError('TL_ERR_PROVIDER', o.redactor.text(`${o.provider}: ${err instanceof Error ? err.message : String(err)}`));
    o.health.failure(e.message);
    this.#count('http_error');
    return e;
  }

  #count(outcome: Outcome): void {
    this.#o.metrics?.requests.inc({ provider: this.#o.provider, outcome });
  }
}

function isRetryable<T>(r: { value: T } | Retryable): r is Retryable {
  return !('value' in r);
}

/** Retry-After as ms from `nowMs`: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat === '' ? '(empty body)' : flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}

/** fetch hides the useful part ("ECONNREFUSED ...") in `cause`. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
