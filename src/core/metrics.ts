import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus metrics of one Tickline process. One instance per process (tests create their own),
 * passed to whatever records into it; `/metrics` serves `registry`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly ticksIn: Counter<'source'>;
  readonly ticksProcessed: Counter<'result'>;
  readonly quarantined: Counter<'reason'>;
  readonly batches: Counter<'stage'>;
  readonly sinkSeconds: Histogram<'sink'>;
  readonly sinkErrors: Counter<'sink'>;
  readonly busLag: Gauge<'topic'>;
  readonly latestAge: Histogram;
  readonly ingestRequests: Counter<'route' | 'status'>;
  readonly busBadMessages: Counter<'topic'>;
  readonly reconnects: Counter<'dependency'>;
  readonly qualityRows: Counter<'result'>;
  readonly qualityFailures: Counter<'expectation' | 'action'>;
  readonly qualityBatches: Counter<'verdict'>;
  readonly gateSeconds: Counter;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r, prefix: 'tickline_' });
    this.ticksIn = new Counter({ name: 'tickline_source_ticks_total', help: 'Ticks emitted by sources', labelNames: ['source'], registers: [r] });
    this.ticksProcessed = new Counter({ name: 'tickline_ticks_processed_total', help: 'Ticks through the checks, by result (pass|quarantine)', labelNames: ['result'], registers: [r] });
    this.quarantined = new Counter({ name: 'tickline_quarantined_total', help: 'Quarantined ticks by failed check', labelNames: ['reason'], registers: [r] });
    this.batches = new Counter({ name: 'tickline_batches_total', help: 'Micro-batches handled, by stage', labelNames: ['stage'], registers: [r] });
    this.sinkSeconds = new Histogram({
      name: 'tickline_sink_write_seconds',
      help: 'Time to write one batch durably, by sink (store|zones|cache)',
      labelNames: ['sink'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    this.sinkErrors = new Counter({ name: 'tickline_sink_errors_total', help: 'Failed sink writes (retried)', labelNames: ['sink'], registers: [r] });
    this.busLag = new Gauge({ name: 'tickline_bus_lag_ticks', help: 'Ticks published and not yet acknowledged', labelNames: ['topic'], registers: [r] });
    this.latestAge = new Histogram({
      name: 'tickline_tick_to_cache_seconds',
      help: 'Time from a tick being received to it being visible in the latest-price cache',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [r],
    });
    this.busBadMessages = new Counter({ name: 'tickline_bus_bad_messages_total', help: 'Bus messages that failed to decode (logged with their position and skipped)', labelNames: ['topic'], registers: [r] });
    this.qualityRows = new Counter({ name: 'tickline_quality_rows_total', help: 'Rows through the quality gate by result (pass|warn|fail)', labelNames: ['result'], registers: [r] });
    this.qualityFailures = new Counter({
      name: 'tickline_quality_expectation_failures_total',
      help: 'Rows failing each expectation (a row failing two expectations counts for both), by action (quarantine|warn)',
      labelNames: ['expectation', 'action'],
      registers: [r],
    });
    this.qualityBatches = new Counter({ name: 'tickline_quality_batches_total', help: 'Batches by quality verdict (PASS|FAIL, after each expectation\'s mostly)', labelNames: ['verdict'], registers: [r] });
    this.gateSeconds = new Counter({ name: 'tickline_quality_gate_seconds_total', help: 'CPU time spent evaluating the quality gate', registers: [r] });
    this.reconnects = new Counter({ name: 'tickline_reconnects_total', help: 'Reconnections to a dependency after it failed', labelNames: ['dependency'], registers: [r] });
    this.ingestRequests = new Counter({ name: 'tickline_ingest_requests_total', help: 'Ingest API requests by route and status', labelNames: ['route', 'status'], registers: [r] });
  }
}
