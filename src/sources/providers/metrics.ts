import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Prometheus metrics of the market-data providers. Create one per registry (metric names can be
 * registered once) and pass it to every provider: series are labelled by provider.
 */
export class ProviderMetrics {
  /** outcome: ok | rate_limited | http_error | server_error | timeout | network | circuit_open. */
  readonly requests: Counter<'provider' | 'outcome'>;
  readonly rejected: Counter<'provider'>;
  /** kind: trade_id | silence. */
  readonly gaps: Counter<'provider' | 'kind'>;
  readonly backfilled: Counter<'provider'>;
  readonly reconnects: Counter<'provider'>;
  /** 0 closed, 1 open, 0.5 half-open. */
  readonly circuit: Gauge<'provider'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'tickline_provider_requests_total',
      help: 'HTTP requests to market-data providers (each attempt) by outcome, plus requests refused by an open circuit',
      labelNames: ['provider', 'outcome'],
      registers,
    });
    this.rejected = new Counter({ name: 'tickline_provider_rejected_total', help: 'Provider records rejected as malformed', labelNames: ['provider'], registers });
    this.gaps = new Counter({ name: 'tickline_provider_gaps_total', help: 'Gaps detected in provider streams, by kind (trade_id|silence)', labelNames: ['provider', 'kind'], registers });
    this.backfilled = new Counter({ name: 'tickline_provider_backfilled_ticks_total', help: 'Ticks recovered over REST to fill stream gaps', labelNames: ['provider'], registers });
    this.reconnects = new Counter({ name: 'tickline_provider_reconnects_total', help: 'Stream reconnections after a close, error or heartbeat timeout', labelNames: ['provider'], registers });
    this.circuit = new Gauge({ name: 'tickline_provider_circuit_state', help: 'Circuit breaker state: 0 closed, 0.5 half-open, 1 open', labelNames: ['provider'], registers });
  }
}
