import { ProduceAcks, Producer, type ProduceResult } from '@platformatic/kafka';
import { TicklineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { KafkaBusConfig } from './kafka-config.ts';
import { messageHeaders, type OutMessage } from './kafka-messages.ts';
import { Signal, backoff, type Liveness, breaksProducerState, describeError, isPermanent, withTimeout } from './kafka-util.ts';

interface Publish {
  left: number;
  deadline: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Queued {
  msg: OutMessage;
  pub: Publish;
  bytes: number;
}

/** Records waiting to be produced, in bytes, before `send` waits (backpressure). */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** One produce request carries at most this much (several partitions). */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/**
 * Produces records with one idempotent, acks=all producer, one request at a time.
 *
 * Why one at a time: the client assigns idempotence sequence numbers when a request is built, so two
 * overlapping requests to one partition could share numbers and the broker would drop the second as a
 * "duplicate". Concurrent `send` calls are instead coalesced: each request takes, in queue order, as many
 * waiting records as fit (per partition a prefix of its records, so per-partition order holds).
 *
 * A failed request is retried as is, with the same producer (the broker deduplicates a retry of a write
 * that landed but whose answer was lost). When the sender gives up on records (deadline, permanent
 * error, or sequence trouble) it replaces the producer: a new producer id means new sequence numbers, so
 * a later record can never be mistaken for the abandoned one and silently dropped.
 */
export class KafkaSender {
  readonly #config: KafkaBusConfig;
  readonly #logger: Logger;
  readonly #live: Liveness;
  readonly #onProduced: (topic: string, partition: number, end: bigint) => void;
  #queue: Queued[] = [];
  #queuedBytes = 0;
  #producer: Producer | undefined;
  #running: Promise<void> | undefined;
  readonly #space = new Signal();
  #generation = 0;

  constructor(config: KafkaBusConfig, logger: Logger, live: Liveness, onProduced: (topic: string, partition: number, end: bigint) => void) {
    this.#config = config;
    this.#logger = logger;
    this.#live = live;
    this.#onProduced = onProduced;
  }

  /** Resolves when every record is acknowledged by all in-sync replicas; rejects TL_ERR_UNAVAILABLE at `deadline`. */
  async send(msgs: OutMessage[], deadline: number): Promise<void> {
    if (msgs.length === 0) return;
    while (this.#queuedBytes > MAX_QUEUED_BYTES) {
      const left = deadline - Date.now();
      if (left <= 0) throw unavailable(`${Math.round(this.#queuedBytes / 1e6)} MB are waiting to be produced (the broker is slow or down)`);
      await this.#space.wait(Math.min(left, 200));
    }
    return new Promise<void>((resolve, reject) => {
      const pub: Publish = { left: msgs.length, deadline, settled: false, resolve, reject };
      for (const msg of msgs) {
        const bytes = msg.value.byteLength + (msg.key?.byteLength ?? 0) + 64;
        this.#queue.push({ msg, pub, bytes });
        this.#queuedBytes += bytes;
      }
      this.#kick();
    });
  }

  /** Waits until everything queued is produced or given up. */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async close(): Promise<void> {
    await this.flush();
    const p = this.#producer;
    this.#producer = undefined;
    if (p) await closeQuietly(() => forceClose(p), 5_000);
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #loop(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#take();
      if (batch.length > 0) await this.#sendBatch(batch);
      this.#space.notify();
    }
  }

  /** Takes the next request's records off the queue: per partition a prefix, under the size limits. */
  #take(): Queued[] {
    const now = Date.now();
    const taken: Queued[] = [];
    const rest: Queued[] = [];
    const perPartition = new Map<string, number>();
    const closed = new Set<string>();
    let total = 0;
    for (const q of this.#queue) {
      if (!q.pub.settled && now >= q.pub.deadline) this.#settle(q.pub, unavailable(`no broker accepted the batch within ${this.#config.publishTimeoutMs} ms`));
      if (q.pub.settled) {
        this.#queuedBytes -= q.bytes;
        continue;
      }
      const k = `${q.msg.topic}\0${q.msg.partition}`;
      const cur = perPartition.get(k) ?? 0;
      if (closed.has(k) || (taken.length > 0 && total + q.bytes > MAX_REQUEST_BYTES) || (cur > 0 && cur + q.bytes > this.#config.maxMessageBytes)) {
        closed.add(k);
        rest.push(q);
        continue;
      }
      perPartition.set(k, cur + q.bytes);
      total += q.bytes;
      taken.push(q);
    }
    this.#queue = rest;
    return taken;
  }

  async #sendBatch(batch: Queued[]): Promise<void> {
    try {
      await this.#attempts(batch);
    } finally {
      for (const q of batch) this.#queuedBytes -= q.bytes;
    }
  }

  async #attempts(batch: Queued[]): Promise<void> {
    let left = batch;
    let attempt = 0;
    for (;;) {
      left = left.filter((q) => !q.pub.settled);
      if (left.length === 0) return;
      const producer = this.#getProducer();
      try {
        const res = await producer.send({
          messages: left.map((q) => ({ topic: q.msg.topic, partition: q.msg.partition, key: q.msg.key, value: q.msg.value, headers: messageHeaders() })),
        });
        this.#done(left, res);
        this.#live.up('producer');
        return;
      } catch (err) {
        // Partitions whose part of the request was written are done; only the others are retried.
        const produced = (err as { produced?: ProduceResult }).produced;
        if (produced?.offsets?.length) {
          const ok = new Set(produced.offsets.map((o) => `${o.topic}\0${o.partition}`));
          this.#done(left.filter((q) => ok.has(`${q.msg.topic}\0${q.msg.partition}`)), produced);
          left = left.filter((q) => !ok.has(`${q.msg.topic}\0${q.msg.partition}`));
        }
        if (isPermanent(err)) {
          this.#giveUp(left, new TicklineError('TL_ERR_UNAVAILABLE', `kafka bus: the broker refused the batch: ${describeError(err)}`, { cause: err }));
          return;
        }
        if (breaksProducerState(err)) this.#resetProducer();
        const delay = backoff(attempt + 1);
        attempt = this.#live.down('producer', err, `retrying ${left.length} record(s) in ${delay} ms`);
        const earliest = Math.min(...left.map((q) => q.pub.deadline));
        if (Date.now() + delay >= earliest) {
          await sleep(Math.max(0, earliest - Date.now()));
          this.#giveUp(left, unavailable(`no broker accepted the batch within ${this.#config.publishTimeoutMs} ms (${describeError(err)})`));
          return;
        }
        await sleep(delay);
      }
    }
  }

  #done(items: Queued[], res: ProduceResult): void {
    const counts = new Map<string, number>();
    for (const q of items) {
      const k = `${q.msg.topic}\0${q.msg.partition}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
      q.pub.left--;
      if (q.pub.left === 0 && !q.pub.settled) {
        q.pub.settled = true;
        q.pub.resolve();
      }
    }
    for (const o of res.offsets ?? []) {
      const n = counts.get(`${o.topic}\0${o.partition}`);
      if (n !== undefined) this.#onProduced(o.topic, o.partition, o.offset + BigInt(n));
    }
  }

  #giveUp(items: Queued[], err: Error): void {
    for (const q of items) this.#settle(q.pub, err);
    // What was given up may still have been written: fresh sequence numbers from here on (see above).
    this.#resetProducer();
  }

  #settle(pub: Publish, err: Error): void {
    if (pub.settled) return;
    pub.settled = true;
    pub.reject(err);
  }

  #getProducer(): Producer {
    if (!this.#producer) {
      const c = this.#config;
      const p = new Producer({
        clientId: `${c.clientId}-producer`,
        bootstrapBrokers: c.brokers,
        idempotent: true,
        acks: ProduceAcks.ALL,
        // The client's own retries are short; the loop above retries with backoff up to the deadline.
        // (An idempotent producer with retries ≤ 1 would retry forever.)
        retries: 2,
        retryDelay: 100,
        timeout: c.requestTimeoutMs,
        requestTimeout: c.requestTimeoutMs,
        connectTimeout: c.connectTimeoutMs,
        metadataMaxAge: 30_000,
      });
      const gen = ++this.#generation;
      p.on('error', (err: unknown) => this.#logger.debug({ err: describeError(err), gen }, 'kafka bus: producer client error'));
      this.#producer = p;
    }
    return this.#producer;
  }

  #resetProducer(): void {
    const p = this.#producer;
    this.#producer = undefined;
    if (p) void closeQuietly(() => forceClose(p), 5_000);
  }
}

function unavailable(why: string): TicklineError {
  return new TicklineError('TL_ERR_UNAVAILABLE', `kafka bus: publish failed: ${why}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `close(true)` of a producer or consumer (the client's overloads hide the promise-returning one). */
export function forceClose(client: { close(force?: boolean): Promise<void> }): Promise<void> {
  return client.close(true);
}

/** Runs a client's close, bounded in time, ignoring failures. */
export async function closeQuietly(close: () => Promise<void>, ms: number): Promise<void> {
  try {
    await withTimeout(close(), ms, () => new Error('close timed out'));
  } catch {
    // Closing a client of a dead broker can fail or hang; the sockets go away with it anyway.
  }
}
