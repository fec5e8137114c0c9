import type { Bar } from '../core/bar.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Tick } from '../core/tick.ts';
import { nowMicros, type Micros } from '../core/time.ts';
import type { Cache } from '../ports/cache.ts';
import type { Store } from '../ports/store.ts';
import type { ZoneAnnotation, Zones } from '../ports/zones.ts';
import { aggregateBatch } from './bars.ts';
import { checkBatch, type CheckOptions } from './checks.ts';
import { GroupWriter } from './group-writer.ts';

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
  checks: CheckOptions;
  /** Dataset name inside the zones. */
  dataset?: string;
  /** Observes when a batch became visible in the latest cache (benchmarks measure latency with it). */
  onVisible?: (ticks: readonly Tick[], atUs: Micros) => void;
  /** Delay before retrying a failed sink write; doubles up to 5 s. */
  retryMs?: number;
}

/**
 * The process stage: basic checks → route. Per batch:
 * 1. every tick is checked; the newest passing tick per symbol goes to the latest cache at once
 *    (that is what "live" means, so it does not wait for the slower durable writes);
 * 2. then, concurrently: all ticks to the raw zone, failing ticks (with their reason) to the quarantine
 *    zone, passing ticks and their partial bars to the store in one atomic write.
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
  readonly #store: GroupWriter<StorePart>;
  readonly #cache: GroupWriter<readonly Tick[]>;

  constructor(deps: ProcessorDeps) {
    this.#d = deps;
    this.#dataset = deps.dataset ?? 'ticks';
    const zoneWriter = (zone: 'raw' | 'quarantine') =>
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
    const now = nowMicros();
    const { good, bad, failures } = checkBatch(ticks, now, d.checks);
    const { bars, latest } = aggregateBatch(good);

    if (latest.length > 0) {
      await this.#cache.add(latest);
      const at = nowMicros();
      d.onVisible?.(good, at);
      // Sampled: the oldest tick of the batch waited longest, so it bounds the batch's latency.
      d.metrics.latestAge.observe(Math.max(0, at - good[0]!.recvTs) / 1e6);
    }

    d.metrics.batches.inc({ stage: 'process' });
    if (good.length > 0) d.metrics.ticksProcessed.inc({ result: 'pass' }, good.length);
    if (bad.length > 0) {
      d.metrics.ticksProcessed.inc({ result: 'quarantine' }, bad.length);
      const byReason = new Map<string, number>();
      for (const f of failures) byReason.set(f.check, (byReason.get(f.check) ?? 0) + 1);
      for (const [reason, n] of byReason) d.metrics.quarantined.inc({ reason }, n);
    }

    const writes: Array<Promise<void>> = [this.#raw.add({ ticks })];
    if (bad.length > 0) {
      const notes: ZoneAnnotation[] = failures.map((f) => ({ reason: f.check, detail: f.detail }));
      writes.push(this.#quarantine.add({ ticks: bad, notes }));
    }
    if (good.length > 0) writes.push(this.#store.add({ ticks: good, bars }));
    await Promise.all(writes);
  };

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
