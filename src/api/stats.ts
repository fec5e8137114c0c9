import type { Metrics } from '../core/metrics.ts';
import type { SourceStats } from '../ports/source.ts';

/** The dashboard's pipeline-health figures, as the `stats` live event carries them. Any may be null. */
export interface PipelineStats {
  ticks_per_s: number | null;
  /** Fraction 0…1 of rows that passed (or only warned) over the last interval; null when none went through. */
  quality_pass_rate: number | null;
  quarantined_total: number | null;
  store_write_p50_ms: number | null;
  bus_lag_ticks: number | null;
  sources: Array<{ name: string; running: boolean; rate: number; emitted: number; last_error: string | null }>;
}

interface Snapshot {
  at: number;
  ticksIn: number;
  rows: Record<string, number>;
  /** Cumulative bucket counts of the store's write time, by upper bound in seconds. */
  storeBuckets: Map<number, number>;
}

async function counterTotal(metric: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  let sum = 0;
  for (const v of (await metric.get()).values) sum += v.value;
  return sum;
}

/**
 * Derives the health figures from this process's metrics, as differences between two samples a second
 * apart. Figures of stages this process does not run stay null (`pipeline: false` for the api role of a
 * split deployment: its counters would read zero, which is not the truth).
 */
export class StatsSampler {
  readonly #metrics: Metrics;
  readonly #sources: () => SourceStats[];
  readonly #pipeline: boolean;
  readonly #ingest: boolean;
  #prev: Snapshot | null = null;

  constructor(opts: { metrics: Metrics; sources: () => SourceStats[]; pipeline: boolean; ingest: boolean }) {
    this.#metrics = opts.metrics;
    this.#sources = opts.sources;
    this.#pipeline = opts.pipeline;
    this.#ingest = opts.ingest;
  }

  async #snapshot(): Promise<Snapshot> {
    const m = this.#metrics;
    const rows: Record<string, number> = {};
    for (const v of (await m.qualityRows.get()).values) rows[String(v.labels.result)] = v.value;
    const storeBuckets = new Map<number, number>();
    for (const v of (await m.sinkSeconds.get()).values) {
      const labels = v.labels as { sink?: string; le?: string | number };
      if (labels.sink !== 'store' || v.metricName !== 'tickline_sink_write_seconds_bucket') continue;
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      storeBuckets.set(le, v.value);
    }
    return { at: performance.now(), ticksIn: await counterTotal(m.ticksIn), rows, storeBuckets };
  }

  /** The figures since the previous call (the first call only primes the counters and reports rates as null). */
  async sample(): Promise<PipelineStats> {
    const now = await this.#snapshot();
    const prev = this.#prev;
    this.#prev = now;
    const seconds = prev ? (now.at - prev.at) / 1000 : 0;
    const lag = (await this.#metrics.busLag.get()).values.reduce((s, v) => s + v.value, 0);

    let passRate: number | null = null;
    let p50: number | null = null;
    if (prev && this.#pipeline) {
      const d = (k: string): number => (now.rows[k] ?? 0) - (prev.rows[k] ?? 0);
      const total = d('pass') + d('warn') + d('fail');
      passRate = total > 0 ? (d('pass') + d('warn')) / total : null;
      p50 = histogramQuantile(prev.storeBuckets, now.storeBuckets, 0.5);
    }
    return {
      ticks_per_s: prev && this.#ingest && seconds > 0 ? Math.round((now.ticksIn - prev.ticksIn) / seconds) : null,
      quality_pass_rate: passRate,
      quarantined_total: this.#pipeline ? (now.rows.fail ?? 0) : null,
      store_write_p50_ms: p50 === null ? null : Math.round(p50 * 1000 * 100) / 100,
      bus_lag_ticks: this.#ingest || this.#pipeline ? lag : null,
      sources: this.#sources().map((s) => ({ name: s.name, running: s.running, rate: s.rate, emitted: s.emitted, last_error: s.lastError ?? null })),
    };
  }
}

/**
 * The q-quantile of the observations made between two samples of a cumulative histogram, interpolated
 * linearly inside its bucket (as Prometheus' histogram_quantile does); null when nothing was observed.
 */
export function histogramQuantile(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i]!;
    const cum = counts[i]!;
    if (cum >= rank) {
      // Beyond the last finite bound nothing tells where the value lies: report that bound.
      if (upper === Infinity) return lower;
      const inBucket = cum - below;
      return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
    }
    lower = upper;
    below = cum;
  }
  return lower;
}
