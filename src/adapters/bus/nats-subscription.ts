import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/transport-node';
import type { NatsConnection, Subscription as NatsSub } from '@nats-io/transport-node';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { BatchHandler } from '../../ports/bus.ts';
import { nameToken } from './nats-config.ts';
import { Dispatcher } from './nats-dispatch.ts';
import type { LeaseBucket, LeaseState } from './nats-leases.ts';
import { PartitionWorker } from './nats-partition.ts';

export interface GroupMemberOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  leases: LeaseBucket;
  stream: string;
  partitions: number;
  topic: string;
  group: string;
  handler: BatchHandler;
  maxInFlight: number;
  batchMax: number;
  /** Ticks fetched and not yet acknowledged, across partitions, before fetching pauses. */
  capacity: number;
  maxAckPending: number;
  ackWaitMs: number;
  logger: Logger;
  metrics?: Metrics;
}

/** How often a member looks at the group when nothing happens (joins and releases wake it at once). */
const TICK_MS = 1_000;
/** A partition free this many looks in a row is taken even above the fair share: nobody may starve it. */
const STARVED_TICKS = 3;
const LAG_REFRESH_MS = 5_000;

/**
 * One member of a consumer group on one topic. Members share the topic's partitions through leases
 * (see LeaseBucket): each holds about `partitions / members` of them, computed from the live member
 * list, and runs a PartitionWorker for each. A member that holds more than its share gives the surplus
 * back (after finishing what it has in hand) and the others claim it; one that dies stops renewing and
 * its leases expire after the bucket's TTL.
 *
 * All lease writes happen in `#tick`, one tick at a time, so renewals and releases never race.
 */
export class GroupMember {
  readonly id = nuid.next();
  readonly topic: string;
  readonly prefix: string;
  readonly #o: GroupMemberOptions;
  readonly #dispatcher: Dispatcher;
  readonly #workers = new Map<number, PartitionWorker>();
  /** Partitions whose lease we lost while a worker still finishes its in-hand batches. */
  readonly #draining = new Map<number, PartitionWorker>();
  readonly #releasing = new Set<number>();
  readonly #freeFor = new Map<number, number>();
  #watch: NatsSub | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticking: Promise<void> | undefined;
  #again = false;
  #halted = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #lastHeartbeat = 0;
  #lastLag = 0;
  #avgTicks = 0;
  #tickFailures = 0;

  constructor(o: GroupMemberOptions) {
    this.#o = o;
    this.topic = o.topic;
    this.prefix = `${nameToken(o.topic)}.${nameToken(o.group)}`;
    this.#dispatcher = new Dispatcher({
      handler: o.handler,
      maxInFlight: o.maxInFlight,
      batchMax: o.batchMax,
      capacity: o.capacity,
      logger: o.logger.child({ topic: o.topic, group: o.group }),
    });
  }

  /** Registers, claims a fair share of the free partitions, and keeps doing so in the background. */
  async start(): Promise<void> {
    await this.#o.leases.heartbeat(this.prefix, this.id, 'join');
    this.#lastHeartbeat = Date.now();
    this.#watch = this.#o.leases.watch(this.prefix, this.id, (event) => {
      if (event === 'join' || event === 'release') this.#trigger();
    });
    await this.#runTick();
  }

  /** Ticks published to this member's partitions and not yet acknowledged (an estimate: see docs/buses.md). */
  lag(): number {
    let msgs = 0;
    let held = 0;
    for (const w of this.#workers.values()) {
      msgs += w.pendingMsgs;
      for (const e of w.entries) held += e.ticks.length;
    }
    return Math.round(msgs * this.#avgTicks) + held;
  }

  /** The connection came back: partitions resync before they fetch again, leases are checked now. */
  reconnected(): void {
    for (const w of this.#workers.values()) w.reconnected();
    this.#trigger();
  }

  /**
   * Waits until every partition this member holds has nothing pending on the server and nothing in hand,
   * or until the deadline. Used by `close()`, which promises to deliver what was accepted.
   */
  async drain(deadline: number, connected: () => boolean): Promise<boolean> {
    // Nothing can be consumed during an outage: what is left stays in the stream for the next consumer.
    while (Date.now() < deadline && connected()) {
      let busy = false;
      for (const w of this.#workers.values()) {
        if (w.entries.length > 0) {
          busy = true;
          break;
        }
        const ci = await w.info().catch(() => undefined);
        if (!ci || ci.num_pending > 0 || ci.num_ack_pending > 0) {
          busy = true;
          break;
        }
      }
      if (!busy) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      const { leases } = this.#o;
      // A tick under way may still be claiming; its workers must be in the set we stop below.
      await this.#ticking;
      // Leave first, so the members who claim our released partitions count us out already.
      await leases.leave(this.prefix, this.id).catch((err: unknown) => this.#o.logger.warn({ err }, 'nats bus: could not remove member key'));
      // The tick loop keeps renewing our leases while the workers finish.
      await Promise.all([...this.#workers.values(), ...this.#draining.values()].map((w) => w.stop()));
      this.#halted = true;
      clearTimeout(this.#timer);
      await this.#ticking;
      await Promise.all(
        [...this.#workers].map(([p, w]) =>
          leases.release(this.prefix, p, w.rev, this.id).catch((err: unknown) => {
            this.#o.logger.warn({ err, partition: p }, 'nats bus: could not release lease; it expires by itself');
          }),
        ),
      );
      this.#workers.clear();
      this.#watch?.unsubscribe();
      this.#dispatcher.close();
    })();
    return this.#stopped;
  }

  #trigger(): void {
    if (this.#halted) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#runTick(), 5);
  }

  #runTick(): Promise<void> {
    if (this.#ticking) {
      this.#again = true;
      return this.#ticking;
    }
    clearTimeout(this.#timer);
    this.#ticking = this.#tick()
      .then(
        () => {
          this.#tickFailures = 0;
        },
        (err: unknown) => {
          // Once per outage (and then now and then), not every second.
          const level = this.#tickFailures++ % 30 === 0 ? 'warn' : 'debug';
          this.#o.logger[level]({ err, topic: this.topic, group: this.#o.group, failures: this.#tickFailures }, 'nats bus: group bookkeeping failed; retrying');
        },
      )
      .finally(() => {
        this.#ticking = undefined;
        if (this.#halted) return;
        if (this.#again) {
          this.#again = false;
          this.#trigger();
        } else {
          this.#timer = setTimeout(() => void this.#runTick(), TICK_MS);
          this.#timer.unref();
        }
      });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    const { leases, partitions: n } = this.#o;
    const renewEvery = leases.ttlMs / 4;
    const now = Date.now();
    if (!this.#stopping && now - this.#lastHeartbeat >= renewEvery) {
      await leases.heartbeat(this.prefix, this.id, 'heartbeat');
      this.#lastHeartbeat = now;
    }
    const [members, states] = await Promise.all([
      this.#stopping ? Promise.resolve([]) : leases.members(this.prefix),
      Promise.all(Array.from({ length: n }, (_, p) => leases.read(this.prefix, p))),
    ]);
    await this.#keepOwn(states, now, renewEvery);
    if (this.#stopping) return;
    await Promise.all(this.#rebalance(members, states).map((q) => this.#claim(q, states[q]!)));
    if (now - this.#lastLag >= LAG_REFRESH_MS) {
      this.#lastLag = now;
      await Promise.all([...this.#workers.values()].map((w) => w.info().catch(() => undefined)));
    }
  }

  /** Renews our leases, releases those whose worker finished, and notices the ones we lost. */
  async #keepOwn(states: LeaseState[], now: number, renewEvery: number): Promise<void> {
    const { leases } = this.#o;
    await Promise.all(
      [...this.#workers].map(async ([p, w]) => {
        const st = states[p]!;
        if (st.holder !== this.id || st.seq !== w.rev) return this.#lost(p, w, st);
        if (this.#releasing.has(p) && w.isStopped) {
          this.#workers.delete(p);
          this.#releasing.delete(p);
          states[p] = { seq: st.seq, holder: '(released)' };
          await leases.release(this.prefix, p, w.rev, this.id);
          return;
        }
        if (now - w.renewedAt < renewEvery) return;
        const rev = await leases.write(this.prefix, p, w.rev, this.id, 'renew');
        if (rev === null) return this.#lost(p, w, st);
        w.rev = rev;
        w.renewedAt = now;
      }),
    );
  }

  #lost(p: number, w: PartitionWorker, st: LeaseState): void {
    this.#o.logger.warn({ topic: this.topic, group: this.#o.group, partition: p, holder: st.holder }, 'nats bus: lost a partition lease; stopping it');
    this.#workers.delete(p);
    this.#releasing.delete(p);
    this.#draining.set(p, w);
    void w.stop().finally(() => {
      if (this.#draining.get(p) === w) this.#draining.delete(p);
      this.#trigger();
    });
  }

  /** Gives back any surplus and returns the partitions to claim. */
  #rebalance(members: string[], states: LeaseState[]): number[] {
    const n = this.#o.partitions;
    const live = [...new Set([...members, this.id])].sort();
    const m = live.length;
    const idx = live.indexOf(this.id);
    const target = Math.floor(n / m) + (idx < n % m ? 1 : 0);
    const active = [...this.#workers.keys()].filter((p) => !this.#releasing.has(p));
    if (active.length > target) {
      for (const p of active.sort((a, b) => b - a).slice(0, active.length - target)) {
        this.#releasing.add(p);
        void this.#workers.get(p)!.stop().finally(() => this.#trigger());
      }
    }
    const free: number[] = [];
    const start = Math.floor((idx * n) / m);
    for (let k = 0; k < n; k++) {
      const p = (start + k) % n;
      if (states[p]!.holder === null && !this.#workers.has(p) && !this.#draining.has(p)) free.push(p);
    }
    const freeNow = new Set(free);
    for (const p of this.#freeFor.keys()) if (!freeNow.has(p)) this.#freeFor.delete(p);
    const claims = free.slice(0, Math.max(0, target - active.length));
    for (const p of free) {
      const looks = (this.#freeFor.get(p) ?? 0) + 1;
      this.#freeFor.set(p, looks);
      if (looks >= STARVED_TICKS && !claims.includes(p)) claims.push(p);
    }
    return claims;
  }

  async #claim(p: number, st: LeaseState): Promise<void> {
    const rev = await this.#o.leases.write(this.prefix, p, st.seq, this.id, 'claim').catch((err: unknown) => {
      this.#o.logger.debug({ err, partition: p }, 'nats bus: claim failed');
      return null;
    });
    // Even when stopping: stop() collects the workers only after the tick that claimed them ended.
    if (rev === null || this.#workers.has(p)) return;
    this.#freeFor.delete(p);
    const o = this.#o;
    const w = new PartitionWorker(
      {
        nc: o.nc,
        js: o.js,
        jsm: o.jsm,
        stream: o.stream,
        topic: o.topic,
        group: o.group,
        durablePrefix: `${nameToken(o.topic)}_${nameToken(o.group)}`,
        maxAckPending: o.maxAckPending,
        ackWaitMs: o.ackWaitMs,
        dispatcher: this.#dispatcher,
        logger: o.logger,
        ...(o.metrics ? { metrics: o.metrics } : {}),
        observeMessage: (ticks) => {
          this.#avgTicks = this.#avgTicks === 0 ? ticks : this.#avgTicks * 0.95 + ticks * 0.05;
        },
      },
      p,
    );
    w.rev = rev;
    w.renewedAt = Date.now();
    this.#workers.set(p, w);
    w.start();
  }
}
