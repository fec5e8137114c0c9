import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, ReplayPolicy } from '@nats-io/jetstream';
import type { Consumer, ConsumerConfig, ConsumerInfo, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import { decodeTicks } from './codec.ts';
import type { Delivery, DeliverySource, Dispatcher, Entry } from './nats-dispatch.ts';

/** What every partition worker of a subscription shares. */
export interface PartitionContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  topic: string;
  group: string;
  /** Consumer name prefix for this (topic, group); the partition number is appended. */
  durablePrefix: string;
  maxAckPending: number;
  ackWaitMs: number;
  dispatcher: Dispatcher;
  logger: Logger;
  metrics?: Metrics;
  /** Running average of ticks per message, for lag in ticks. */
  observeMessage(ticks: number): void;
}

/** Long-poll length of one pull request; stopping does not wait for it (see `stop`). */
const FETCH_EXPIRES_MS = 5_000;

/** True when the server confirmed everything sent so far within `ms`. */
export async function flushWithin(nc: NatsConnection, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      nc.flush().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/**
 * Consumes one partition (`<topic>.<n>`) for one group through the durable pull consumer
 * `<prefix>_<n>`, while this member holds the partition's lease.
 *
 * Messages are acknowledged strictly in stream order, only after their handler resolved. A worker
 * that (re)starts, or whose connection dropped, first *resyncs*: once nothing is in its hands, any
 * message the server still counts as delivered-but-unacknowledged (a previous holder's, or one lost in
 * flight) means the consumer is recreated from its acknowledgement floor, so those messages come
 * again in order instead of after newer ones when their ack wait runs out.
 */
export class PartitionWorker implements DeliverySource {
  readonly partition: number;
  readonly durable: string;
  readonly subject: string;
  /** The lease revision this member holds (managed by the subscription). */
  rev = 0;
  renewedAt = 0;
  /** Messages the server has not delivered yet (from the last delivery or consumer info). */
  pendingMsgs = 0;
  inReady = false;
  running = 0;
  readonly entries: Entry[] = [];
  readonly #ctx: PartitionContext;
  #stopping = false;
  #needsResync = true;
  #consumer: Consumer | undefined;
  #iter: ConsumerMessages | undefined;
  #loop: Promise<void> = Promise.resolve();
  #stopped: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #done = false;

  constructor(ctx: PartitionContext, partition: number) {
    this.#ctx = ctx;
    this.partition = partition;
    this.durable = `${ctx.durablePrefix}_${partition}`;
    this.subject = `${ctx.topic}.${partition}`;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** `stop()` finished: nothing in hand, nothing running, acks and NAKs sent. */
  get isStopped(): boolean {
    return this.#done;
  }

  start(): void {
    this.#ctx.dispatcher.add(this);
    // Messages in our hands must not reach their ack wait while a slow or failing handler holds them.
    this.#keepAlive = setInterval(() => {
      for (const e of this.entries) e.msg.working();
    }, Math.max(500, Math.floor(this.#ctx.ackWaitMs / 3)));
    this.#keepAlive.unref();
    this.#loop = this.#run();
  }

  /** After a reconnect: what was in flight on the old connection may be lost; resync before fetching on. */
  reconnected(): void {
    this.#needsResync = true;
    this.#iter?.stop();
    this.#changed();
  }

  poke(): void {
    this.#changed();
  }

  hasQueued(): boolean {
    return !this.#stopping && this.entries.some((e) => e.state === 'queued');
  }

  takeDelivery(batchMax: number): Delivery | null {
    if (this.#stopping) return null;
    const first = this.entries.findIndex((e) => e.state === 'queued');
    if (first < 0) return null;
    const taken: Entry[] = [];
    let size = 0;
    for (let i = first; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.state !== 'queued' || (taken.length > 0 && size + e.ticks.length > batchMax)) break;
      taken.push(e);
      size += e.ticks.length;
    }
    const ticks = taken.length === 1 ? taken[0]!.ticks : taken.flatMap((e) => e.ticks);
    return { owner: this, entries: taken, ticks, attempt: 0 };
  }

  settled(): void {
    this.#ackPrefix();
    this.#changed();
  }

  /**
   * Stops fetching at once (the open pull request is abandoned; anything the server sends to it after
   * that is recovered by the next holder's resync), waits for running handlers, acknowledges the done
   * prefix and hands the rest back with a NAK so the next holder gets it immediately, in order.
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      this.#iter?.stop();
      this.#changed();
      await this.#loop;
      this.#ctx.dispatcher.cancel(this);
      while (this.running > 0) await this.#waitChange();
      this.#ackPrefix();
      const rest = this.entries.splice(0);
      let ticks = 0;
      for (const e of rest) {
        ticks += e.ticks.length;
        e.msg.nak();
      }
      this.#ctx.dispatcher.release(ticks);
      this.#ctx.dispatcher.remove(this);
      clearInterval(this.#keepAlive);
      // Bounded: while disconnected a flush would wait for the reconnect. Acks that never arrive only
      // mean the next holder's resync delivers those messages again.
      await flushWithin(this.#ctx.nc, 2_000);
      this.#done = true;
    })();
    return this.#stopped;
  }

  /** Consumer info (for lag and drain checks); undefined while the consumer is being set up. */
  async info(): Promise<ConsumerInfo | undefined> {
    if (!this.#consumer || this.#needsResync) return undefined;
    const ci = await this.#ctx.jsm.consumers.info(this.#ctx.stream, this.durable);
    this.pendingMsgs = ci.num_pending;
    return ci;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        if (this.#needsResync) {
          if (this.entries.length > 0) {
            await this.#waitChange();
            continue;
          }
          await this.#resync();
          this.#needsResync = false;
        }
        const room = this.#ctx.maxAckPending - this.entries.length;
        if (room <= 0 || this.#ctx.dispatcher.full) {
          await this.#waitChange();
          continue;
        }
        const iter = await this.#consumer!.fetch({ max_messages: room, expires: FETCH_EXPIRES_MS });
        this.#iter = iter;
        if (this.#stopping || this.#needsResync) iter.stop();
        for await (const m of iter) this.#onMessage(m);
        this.#iter = undefined;
        failures = 0;
      } catch (err) {
        this.#iter = undefined;
        if (this.#stopping) break;
        failures++;
        this.#needsResync = true;
        const log = failures === 1 || failures % 20 === 0 ? 'warn' : 'debug';
        this.#ctx.logger[log]({ err, topic: this.#ctx.topic, partition: this.partition, failures }, 'nats bus: fetch failed; retrying');
        await Promise.race([new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures, 5_000))), this.#waitChange()]);
      }
    }
  }

  #onMessage(m: JsMsg): void {
    this.pendingMsgs = m.info.pending;
    let ticks: ReturnType<typeof decodeTicks>;
    try {
      ticks = decodeTicks(m.data);
    } catch (err) {
      // A message nobody can read must not stall its partition: log where it is, count it, drop it.
      this.#ctx.logger.error(
        { err, topic: this.#ctx.topic, stream: this.#ctx.stream, partition: this.partition, streamSeq: m.seq, bytes: m.data.length },
        'nats bus: undecodable message terminated',
      );
      this.#ctx.metrics?.busBadMessages.inc({ topic: this.#ctx.topic });
      // No reason text: servers before 2.10 only know a bare +TERM and would ignore "+TERM <reason>".
      m.term();
      return;
    }
    if (m.redelivered) {
      // The server gave up waiting for an ack we still owe: keep our place, answer on the newest delivery.
      const held = this.entries.find((e) => e.msg.seq === m.seq);
      if (held) {
        held.msg = m;
        return;
      }
    }
    if (ticks.length === 0) {
      m.ack();
      return;
    }
    this.#ctx.observeMessage(ticks.length);
    this.entries.push({ msg: m, ticks, state: 'queued' });
    this.#ctx.dispatcher.hold(ticks.length);
    this.#ctx.dispatcher.offer(this);
  }

  #ackPrefix(): void {
    let freed = 0;
    while (this.entries.length > 0 && this.entries[0]!.state === 'done') {
      const e = this.entries.shift()!;
      e.msg.ack();
      freed += e.ticks.length;
    }
    if (freed > 0) this.#ctx.dispatcher.release(freed);
  }

  async #resync(): Promise<void> {
    const { jsm, js, stream } = this.#ctx;
    // Our own acks must have reached the server before we judge what it still counts as unacknowledged.
    if (!(await flushWithin(this.#ctx.nc, 5_000))) throw new Error('connection not flushed within 5 s');
    let ci: ConsumerInfo | undefined;
    try {
      ci = await jsm.consumers.info(stream, this.durable);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    if (!ci) {
      ci = await this.#create(DeliverPolicy.All);
    } else if (ci.num_ack_pending > 0) {
      const from = ci.ack_floor.stream_seq + 1;
      this.#ctx.logger.info(
        { topic: this.#ctx.topic, group: this.#ctx.group, partition: this.partition, fromSeq: from, unacked: ci.num_ack_pending },
        'nats bus: rewinding partition consumer to its ack floor so unacknowledged messages come again in order',
      );
      try {
        await jsm.consumers.delete(stream, this.durable);
      } catch (err) {
        if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
      }
      ci = await this.#create(DeliverPolicy.StartSequence, from);
    } else if (ci.config.max_ack_pending !== this.#ctx.maxAckPending || ci.config.ack_wait !== nanos(this.#ctx.ackWaitMs)) {
      ci = await jsm.consumers.update(stream, this.durable, { max_ack_pending: this.#ctx.maxAckPending, ack_wait: nanos(this.#ctx.ackWaitMs) });
    }
    this.pendingMsgs = ci.num_pending;
    this.#consumer = js.consumers.getConsumerFromInfo(ci);
  }

  async #create(deliver: typeof DeliverPolicy.All | typeof DeliverPolicy.StartSequence, from?: number): Promise<ConsumerInfo> {
    const cfg: Partial<ConsumerConfig> = {
      durable_name: this.durable,
      description: `tickline group ${this.#ctx.group}, partition ${this.partition} of ${this.#ctx.topic}`,
      filter_subject: this.subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: deliver,
      ...(from !== undefined ? { opt_start_seq: from } : {}),
      ack_wait: nanos(this.#ctx.ackWaitMs),
      max_ack_pending: this.#ctx.maxAckPending,
      max_deliver: -1,
      replay_policy: ReplayPolicy.Instant,
    };
    return this.#ctx.jsm.consumers.add(this.#ctx.stream, cfg);
  }

  #waitChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      const prev = this.#wake;
      this.#wake = () => {
        prev?.();
        resolve();
      };
    });
  }

  #changed(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}
