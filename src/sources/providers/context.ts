import { TicklineError, show } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type { Micros } from '../../core/time.ts';
import { RateBudget, type RateLimit } from './budget.ts';
import { CircuitBreaker, DEFAULT_CIRCUIT, type CircuitOptions } from './circuit.ts';
import { systemClock, type Clock } from './clock.ts';
import { HealthTracker, type ProviderHealth } from './health.ts';
import { DEFAULT_RETRY, HttpClient, type RetryPolicy } from './http.ts';
import type { ProviderMetrics } from './metrics.ts';
import { Redactor } from './redact.ts';
import type { ProviderName, Rejected } from './types.ts';

/** Options every provider takes; AlphaVantageOptions, CoinGeckoOptions and CoinbaseOptions add their own. */
export interface CommonOptions {
  /** REST base URL (scheme, host, optional path prefix); defaults to the provider's public endpoint. */
  baseUrl?: string;
  /** The caller reads it from the environment or a `*_FILE`; it never appears in logs, errors or health. */
  apiKey?: string;
  /** Replaces the provider's default rate budget (all buckets). */
  limits?: RateLimit[];
  /** Per-attempt timeout, ms (default 10 000). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  circuit?: Partial<CircuitOptions>;
  /** Window of the health error rate, ms (default 300 000). */
  healthWindowMs?: number;
  log?: Logger;
  metrics?: ProviderMetrics;
  /** For tests: virtual time and a seeded jitter. */
  clock?: Clock;
  random?: () => number;
}

/** Per-provider defaults that options may override. */
export interface ProviderDefaults {
  baseUrl: string;
  limits: RateLimit[];
  /** Extra request headers, e.g. an API key header; never logged. */
  headers?: Record<string, string>;
}

const MAX_PAYLOAD = 4096;

/** The shared machinery of one provider: HTTP through budget and circuit, health, redaction, rejects. */
export class ProviderContext {
  readonly name: ProviderName;
  readonly baseUrl: string;
  readonly budget: RateBudget;
  readonly circuit: CircuitBreaker;
  readonly redactor: Redactor;
  readonly http: HttpClient;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  readonly metrics: ProviderMetrics | undefined;
  readonly #health: HealthTracker;

  constructor(name: ProviderName, options: CommonOptions, defaults: ProviderDefaults) {
    this.name = name;
    this.redactor = new Redactor([options.apiKey]);
    this.baseUrl = checkUrl(name, 'baseUrl', options.baseUrl ?? defaults.baseUrl, this.redactor, ['http:', 'https:']);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.log = (options.log ?? silentLogger()).child({ provider: name });
    this.metrics = options.metrics;
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new TicklineError('TL_ERR_CONFIG', `${name}: timeoutMs must be a positive number, got ${show(timeoutMs)}`);
    }
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!(Number.isInteger(retry.maxAttempts) && retry.maxAttempts >= 1)) {
      throw new TicklineError('TL_ERR_CONFIG', `${name}: retry.maxAttempts must be an integer >= 1, got ${show(retry.maxAttempts)}`);
    }
    const circuit = { ...DEFAULT_CIRCUIT, ...options.circuit };
    const numbers: Array<[string, number]> = [
      ['retry.baseDelayMs', retry.baseDelayMs],
      ['retry.maxDelayMs', retry.maxDelayMs],
      ...Object.entries(circuit).map(([k, v]): [string, number] => [`circuit.${k}`, v]),
    ];
    for (const [key, v] of numbers) {
      const min = key === 'circuit.windowSize' ? 1 : 0;
      if (!(Number.isFinite(v) && v >= min)) throw new TicklineError('TL_ERR_CONFIG', `${name}: ${key} must be a number >= ${min}, got ${show(v)}`);
    }
    this.budget = new RateBudget(options.limits ?? defaults.limits, this.clock);
    this.circuit = new CircuitBreaker(name, circuit, this.clock, (state) => {
      this.log.warn({ circuit: state }, `circuit ${state}`);
      this.metrics?.circuit.set({ provider: name }, state === 'open' ? 1 : state === 'half-open' ? 0.5 : 0);
    });
    this.#health = new HealthTracker(this.clock, options.healthWindowMs ?? 300_000);
    this.http = new HttpClient({
      provider: name,
      timeoutMs,
      retry,
      headers: defaults.headers ?? {},
      budget: this.budget,
      circuit: this.circuit,
      health: this.#health,
      redactor: this.redactor,
      clock: this.clock,
      random: this.random,
      log: this.log,
      metrics: this.metrics,
    });
  }

  /** `baseUrl` + `path` with query `params` (values are URL-encoded). */
  url(path: string, params: Record<string, string> = {}): URL {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u;
  }

  /** Builds a Rejected record (payload redacted and truncated) and counts it. */
  reject(symbol: string | null, reason: string, payload: string, receivedAt: Micros): Rejected {
    this.metrics?.rejected.inc({ provider: this.name });
    const clean = this.redactor.text(payload);
    return {
      provider: this.name,
      symbol,
      reason: this.redactor.text(reason),
      payload: clean.length > MAX_PAYLOAD ? clean.slice(0, MAX_PAYLOAD) : clean,
      receivedAt,
    };
  }

  health(connected: boolean | null = null): ProviderHealth {
    return this.#health.snapshot({ provider: this.name, circuit: this.circuit.state, budgetAvailable: this.budget.available(), connected });
  }
}

/** Parses a configured URL, refusing other schemes; returns it without a trailing slash. */
export function checkUrl(provider: string, key: string, value: string, redactor: Redactor, schemes: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new TicklineError('TL_ERR_CONFIG', `${provider}: ${key} must be an absolute URL, got ${show(redactor.text(value))}`);
  }
  if (!schemes.includes(u.protocol)) {
    throw new TicklineError('TL_ERR_CONFIG', `${provider}: ${key} must use ${schemes.join(' or ')}, got ${show(redactor.text(value))}`);
  }
  return value.replace(/\/+$/, '');
}
