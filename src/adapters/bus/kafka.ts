import { Admin } from '@platformatic/kafka';
import { TicklineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Tick } from '../../core/tick.ts';
import type { BatchHandler, Bus, SubscribeOptions, Subscription } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';
import type { AdapterContext } from '../registry.ts';
import { checkTopicName, parseKafkaUrl, type KafkaBusConfig } from './kafka-config.ts';
import { KafkaSubscription } from './kafka-consumer.ts';
import { PartitionMap, buildMessages } from './kafka-messages.ts';
import { KafkaSender, closeQuietly } from './kafka-producer.ts';
import { Liveness, backoff, describeError, isPermanent, kafkaErrorIds, withTimeout } from './kafka-util.ts';

/** `kafka://host:port[,host2:port]?…` (parameters in kafka-config.ts, guarantees in docs/buses.md). */
export async function createKafkaBus(url: URL, ctx: AdapterContext): Promise<Bus> {
  const bus = new KafkaBus(parseKafkaUrl(url), ctx);
  // Not reachable yet is not fatal: the adapter keeps trying and health() says why it is not ready.
  const h = await bus.health();
  if (!h.ok) ctx.logger.warn({ bus: bus.display, detail: h.detail }, 'kafka bus: broker not reachable yet; will keep trying');
  return bus;
}

/**
 * The Kafka bus. Publishing: ticks are grouped by the partition of their symbol (Kafka's murmur2 rule,
 * see partition.ts), each group encoded with the bus codec into records below `maxMessageBytes`, and
 * produced by one idempotent acks=all producer; `publish` resolves when every record is acknowledged.
 * Consuming: one group member per subscription (kafka-consumer.ts), committing only what its handler
 * finished, in order per partition.
 */
export class KafkaBus implements Bus {
  readonly kind = 'kafka';
  readonly display: string;
  readonly #config: KafkaBusConfig;
  readonly #ctx: AdapterContext;
  readonly #logger: Logger;
  readonly #live: Liveness;
  readonly #admin: Admin;
  readonly #sender: KafkaSender;
  readonly #topics = new Map<string, Promise<PartitionMap>>();
  readonly #subs = new Set<KafkaSubscription>();
  /** Per topic and partition, the offset after the last record this bus produced (for close()). */
  readonly #produced = new Map<string, Map<number, bigint>>();
  #ticksPerRecord = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(config: KafkaBusConfig, ctx: AdapterContext) {
    this.#config = config;
    this.display = config.display;
    this.#ctx = ctx;
    this.#logger = ctx.logger;
    this.#live = new Liveness(ctx.logger, ctx.metrics);
    this.#admin = new Admin({
      clientId: `${config.clientId}-admin`,
      bootstrapBrokers: config.brokers,
      retries: 1,
      retryDelay: 100,
      timeout: config.requestTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectTimeout: config.connectTimeoutMs,
    });
    this.#admin.on('error', (err: unknown) => this.#logger.debug({ err: describeError(err) }, 'kafka bus: admin client error'));
    this.#sender = new KafkaSender(config, ctx.logger, this.#live, (topic, partition, end) => {
      let m = this.#produced.get(topic);
      if (!m) this.#produced.set(topic, (m = new Map()));
      if ((m.get(partition) ?? -1n) < end) m.set(partition, end);
    });
  }

  async publish(topic: string, ticks: readonly Tick[]): Promise<void> {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', `kafka bus ${this.display} is closed; cannot publish`);
    if (ticks.length === 0) return;
    checkTopicName(topic);
    const deadline = Date.now() + this.#config.publishTimeoutMs;
    const partitions = await this.#topic(topic, deadline);
    const msgs = buildMessages(topic, ticks, partitions, this.#config.maxMessageBytes);
    this.#observe(ticks.length, msgs.length);
    await this.#sender.send(msgs, deadline);
  }

  async subscribe(topic: string, handler: BatchHandler, options: SubscribeOptions): Promise<Subscription> {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', `kafka bus ${this.display} is closed; cannot subscribe`);
    checkTopicName(topic);
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(options.group)) {
      throw new TicklineError('TL_ERR_CONFIG', `kafka bus: consumer group ${JSON.stringify(options.group)} must be 1-249 of A-Z a-z 0-9 . _ -`);
    }
    const sub = new KafkaSubscription({
      config: this.#config,
      logger: this.#logger,
      metrics: this.#ctx.metrics,
      live: this.#live,
      topic,
      group: this.#config.groupPrefix + options.group,
      handler,
      maxInFlight: Math.max(1, options.maxInFlight ?? 4),
      batchMax: Math.max(1, this.#ctx.batchMax ?? 8192),
      capacity: Math.max(1, this.#ctx.busCapacity ?? 65_536),
      ensureTopic: (t) => this.#topic(t, Date.now() + this.#config.requestTimeoutMs),
      onTicksPerRecord: (t, r) => this.#observe(t, r),
    });
    this.#subs.add(sub);
    await sub.start();
    const stop = sub.stop.bind(sub);
    return {
      stop: async () => {
        await stop();
        this.#subs.delete(sub);
      },
    };
  }

  /** Records behind the group's committed offsets (measured every `lagIntervalMs`) × ticks per record. */
  lag(topic: string): number {
    let records = 0;
    for (const s of this.#subs) if (s.topic === topic && s.lagRecords !== undefined) records = Math.max(records, s.lagRecords);
    return Math.round(records * (this.#ticksPerRecord || 1));
  }

  async health(): Promise<Health> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    const ms = Math.min(this.#config.requestTimeoutMs, 5_000);
    let brokers: number;
    try {
      const md = await withTimeout(this.#admin.metadata({ topics: [], forceUpdate: true }), ms, () => new Error(`no answer within ${ms} ms`));
      brokers = md.brokers.size;
    } catch (err) {
      return { ok: false, detail: `kafka ${this.display} unreachable: ${describeError(err)}` };
    }
    const problem = this.#live.problem();
    if (problem) return { ok: false, detail: problem };
    return { ok: true, detail: `connected to ${brokers} broker(s)` };
  }

  /**
   * Waits for accepted publishes, gives local subscriptions up to `closeDrainMs` to process what this bus
   * published, stops them (committing and leaving their groups), then releases the clients.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#sender.flush();
      const deadline = Date.now() + this.#config.closeDrainMs;
      for (const sub of this.#subs) {
        const ends = this.#produced.get(sub.topic) ?? new Map<number, bigint>();
        while (!sub.caughtUp(ends) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        if (!sub.caughtUp(ends)) this.#logger.warn({ topic: sub.topic }, `kafka bus: consumer still behind after ${this.#config.closeDrainMs} ms; closing anyway (the rest is delivered later)`);
      }
      await Promise.all([...this.#subs].map((s) => s.stop()));
      this.#subs.clear();
      await this.#sender.close();
      await closeQuietly(() => this.#admin.close(), 5_000);
    })();
    return this.#closing;
  }

  #observe(ticks: number, records: number): void {
    if (records <= 0) return;
    const x = ticks / records;
    this.#ticksPerRecord = this.#ticksPerRecord === 0 ? x : this.#ticksPerRecord * 0.9 + x * 0.1;
  }

  /** The topic's partition map; creates the topic when missing. Retries until `deadline` while the broker is down. */
  #topic(topic: string, deadline: number): Promise<PartitionMap> {
    let p = this.#topics.get(topic);
    if (!p) {
      p = this.#ensureTopic(topic, deadline);
      this.#topics.set(topic, p);
      p.catch(() => this.#topics.delete(topic));
    }
    return p;
  }

  async #ensureTopic(topic: string, deadline: number): Promise<PartitionMap> {
    for (let attempt = 1; ; attempt++) {
      try {
        const pm = await this.#ensureTopicOnce(topic);
        this.#live.up('admin');
        return pm;
      } catch (err) {
        if (isPermanent(err)) {
          throw new TicklineError('TL_ERR_UNAVAILABLE', `kafka bus: cannot use topic ${topic}: ${describeError(err)}`, { cause: err });
        }
        const delay = backoff(attempt);
        if (Date.now() + delay >= deadline) {
          throw new TicklineError('TL_ERR_UNAVAILABLE', `kafka bus: topic ${topic} is not usable on ${this.display}: ${describeError(err)}`, { cause: err });
        }
        this.#live.down('admin', err, `retrying topic ${topic} in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async #ensureTopicOnce(topic: string): Promise<PartitionMap> {
    const ready = async (forceUpdate: boolean): Promise<PartitionMap | undefined> => {
      try {
        const t = (await this.#admin.metadata({ topics: [topic], forceUpdate })).topics.get(topic);
        if (t && t.partitionsCount > 0 && t.partitions.every((p) => p && p.leader >= 0)) return new PartitionMap(t.partitionsCount);
        return undefined;
      } catch (err) {
        if (isUnknownTopic(err)) return undefined;
        throw err;
      }
    };
    const existing = await ready(true);
    if (existing) {
      if (existing.n !== this.#config.partitions) {
        this.#logger.warn({ topic, partitions: existing.n, configured: this.#config.partitions }, 'kafka bus: the topic exists with another partition count; using the topic\'s');
      }
      return existing;
    }
    try {
      await this.#admin.createTopics({
        topics: [topic],
        partitions: this.#config.partitions,
        replicas: this.#config.replication,
        configs: [{ name: 'retention.ms', value: String(this.#config.retentionMs) }],
      });
      this.#logger.info({ topic, partitions: this.#config.partitions, retentionMs: this.#config.retentionMs }, 'kafka bus: created topic');
    } catch (err) {
      if (!kafkaErrorIds(err).has('TOPIC_ALREADY_EXISTS')) throw err;
    }
    // A new topic needs a moment before every partition has a leader.
    for (let i = 0; i < 50; i++) {
      const pm = await ready(true);
      if (pm) return pm;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`topic ${topic} has partitions without a leader`);
  }
}

function isUnknownTopic(err: unknown): boolean {
  if (kafkaErrorIds(err).has('UNKNOWN_TOPIC_OR_PARTITION')) return true;
  return err instanceof Error && /^Unknown topic /.test(err.message);
}
