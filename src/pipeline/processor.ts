import type { Bar } from '../core/bar.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Tick } from '../core/tick.ts';
import { nowMicros, type Micros } from '../core/time.ts';
import type { Cache } from '../ports/cache.ts';
import type { Store } from '../ports/store.ts';
import type { ZoneAnnotation, Zones } from '../ports/zones.ts';
import { describeFailure, type Gate, type GateResult } from '../quality/gate.ts';
import type { Suite } from '../quality/suite.ts';
import { aggregateBatch } from './bars.ts';
import { GroupWriter } from './group-writer.ts';
import type { RunRecorder } from './runs.ts';

interface ZonePart {
  ticks: readonly Tick[];
  notes?: readonly ZoneAnnotation[];
}

interface StorePart {
  ticks: readonly Tick[];
  bars: readonly Bar[];
}

function concat<T>(arrays: ReadonlyArray<readonly T[]>): T[] {
  return arrays.length === 1 ? (arrays[0] as T[]) : arrays.flat() as T[];
}

export interface ProcessorDeps {
  store: Store;
  cache: Cache;
  zones: Zones;
  metrics: Metrics;
  logger: Logger;
  /** The quality gate (stateful: one per process stage). */
  gate: Gate;
  /** Records the gate's verdicts as validation runs. */
  runs: RunRecorder;
  /** Dataset name inside the zones. */
  dataset?: string;
  /** Observes when a batch became visible in the latest cache (benchmarks measure latency with it). */
  onVisible?: (ticks: readonly Tick[], atUs: Micros) => void;
  /** Delay before retrying a failed sink write; doubles up to 5 s. */
  retryMs?: number;
}

/**
 * The process stage: quality gate → route. Per batch:
 * 1. every tick is validated against the expectation suite; the newest passing tick per symbol goes to
 *    the latest cache at once (that is what "live" means, so it does not wait for the durable writes);
 * 2. then, concurrently: all ticks to the raw zone; failing ticks to the quarantine zone with the failed
 *    expectation, observed value, threshold, suite version and run id; passing ticks to the curated zone,
 *    and with their partial bars to the store in one atomic write.
 * The returned promise resolves only when every durable sink has the batch, which is when the bus may
 * acknowledge it. Each sink group-commits (see GroupWriter): batches that arrive while it is writing are
 * written together next. A failing sink is retried with backoff, alone, so the others are not written twice.
 */
export class Processor {
  readonly #d: ProcessorDeps;
  readonly #dataset: string;
  #stopping = false;
  readonly #raw: GroupWriter<ZonePart>;
  readonly #quarantine: GroupWriter<ZonePart>;
  readonly #curated: GroupWriter<ZonePart>;
  readonly #store: GroupWriter<StorePart>;
  readonly #cache: GroupWriter<readonly Tick[]>;

  constructor(deps: ProcessorDeps) {
    this.#d = deps;
    this.#dataset = deps.dataset ?? 'ticks';
    const zoneWriter = (zone: 'raw' | 'quarantine' | 'curated') =>
      new GroupWriter<ZonePart>(
        (parts) => {
          const ticks = concat(parts.map((p) => p.ticks));
          const notes = zone === 'quarantine' ? concat(parts.map((p) => p.notes ?? [])) : undefined;
          return deps.zones.append(zone, this.#dataset, ticks, notes);
        },
        (attempt) => this.#retrying('zones', attempt),
      );
    this.#raw = zoneWriter('raw');
    this.#quarantine = zoneWriter('quarantine');
    this.#curated = zoneWriter('curated');
    // Small deliveries (a network bus hands over a message at a time) must not cost a cache round trip
    // each: while one update is in flight the next ones gather, and the cache keeps the newest per symbol.
    this.#cache = new GroupWriter<readonly Tick[]>(
      (parts) => deps.cache.put(concat(parts)),
      (attempt) => this.#retrying('cache', attempt),
    );
    this.#store = new GroupWriter<StorePart>(
      (parts) => deps.store.write({ ticks: concat(parts.map((p) => p.ticks)), bars: concat(parts.map((p) => p.bars)) }),
      (attempt) => this.#retrying('store', attempt),
      // Two transactions in flight keep a network store busy while the next group is encoded; the
      // embedded store serialises them in its worker anyway.
      { concurrency: 2 },
    );
  }

  /** Stops retrying failed sinks (their batches stay unacknowledged, to be redelivered). */
  stop(): void {
    this.#stopping = true;
  }

  readonly handle = async (ticks: Tick[]): Promise<void> => {
    const d = this.#d;
    const started = performance.now();
    const r = d.gate.evaluate(ticks);
    d.metrics.gateSeconds.inc((performance.now() - started) / 1000);
    const good = r.passed;
    const { bars, latest } = aggregateBatch(good);

    if (latest.length > 0) {
      await this.#cache.add(latest);
      const at = nowMicros();
      d.onVisible?.(good, at);
      // Sampled: the oldest tick of the batch waited longest, so it bounds the batch's latency.
      d.metrics.latestAge.observe(Math.max(0, at - good[0]!.recvTs) / 1e6);
    }

    const runId = this.#account(r);
    const writes: Array<Promise<void>> = [this.#raw.add({ ticks })];
    if (r.failed.length > 0) writes.push(this.#quarantine.add({ ticks: r.failed, notes: quarantineNotes(r, d.gate.suite, runId) }));
    if (good.length > 0) {
      writes.push(this.#curated.add({ ticks: good }));
      writes.push(this.#store.add({ ticks: good, bars }));
    }
    await Promise.all(writes);
  };

  /** Metrics, the batch's QUALITY log line and the validation run; returns the run id. */
  #account(r: GateResult): string {
    const d = this.#d;
    const runId = d.runs.record(r);
    const rows = r.passed.length + r.failed.length;
    d.metrics.batches.inc({ stage: 'process' });
    d.metrics.qualityBatches.inc({ verdict: r.verdict });
    if (r.passed.length > 0) d.metrics.ticksProcessed.inc({ result: 'pass' }, r.passed.length);
    if (r.passed.length - r.warned > 0) d.metrics.qualityRows.inc({ result: 'pass' }, r.passed.length - r.warned);
    if (r.warned > 0) d.metrics.qualityRows.inc({ result: 'warn' }, r.warned);
    if (r.failed.length > 0) {
      d.metrics.ticksProcessed.inc({ result: 'quarantine' }, r.failed.length);
      d.metrics.qualityRows.inc({ result: 'fail' }, r.failed.length);
      // The first quarantine failure of each row is its reason.
      const byReason = new Map<string, number>();
      for (const f of r.failures) byReason.set(f[0]!.expectation, (byReason.get(f[0]!.expectation) ?? 0) + 1);
      for (const [reason, n] of byReason) d.metrics.quarantined.inc({ reason }, n);
    }
    for (const e of r.expectations) if (e.failed > 0) d.metrics.qualityFailures.inc({ expectation: e.name, action: e.action }, e.failed);
    const line = `QUALITY=${r.verdict} rows=${rows} passed=${r.passed.length} failed=${r.failed.length} warned=${r.warned}`;
    const fields = { quality: r.verdict, rows, passed: r.passed.length, failed: r.failed.length, warned: r.warned, run: runId, suite: `${d.gate.suite.name}@${d.gate.suite.version}` };
    // Every batch logs its verdict; at full speed that is hundreds of lines a second, so PASS is debug.
    if (r.verdict === 'PASS') d.logger.debug(fields, line);
    else d.logger.info({ ...fields, failing: r.expectations.filter((e) => !e.success).map((e) => e.name) }, line);
    return runId;
  }

  async #retrying(name: string, write: () => Promise<void>): Promise<void> {
    const d = this.#d;
    let delay = d.retryMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      const end = d.metrics.sinkSeconds.startTimer({ sink: name });
      try {
        await write();
        end();
        return;
      } catch (err) {
        d.metrics.sinkErrors.inc({ sink: name });
        if (this.#stopping) throw err;
        d.logger.error({ err, sink: name, attempt }, `${name} write failed; retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }
}

/** The quarantine zone's fields next to each failing tick: what failed, what was seen, against what. */
export function quarantineNotes(r: Pick<GateResult, 'failures'>, suite: Pick<Suite, 'name' | 'version'>, runId: string): ZoneAnnotation[] {
  return r.failures.map((fs) => {
    const f = fs[0]!;
    return {
      reason: f.expectation,
      expectation: f.expectation,
      observed: f.observed,
      threshold: f.threshold,
      detail: describeFailure(f),
      failed: fs.filter((x) => x.action === 'quarantine').map((x) => x.expectation).join(','),
      suite: suite.name,
      suite_version: suite.version,
      run_id: runId,
    };
  });
}
