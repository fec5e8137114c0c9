import { ConnectionPool, Consumer, type GroupAssignment } from '@platformatic/kafka';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { BatchHandler, Subscription } from '../../ports/bus.ts';
import type { KafkaBusConfig } from './kafka-config.ts';
import { fetchRound, groupLag } from './kafka-fetch.ts';
import { PartitionState, nextDelivery, subscribedRoundRobin, type DecodeContext, type Delivery } from './kafka-partition.ts';
import { closeQuietly, forceClose } from './kafka-producer.ts';
import { Signal, backoff, describeError, withTimeout, type Liveness } from './kafka-util.ts';

export interface SubscriptionOptions {
  config: KafkaBusConfig;
  logger: Logger;
  metrics: Metrics | undefined;
  live: Liveness;
  topic: string;
  group: string;
  handler: BatchHandler;
  maxInFlight: number;
  /** Most ticks in one delivery (consecutive records of a partition are coalesced up to it). */
  batchMax: number;
  /** Most ticks in unacknowledged deliveries at once (one delivery is always allowed). */
  capacity: number;
  /** Creates the topic when missing; throws while the broker is unreachable. */
  ensureTopic: (topic: string) => Promise<unknown>;
  onTicksPerRecord: (ticks: number, records: number) => void;
}

/**
 * One subscription: a member of a Kafka consumer group (classic protocol) with its own fetch loop.
 *
 * - Deliveries of a partition start in offset order; several may be in the handler at once (up to
 *   `maxInFlight` across partitions and `capacity` ticks). Offsets are committed only past the longest
 *   prefix of finished deliveries, so a later batch finishing first never commits past an earlier one.
 * - A rejected delivery is retried with backoff in its place; it is never skipped.
 * - When the group takes partitions away, their fetched records are dropped, retries stop, running
 *   handlers finish and what finished is committed; the new owner starts at the committed offset.
 * - A broken session (membership lost, coordinator unreachable for good) is replaced by a new member
 *   after a backoff; fetch errors are retried in place (the broker restarting is the common case).
 */
export class KafkaSubscription implements Subscription {
  readonly topic: string;
  readonly #o: SubscriptionOptions;
  readonly #part: string;
  readonly #decode: DecodeContext;
  #parts = new Map<number, PartitionState>();
  /** Partitions taken away whose running handlers or final commit are pending. */
  #retiring: PartitionState[] = [];
  #consumer: Consumer | undefined;
  #pool: ConnectionPool | undefined;
  #broken: unknown;
  #joined = false;
  #rejoin: Promise<void> | undefined;
  #heartbeatLost = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  readonly #wake = new Signal();
  readonly #running = new Set<Promise<void>>();
  #unacked = 0;
  #unackedTicks = 0;
  #committing: Promise<void> | undefined;
  #commitAgain = false;
  #commitRetryAt = 0;
  #lagTimer: NodeJS.Timeout | undefined;
  #joinWaiters: Array<() => void> = [];
  /** Records published and not committed by this group, as last measured; undefined when unknown. */
  lagRecords: number | undefined;

  constructor(o: SubscriptionOptions) {
    this.#o = o;
    this.topic = o.topic;
    this.#part = `consumer(${o.topic}/${o.group})`;
    this.#decode = { topic: o.topic, logger: o.logger, metrics: o.metrics };
  }

  /** Starts the member; resolves once it has its first assignment, or after `joinTimeoutMs` (it keeps trying). */
  async start(): Promise<void> {
    this.#loop = this.#run();
    const joined = new Promise<void>((r) => this.#joinWaiters.push(r));
    const timer = setTimeout(() => {
      this.#o.logger.warn({ topic: this.topic, group: this.#o.group }, `kafka bus: no group assignment after ${this.#o.config.joinTimeoutMs} ms; still trying in the background`);
      for (const w of this.#joinWaiters.splice(0)) w();
    }, this.#o.config.joinTimeoutMs);
    await joined;
    clearTimeout(timer);
    this.#lagTimer = setInterval(() => void this.#measureLag(), this.#o.config.lagIntervalMs);
    this.#lagTimer.unref();
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      clearInterval(this.#lagTimer);
      this.#wake.notify();
      for (const w of this.#joinWaiters.splice(0)) w();
      await this.#loop;
    })();
    return this.#stopped;
  }

  /** True when every partition of this member has been processed up to `ends` (partition → offset). */
  caughtUp(ends: ReadonlyMap<number, bigint>): boolean {
    if (this.#stopping) return true;
    if (!this.#joined) return false;
    for (const [p, end] of ends) {
      const part = this.#parts.get(p);
      if (part && (part.acked === undefined || part.acked < end)) return false;
    }
    return true;
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopping) {
      try {
        await this.#session();
      } catch (err) {
        if (this.#stopping) break;
        const delay = backoff(attempt + 1, 200, 10_000);
        attempt = this.#o.live.down(this.#part, err, `starting a new group member in ${delay} ms`);
        await this.#endSession(false);
        await this.#wake.wait(delay);
      }
    }
    await this.#endSession(true);
    this.#o.live.forget(this.#part);
  }

  async #session(): Promise<void> {
    const c = this.#o.config;
    await this.#o.ensureTopic(this.topic);
    const consumer = new Consumer({
      clientId: `${c.clientId}-consumer`,
      groupId: this.#o.group,
      bootstrapBrokers: c.brokers,
      autocommit: false,
      sessionTimeout: c.sessionTimeoutMs,
      heartbeatInterval: c.heartbeatMs,
      rebalanceTimeout: c.rebalanceTimeoutMs,
      partitionAssigner: subscribedRoundRobin,
      retries: 2,
      retryDelay: 200,
      timeout: c.requestTimeoutMs,
      requestTimeout: c.requestTimeoutMs,
      connectTimeout: c.connectTimeoutMs,
      maxWaitTime: c.fetchMaxWaitMs,
      minBytes: 1,
      maxBytes: 16 * 1024 * 1024,
      metadataMaxAge: 30_000,
    });
    this.#broken = undefined;
    // The client emits 'error' when it gives up rejoining the group: this member is finished.
    consumer.on('error', (err: unknown) => {
      this.#broken = err ?? new Error('consumer error');
      this.#wake.notify();
    });
    consumer.on('consumer:group:join', (p) => this.#assign(p.assignments ?? [], p.generationId ?? 0));
    // After a heartbeat fails for a reason other than a rebalance (say the broker restarts) the client
    // schedules no further heartbeats: the member must join again or the group drops it.
    consumer.on('consumer:heartbeat:error', () => {
      this.#heartbeatLost = true;
      this.#wake.notify();
    });
    this.#heartbeatLost = false;
    this.#consumer = consumer;
    // Fetches long-poll: on their own connections they cannot hold up heartbeats and commits.
    this.#pool = new ConnectionPool(`${c.clientId}-fetch`, { connectTimeout: c.connectTimeoutMs, requestTimeout: c.requestTimeoutMs + c.fetchMaxWaitMs });
    consumer.topics.track(this.topic);
    await consumer.joinGroup(this.#groupOptions());
    this.#joined = true;
    this.#o.live.up(this.#part);
    for (const w of this.#joinWaiters.splice(0)) w();
    await this.#fetchLoop(consumer);
  }

  #groupOptions(): { sessionTimeout: number; rebalanceTimeout: number; heartbeatInterval: number; partitionAssigner: typeof subscribedRoundRobin } {
    const c = this.#o.config;
    return { sessionTimeout: c.sessionTimeoutMs, rebalanceTimeout: c.rebalanceTimeoutMs, heartbeatInterval: c.heartbeatMs, partitionAssigner: subscribedRoundRobin };
  }

  /** Joins the group again with the same member (its partitions come back at once if it still owns them). */
  async #rejoinGroup(consumer: Consumer): Promise<void> {
    for (let attempt = 1; !this.#stopping && this.#consumer === consumer; attempt++) {
      try {
        this.#heartbeatLost = false;
        await consumer.joinGroup(this.#groupOptions());
        return;
      } catch (err) {
        const delay = backoff(attempt, 200, 1_000);
        this.#o.live.down(this.#part, err, `joining the group again in ${delay} ms`);
        await this.#wake.wait(delay);
      }
    }
  }

  #assign(assignments: GroupAssignment[], generation: number): void {
    const mine = new Set(assignments.find((a) => a.topic === this.topic)?.partitions ?? []);
    for (const [p, part] of this.#parts) {
      if (mine.has(p)) continue;
      this.#parts.delete(p);
      this.#revoke(part);
    }
    for (const p of mine) if (!this.#parts.has(p)) this.#parts.set(p, new PartitionState(p));
    this.#o.logger.info({ topic: this.topic, group: this.#o.group, generation, partitions: [...mine].sort((a, b) => a - b) }, 'kafka bus: partitions assigned');
    this.#scheduleCommit();
    this.#wake.notify();
  }

  #revoke(part: PartitionState): void {
    takeAway(part);
    this.#retiring.push(part);
    this.#retire();
  }

  /** Forgets taken-away partitions once nothing of theirs runs or waits to be committed. */
  #retire(): void {
    this.#retiring = this.#retiring.filter((part) => {
      if (part.runningCount() > 0 || part.needsCommit()) return true;
      for (const d of part.inflight.splice(0)) {
        this.#unacked--;
        this.#unackedTicks -= d.ticks.length;
      }
      return false;
    });
    this.#pump(); // their slots are free again
  }

  async #fetchLoop(consumer: Consumer): Promise<void> {
    const c = this.#o.config;
    let failures = 0;
    let inactiveSince: number | undefined;
    while (!this.#stopping) {
      if (this.#broken) throw this.#broken;
      if (this.#heartbeatLost && !this.#rejoin) this.#rejoin = this.#rejoinGroup(consumer).finally(() => (this.#rejoin = undefined));
      // Out of the group while the broker answers fetches: a join that should have finished long ago.
      if (!consumer.isActive() && failures === 0) {
        inactiveSince ??= Date.now();
        if (Date.now() - inactiveSince > c.sessionTimeoutMs + c.rebalanceTimeoutMs) throw new Error('the consumer lost its group membership');
      } else inactiveSince = undefined;
      if (this.#commitRetryAt > 0 && Date.now() >= this.#commitRetryAt) this.#scheduleCommit();
      try {
        const fetched = await fetchRound({ topic: this.topic, logger: this.#o.logger, consumer, pool: this.#pool!, parts: () => this.#parts });
        this.#pump();
        if (failures > 0) this.#o.live.up(this.#part);
        failures = 0;
        if (!fetched) await this.#wake.wait(100);
      } catch (err) {
        if (this.#stopping) return;
        if (this.#broken) throw this.#broken;
        this.#pump(); // records of partitions that did answer
        const delay = backoff(++failures, 100, 5_000);
        this.#o.live.down(this.#part, err, `fetching again in ${delay} ms`);
        consumer.clearMetadata();
        await this.#wake.wait(delay);
      }
    }
  }

  /** Starts handlers for fetched records, partitions in turn, within `maxInFlight` and `capacity`. */
  #pump(): void {
    if (this.#stopping) return;
    const parts = [...this.#parts.values()];
    let progress = true;
    while (progress) {
      progress = false;
      for (const part of parts) {
        if (this.#unacked >= this.#o.maxInFlight || (this.#unacked > 0 && this.#unackedTicks >= this.#o.capacity)) return;
        const d = nextDelivery(part, this.#o.batchMax, this.#decode);
        if (!d) continue;
        progress = true;
        this.#o.onTicksPerRecord(d.ticks.length, d.records);
        part.inflight.push(d);
        this.#unacked++;
        this.#unackedTicks += d.ticks.length;
        if (d.ticks.length === 0) {
          d.done = true;
          this.#ack(part, false);
        } else this.#start(part, d);
      }
    }
    this.#wake.notify();
  }

  #start(part: PartitionState, d: Delivery): void {
    d.running = true;
    const run = (async () => {
      try {
        await this.#o.handler(d.ticks);
        d.done = true;
      } catch (err) {
        d.attempt++;
        this.#o.logger.error({ err, topic: this.topic, partition: part.partition, attempt: d.attempt, ticks: d.ticks.length }, 'batch handler failed; retrying');
      } finally {
        d.running = false;
      }
      if (d.done) {
        this.#ack(part);
      } else if (!this.#stopping && !part.revoked) {
        d.timer = setTimeout(() => {
          d.timer = undefined;
          if (!this.#stopping && !part.revoked) this.#start(part, d);
        }, backoff(d.attempt, this.#o.config.retryMs, 5_000));
        d.timer.unref();
      } else this.#retire();
    })();
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  #ack(part: PartitionState, pump = true): void {
    let moved = false;
    while (part.inflight.length > 0 && part.inflight[0]!.done) {
      const d = part.inflight.shift()!;
      part.acked = d.end;
      this.#unacked--;
      this.#unackedTicks -= d.ticks.length;
      moved = true;
    }
    if (moved) this.#scheduleCommit();
    if (part.revoked) this.#retire();
    if (pump) this.#pump();
  }

  #scheduleCommit(): void {
    if (this.#committing) {
      this.#commitAgain = true;
      return;
    }
    this.#committing = this.#commitLoop().finally(() => {
      this.#committing = undefined;
    });
  }

  async #commitLoop(): Promise<void> {
    do {
      this.#commitAgain = false;
      const consumer = this.#consumer;
      const parts = [...this.#parts.values(), ...this.#retiring].filter((p) => p.needsCommit());
      if (!consumer || parts.length === 0) return;
      const offsets = parts.map((p) => ({ topic: this.topic, partition: p.partition, offset: p.acked!, leaderEpoch: -1 }));
      try {
        await consumer.commit({ offsets });
        for (let i = 0; i < parts.length; i++) {
          const p = parts[i]!;
          const o = offsets[i]!.offset;
          if (p.committed === undefined || o > p.committed) p.committed = o;
        }
        this.#commitRetryAt = 0;
        this.#retire();
      } catch (err) {
        // Finished work stays uncommitted (it would be delivered again, never lost); retried shortly.
        this.#o.logger.warn({ topic: this.topic, group: this.#o.group, err: describeError(err) }, 'kafka bus: offset commit failed; will retry');
        this.#commitRetryAt = Date.now() + 1_000;
        return;
      }
    } while (this.#commitAgain);
  }

  /** Ends a member: stops retries, waits for running handlers, commits what finished, leaves the group. */
  async #endSession(final: boolean): Promise<void> {
    const consumer = this.#consumer;
    // Everything of this member is taken away at once: no more fetching, pumping or retries for it.
    const all = [...this.#parts.values(), ...this.#retiring];
    this.#parts = new Map();
    for (const part of all) takeAway(part);
    this.#retiring = all;
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    if (consumer) {
      const finalCommit = (async () => {
        while (this.#committing) await this.#committing;
        this.#scheduleCommit();
        await this.#committing;
      })();
      await withTimeout(finalCommit, 5_000, () => new Error('commit timed out')).catch(() => undefined);
      this.#consumer = undefined;
      // Leaving the group lets a peer take the partitions over at once instead of after the session timeout.
      await closeQuietly(() => forceClose(consumer), final ? 5_000 : 1_000);
    }
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await closeQuietly(() => pool.close(), 2_000);
    this.#retiring = [];
    this.#unacked = 0;
    this.#unackedTicks = 0;
    this.#joined = false;
  }

  async #measureLag(): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer || !this.#joined || this.#stopping) return;
    try {
      this.lagRecords = await groupLag(consumer, this.topic);
    } catch {
      // Lag is advisory: keep the last value; a down broker shows in health().
    }
  }
}

/** A partition leaves this member: no more fetching, pumping or retries; running handlers may finish. */
function takeAway(part: PartitionState): void {
  part.revoked = true;
  part.raw.length = 0;
  part.rawBytes = 0;
  for (const d of part.inflight) {
    if (d.timer) clearTimeout(d.timer);
    d.timer = undefined;
  }
}
