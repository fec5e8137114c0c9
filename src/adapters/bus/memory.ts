import { TicklineError } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import type { BatchHandler, Bus, SubscribeOptions, Subscription } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';

export interface MemoryBusOptions {
  /** Ticks published and not yet acknowledged, per topic, before `publish` waits. */
  capacity: number;
  /** Largest batch handed to a handler; queued small batches are coalesced up to this size. */
  batchMax: number;
  /** Called when a handler rejects; the batch is retried after `retryMs`. */
  onHandlerError?: (err: unknown, attempt: number) => void;
  retryMs?: number;
}

interface InFlight {
  ticks: Tick[];
  done: boolean;
  /** The handler is running for it now (false while a failed batch waits for its retry). */
  running: boolean;
}

interface Waiter {
  need: number;
  resolve: () => void;
}

/** One topic: a bounded FIFO of batches and at most one consumer. */
class Topic {
  readonly queue: Tick[][] = [];
  queuedTicks = 0;
  /** Ticks accepted and not yet acknowledged (queued + in flight). */
  used = 0;
  readonly waiters: Waiter[] = [];
  consumer: Consumer | undefined;
  readonly drainWaiters: Array<() => void> = [];
}

class Consumer {
  readonly inflight: InFlight[] = [];
  stopped = false;
  readonly topic: Topic;
  readonly handler: BatchHandler;
  readonly maxInFlight: number;
  readonly bus: MemoryBus;
  readonly group: string;

  constructor(bus: MemoryBus, topic: Topic, handler: BatchHandler, group: string, maxInFlight: number) {
    this.bus = bus;
    this.topic = topic;
    this.handler = handler;
    this.group = group;
    this.maxInFlight = maxInFlight;
  }
}

/**
 * The in-process bus: bounded, with backpressure, ordered, at-least-once within the process.
 *
 * Small published batches are coalesced into larger deliveries (up to `batchMax`) when the consumer
 * falls behind, so the process stage works on bigger batches exactly when it needs to.
 * One consumer per topic: a second subscriber (any group) is refused, because splitting an in-memory
 * queue between consumers would break per-symbol order and buys nothing inside one process.
 * Not durable: a crash loses what is queued; `close()` delivers everything accepted first.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory';
  readonly #topics = new Map<string, Topic>();
  readonly #opts: Required<Omit<MemoryBusOptions, 'onHandlerError'>> & Pick<MemoryBusOptions, 'onHandlerError'>;
  #closed = false;

  constructor(opts: MemoryBusOptions) {
    this.#opts = { retryMs: 200, ...opts };
  }

  #topic(name: string): Topic {
    let t = this.#topics.get(name);
    if (!t) {
      t = new Topic();
      this.#topics.set(name, t);
    }
    return t;
  }

  async publish(topic: string, ticks: readonly Tick[]): Promise<void> {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', 'memory bus is closed; cannot publish');
    if (ticks.length === 0) return;
    const t = this.#topic(topic);
    const n = ticks.length;
    // A batch larger than the whole capacity is admitted alone, so it can never deadlock.
    if (t.used > 0 && (t.used + n > this.#opts.capacity || t.waiters.length > 0)) {
      // The waker reserves our capacity before resolving, so no later publisher can take it.
      await new Promise<void>((resolve) => t.waiters.push({ need: n, resolve }));
      if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', 'memory bus closed while waiting to publish');
    } else {
      t.used += n;
    }
    t.queue.push(ticks as Tick[]);
    t.queuedTicks += n;
    if (t.consumer) this.#pump(t.consumer);
  }

  async subscribe(topic: string, handler: BatchHandler, options: SubscribeOptions): Promise<Subscription> {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', 'memory bus is closed; cannot subscribe');
    const t = this.#topic(topic);
    if (t.consumer && !t.consumer.stopped) {
      throw new TicklineError(
        'TL_ERR_CONFIG',
        `memory bus topic "${topic}" already has a consumer (group "${t.consumer.group}"); run several process replicas over kafka:// or nats://`,
      );
    }
    const c = new Consumer(this, t, handler, options.group, Math.max(1, options.maxInFlight ?? 4));
    t.consumer = c;
    this.#pump(c);
    return {
      stop: async () => {
        c.stopped = true;
        // Wait for running handlers; a batch waiting to be retried is not waited for.
        while (c.inflight.some((e) => e.running)) await new Promise<void>((r) => t.drainWaiters.push(r));
        // What was not acknowledged goes back to the head of the queue, in order, for the next consumer
        // (batches that finished behind an unfinished one are delivered again: at least once).
        const back = c.inflight.splice(0).map((e) => e.ticks);
        for (let i = back.length - 1; i >= 0; i--) {
          t.queue.unshift(back[i]!);
          t.queuedTicks += back[i]!.length;
        }
        if (t.consumer === c) t.consumer = undefined;
        for (const w of t.drainWaiters.splice(0)) w();
      },
    };
  }

  #pump(c: Consumer): void {
    const t = c.topic;
    while (!c.stopped && c.inflight.length < c.maxInFlight && t.queue.length > 0) {
      let ticks = t.queue.shift()!;
      // Coalesce queued batches into one delivery, up to batchMax ticks.
      if (t.queue.length > 0 && ticks.length < this.#opts.batchMax) {
        const parts = [ticks];
        let size = ticks.length;
        while (t.queue.length > 0 && size + t.queue[0]!.length <= this.#opts.batchMax) {
          const next = t.queue.shift()!;
          parts.push(next);
          size += next.length;
        }
        if (parts.length > 1) ticks = parts.flat();
      }
      t.queuedTicks -= ticks.length;
      const entry: InFlight = { ticks, done: false, running: true };
      c.inflight.push(entry);
      void this.#deliver(c, entry, 1);
    }
  }

  async #deliver(c: Consumer, entry: InFlight, attempt: number): Promise<void> {
    if (c.stopped) {
      entry.running = false;
      for (const w of c.topic.drainWaiters.splice(0)) w();
      return;
    }
    entry.running = true;
    try {
      await c.handler(entry.ticks);
    } catch (err) {
      this.#opts.onHandlerError?.(err, attempt);
      entry.running = false;
      for (const w of c.topic.drainWaiters.splice(0)) w();
      // At-least-once: keep the batch in its place and try again; later batches cannot be acknowledged
      // past it because acknowledgement is in order.
      setTimeout(() => void this.#deliver(c, entry, attempt + 1), Math.min(this.#opts.retryMs * attempt, 5_000)).unref();
      return;
    }
    entry.running = false;
    entry.done = true;
    this.#ack(c);
  }

  #ack(c: Consumer): void {
    const t = c.topic;
    let released = 0;
    while (c.inflight.length > 0 && c.inflight[0]!.done) released += c.inflight.shift()!.ticks.length;
    if (released > 0) {
      t.used -= released;
      while (t.waiters.length > 0) {
        const w = t.waiters[0]!;
        if (t.used > 0 && t.used + w.need > this.#opts.capacity) break;
        t.waiters.shift();
        t.used += w.need;
        w.resolve();
      }
    }
    if (c.inflight.length === 0 || released > 0) {
      const ws = t.drainWaiters.splice(0);
      for (const w of ws) w();
    }
    this.#pump(c);
  }

  lag(topic: string): number {
    return this.#topics.get(topic)?.used ?? 0;
  }

  async health(): Promise<Health> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    let used = 0;
    for (const t of this.#topics.values()) used += t.used;
    return { ok: true, detail: `in-process, ${used} ticks in flight` };
  }

  /** Delivers everything already accepted (when a consumer is attached), then refuses new publishes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const t of this.#topics.values()) {
      while (t.consumer && !t.consumer.stopped && t.used > 0) {
        await new Promise<void>((r) => t.drainWaiters.push(r));
      }
    }
    this.#closed = true;
    for (const t of this.#topics.values()) {
      for (const w of t.waiters.splice(0)) w.resolve();
    }
  }
}
