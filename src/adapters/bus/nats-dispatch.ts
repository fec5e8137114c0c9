import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../core/log.ts';
import type { Tick } from '../../core/tick.ts';
import type { BatchHandler } from '../../ports/bus.ts';

/** One fetched message of a partition, kept until it is acknowledged (or handed back on stop). */
export interface Entry {
  msg: JsMsg;
  ticks: Tick[];
  state: 'queued' | 'running' | 'waiting' | 'done';
}

/** One handler call: consecutive entries of one partition, coalesced up to `batchMax` ticks. */
export interface Delivery {
  owner: DeliverySource;
  entries: Entry[];
  ticks: Tick[];
  attempt: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** What the dispatcher needs from a partition worker. */
export interface DeliverySource {
  readonly partition: number;
  readonly stopping: boolean;
  /** Set by the dispatcher while the source sits in its ready queue. */
  inReady: boolean;
  running: number;
  takeDelivery(batchMax: number): Delivery | null;
  hasQueued(): boolean;
  /** Called after each finished delivery: acknowledge the done prefix, wake waiters. */
  settled(): void;
  /** The tick budget has room again. */
  poke(): void;
}

/**
 * Runs the handler for every partition worker of one subscription: at most `maxInFlight` calls at once,
 * round-robin over partitions so a busy partition cannot starve the others, failed deliveries retried
 * in place with backoff (the partition acknowledges in order, so nothing after a failed batch commits
 * past it, and a retry never reorders a symbol the way a server-side redelivery behind newer messages
 * would). It also keeps the count of ticks held in memory (`capacity` bounds what workers fetch).
 */
export class Dispatcher {
  running = 0;
  ticksInHand = 0;
  readonly capacity: number;
  readonly #handler: BatchHandler;
  readonly #maxInFlight: number;
  readonly #batchMax: number;
  readonly #logger: Logger;
  readonly #ready: DeliverySource[] = [];
  readonly #retry: Delivery[] = [];
  readonly #waiting = new Set<Delivery>();
  readonly #sources = new Set<DeliverySource>();
  #closed = false;

  constructor(opts: { handler: BatchHandler; maxInFlight: number; batchMax: number; capacity: number; logger: Logger }) {
    this.#handler = opts.handler;
    this.#maxInFlight = Math.max(1, opts.maxInFlight);
    this.#batchMax = Math.max(1, opts.batchMax);
    this.capacity = Math.max(1, opts.capacity);
    this.#logger = opts.logger;
  }

  add(s: DeliverySource): void {
    this.#sources.add(s);
  }

  remove(s: DeliverySource): void {
    this.#sources.delete(s);
    this.cancel(s);
  }

  get full(): boolean {
    return this.ticksInHand >= this.capacity;
  }

  hold(ticks: number): void {
    this.ticksInHand += ticks;
  }

  release(ticks: number): void {
    const wasFull = this.full;
    this.ticksInHand -= ticks;
    if (wasFull && !this.full) for (const s of this.#sources) s.poke();
  }

  /** A source has queued entries. */
  offer(s: DeliverySource): void {
    if (!s.inReady && !s.stopping) {
      s.inReady = true;
      this.#ready.push(s);
    }
    this.pump();
  }

  /** Drops the pending retries of a stopping source (its entries are handed back by the source). */
  cancel(s: DeliverySource): void {
    for (const d of [...this.#waiting]) {
      if (d.owner !== s) continue;
      clearTimeout(d.timer);
      this.#waiting.delete(d);
    }
    for (let i = this.#retry.length - 1; i >= 0; i--) if (this.#retry[i]!.owner === s) this.#retry.splice(i, 1);
    const at = this.#ready.indexOf(s);
    if (at >= 0) this.#ready.splice(at, 1);
    s.inReady = false;
  }

  close(): void {
    this.#closed = true;
    for (const d of this.#waiting) clearTimeout(d.timer);
    this.#waiting.clear();
    this.#retry.length = 0;
    this.#ready.length = 0;
  }

  pump(): void {
    while (!this.#closed && this.running < this.#maxInFlight) {
      let d = this.#retry.shift();
      if (d && d.owner.stopping) continue;
      if (!d) {
        const s = this.#ready.shift();
        if (!s) return;
        s.inReady = false;
        d = s.takeDelivery(this.#batchMax) ?? undefined;
        if (s.hasQueued() && !s.stopping) {
          s.inReady = true;
          this.#ready.push(s);
        }
        if (!d) continue;
      }
      this.#run(d);
    }
  }

  #run(d: Delivery): void {
    this.running++;
    d.owner.running++;
    for (const e of d.entries) e.state = 'running';
    let p: Promise<void>;
    try {
      p = this.#handler(d.ticks);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      () => {
        for (const e of d.entries) e.state = 'done';
      },
      (err: unknown) => {
        d.attempt++;
        for (const e of d.entries) e.state = 'waiting';
        this.#logger.error({ err, partition: d.owner.partition, attempt: d.attempt, ticks: d.ticks.length }, 'batch handler failed; retrying');
        if (d.owner.stopping || this.#closed) return;
        this.#waiting.add(d);
        d.timer = setTimeout(() => {
          this.#waiting.delete(d);
          if (d.owner.stopping || this.#closed) return;
          this.#retry.push(d);
          this.pump();
        }, Math.min(100 * 2 ** (d.attempt - 1), 5_000));
      },
    ).finally(() => {
      this.running--;
      d.owner.running--;
      d.owner.settled();
      this.pump();
    });
  }
}
