import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { TicklineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Tick } from '../../core/tick.ts';
import type { BatchHandler, Bus, SubscribeOptions, Subscription } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';
import type { AdapterContext } from '../registry.ts';
import { checkTopic, parseNatsUrl } from './nats-config.ts';
import type { NatsBusConfig } from './nats-config.ts';
import { LeaseBucket } from './nats-leases.ts';
import { NatsPublisher } from './nats-publish.ts';
import { ensureStream } from './nats-stream.ts';
import type { TopicStream } from './nats-stream.ts';
import { GroupMember } from './nats-subscription.ts';

/** How long `close()` lets attached consumers catch up with what was published before it gives up. */
const DRAIN_TIMEOUT_MS = 30_000;
const LEASE_OP_TIMEOUT_MS = 2_000;

/**
 * The `nats://` bus: JetStream, partitioned by symbol, shared consumer groups. Settings and their
 * defaults (7-day retention, 16 partitions, …) are listed on `NatsBusConfig` and in docs/buses.md.
 *
 * - A topic is the subjects `<topic>.0` … `<topic>.<n-1>` of one stream; a tick goes to
 *   `partitionOf(symbol, n)`, so per-symbol order is per-partition order.
 * - `publish` sends one message per partition touched (the batch's ticks for it, `encodeTicks`,
 *   split under the server's max payload) and resolves once every message has its JetStream ack.
 * - A group has one durable pull consumer per partition; members split the partitions through leases
 *   (GroupMember), so one member at a time consumes a partition and acknowledges it in order.
 * - The client reconnects by itself forever, with exponential backoff; publishes wait through an outage
 *   up to `publishTimeout`, then reject TL_ERR_UNAVAILABLE.
 */
export async function createNatsBus(url: URL, ctx: AdapterContext): Promise<Bus> {
  const cfg = parseNatsUrl(url);
  const logger = ctx.logger.child({ bus: 'nats' });
  const reconnects = { attempts: 0 };
  const nc = await connectWithRetry(cfg, logger, reconnects);
  try {
    return new NatsBus(cfg, ctx, logger, nc, await jetstreamManager(nc), reconnects);
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new TicklineError('TL_ERR_UNAVAILABLE', `nats bus: JetStream is not usable on ${cfg.display}: ${(err as Error).message}`, { cause: err });
  }
}

/** Reconnect attempts since the connection was last up: drives the backoff and the log lines. */
interface ReconnectState {
  attempts: number;
}

async function connectWithRetry(cfg: NatsBusConfig, logger: Logger, state: ReconnectState): Promise<NatsConnection> {
  const deadline = Date.now() + cfg.connectTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect({
        servers: cfg.servers,
        name: 'tickline',
        ...(cfg.user !== undefined ? { user: cfg.user, pass: cfg.pass } : {}),
        ...(cfg.token !== undefined ? { token: cfg.token } : {}),
        maxReconnectAttempts: -1,
        // Exponential backoff between reconnect attempts: 250 ms doubling up to 10 s, with jitter.
        reconnectDelayHandler: () => Math.min(250 * 2 ** Math.min(state.attempts, 6), 10_000) + Math.random() * 100,
        reconnectTimeWait: 250,
        pingInterval: 10_000,
        maxPingOut: 3,
        timeout: Math.min(10_000, cfg.connectTimeoutMs),
        // Otherwise every request (each publish) builds an Error just to keep its call site.
        noAsyncTraces: true,
      });
    } catch (err) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TicklineError('TL_ERR_UNAVAILABLE', `nats bus: cannot connect to ${cfg.display} after ${attempt} attempts: ${(err as Error).message}`, { cause: err });
      }
      const wait = Math.min(250 * 2 ** (attempt - 1), 5_000, left);
      logger.warn({ attempt, server: cfg.display, err: (err as Error).message, retryInMs: wait }, 'nats bus: connect failed; retrying');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

class NatsBus implements Bus {
  readonly kind = 'nats';
  readonly #cfg: NatsBusConfig;
  readonly #ctx: AdapterContext;
  readonly #logger: Logger;
  readonly #nc: NatsConnection;
  readonly #reconnects: ReconnectState;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #publisher: NatsPublisher;
  readonly #streams = new Map<string, Promise<TopicStream>>();
  readonly #members = new Set<GroupMember>();
  readonly #publishing = new Set<Promise<void>>();
  #leases: Promise<LeaseBucket> | undefined;
  #connected = true;
  #lastError: string | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #reconnectWaiters: Array<() => void> = [];

  constructor(cfg: NatsBusConfig, ctx: AdapterContext, logger: Logger, nc: NatsConnection, jsm: JetStreamManager, reconnects: ReconnectState) {
    this.#cfg = cfg;
    this.#reconnects = reconnects;
    this.#ctx = ctx;
    this.#logger = logger;
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#publisher = new NatsPublisher({
      js: this.#js,
      maxPayload: nc.info?.max_payload ?? 1024 * 1024,
      timeoutMs: cfg.publishTimeoutMs,
      connected: () => this.#connected && !nc.isClosed(),
      waitConnected: (ms) => this.#waitConnected(ms),
      restream: (topic) => {
        this.#streams.delete(topic);
        return this.#stream(topic);
      },
    });
    void this.#watchStatus();
  }

  async #watchStatus(): Promise<void> {
    const nc = this.#nc;
    const attempts = this.#reconnects;
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.#connected = false;
          this.#lastError = `disconnected from ${s.server}`;
          this.#logger.warn({ server: s.server }, 'nats bus: disconnected; reconnecting');
          break;
        case 'reconnecting':
          attempts.attempts++;
          this.#logger.warn({ attempt: attempts.attempts }, 'nats bus: reconnect attempt');
          break;
        case 'reconnect':
          attempts.attempts = 0;
          this.#connected = true;
          this.#lastError = undefined;
          this.#ctx.metrics?.reconnects.inc({ dependency: 'nats' });
          this.#logger.warn({ server: s.server }, 'nats bus: reconnected');
          for (const w of this.#reconnectWaiters.splice(0)) w();
          for (const m of this.#members) m.reconnected();
          break;
        case 'error':
          this.#lastError = s.error.message;
          this.#logger.error({ err: s.error }, 'nats bus: server error');
          break;
        case 'staleConnection':
          this.#logger.warn('nats bus: connection stale (pings unanswered); reconnecting');
          break;
        case 'ldm':
          this.#logger.warn({ server: s.server }, 'nats bus: server entering lame duck mode; will move to another');
          break;
        case 'slowConsumer':
          this.#logger.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'nats bus: slow consumer');
          break;
        default:
      }
    }
  }

  #waitConnected(ms: number): Promise<boolean> {
    if (this.#connected) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        this.#reconnectWaiters = this.#reconnectWaiters.filter((w) => w !== done);
        resolve(this.#connected);
      }, ms);
      const done = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      this.#reconnectWaiters.push(done);
    });
  }

  #stream(topic: string): Promise<TopicStream> {
    let p = this.#streams.get(topic);
    if (!p) {
      p = ensureStream(this.#jsm, topic, this.#cfg, this.#logger);
      this.#streams.set(topic, p);
      // A failure (server down, bad config) is not cached: the next call tries again.
      p.catch(() => this.#streams.get(topic) === p && this.#streams.delete(topic));
    }
    return p;
  }

  #leaseBucket(): Promise<LeaseBucket> {
    if (!this.#leases) {
      const p = (async () => {
        // Short timeouts: a lost answer must not stall lease renewals for the default 5 s.
        const opts = { timeout: LEASE_OP_TIMEOUT_MS, checkAPI: false };
        const b = new LeaseBucket(this.#nc, jetstream(this.#nc, opts), await jetstreamManager(this.#nc, opts), this.#cfg.leaseBucket, this.#cfg.leaseTtlMs, this.#logger);
        await b.ensure(this.#cfg.replicas);
        return b;
      })();
      this.#leases = p;
      p.catch(() => this.#leases === p && (this.#leases = undefined));
    }
    return this.#leases;
  }

  async publish(topic: string, ticks: readonly Tick[]): Promise<void> {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', 'nats bus is closed; cannot publish');
    if (ticks.length === 0) return;
    checkTopic(topic);
    const p = (async () => {
      const s = await this.#unavailable('publish', () => this.#stream(topic));
      await this.#publisher.publish(topic, s, ticks);
    })();
    this.#publishing.add(p);
    try {
      await p;
    } finally {
      this.#publishing.delete(p);
    }
  }

  async subscribe(topic: string, handler: BatchHandler, options: SubscribeOptions): Promise<Subscription> {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', 'nats bus is closed; cannot subscribe');
    checkTopic(topic);
    if (typeof options.group !== 'string' || options.group.length === 0 || options.group.length > 200) {
      throw new TicklineError('TL_ERR_CONFIG', `nats bus: consumer group ${JSON.stringify(options.group)} must be a non-empty string of at most 200 characters`);
    }
    const s = await this.#unavailable('subscribe', () => this.#stream(topic));
    const leases = await this.#unavailable('subscribe', () => this.#leaseBucket());
    const member = new GroupMember({
      nc: this.#nc,
      js: this.#js,
      jsm: this.#jsm,
      leases,
      stream: s.name,
      partitions: s.partitions,
      topic,
      group: options.group,
      handler,
      maxInFlight: Math.max(1, options.maxInFlight ?? 4),
      batchMax: this.#ctx.batchMax ?? 8192,
      capacity: this.#ctx.busCapacity ?? 65_536,
      maxAckPending: this.#cfg.maxAckPending,
      ackWaitMs: this.#cfg.ackWaitMs,
      logger: this.#logger,
      ...(this.#ctx.metrics ? { metrics: this.#ctx.metrics } : {}),
    });
    this.#members.add(member);
    try {
      await member.start();
    } catch (err) {
      await member.stop().catch(() => undefined);
      this.#members.delete(member);
      throw new TicklineError('TL_ERR_UNAVAILABLE', `nats bus: cannot join group "${options.group}" on ${topic}: ${(err as Error).message}`, { cause: err });
    }
    return {
      stop: async () => {
        await member.stop();
        this.#members.delete(member);
      },
    };
  }

  async #unavailable<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TicklineError) throw err;
      throw new TicklineError('TL_ERR_UNAVAILABLE', `nats bus: ${what} failed on ${this.#cfg.display}: ${(err as Error).message}`, { cause: err });
    }
  }

  lag(topic: string): number {
    let sum = 0;
    for (const m of this.#members) if (m.topic === topic) sum += m.lag();
    return sum;
  }

  async health(): Promise<Health> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    if (!this.#connected || this.#nc.isClosed()) return { ok: false, detail: this.#lastError ?? 'disconnected; reconnecting' };
    try {
      const rtt = await Promise.race([
        this.#nc.rtt(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer to ping within 2 s')), 2_000).unref()),
      ]);
      return { ok: true, detail: `connected to ${this.#nc.getServer()}, rtt ${rtt.toFixed(1)} ms` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  /** Waits for running publishes, lets attached consumers catch up (bounded), stops them, drains the connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await Promise.allSettled([...this.#publishing]);
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      const drained = await Promise.all([...this.#members].map((m) => m.drain(deadline, () => this.#connected)));
      if (drained.includes(false)) this.#logger.warn('nats bus: closing with messages not yet consumed; they stay in the stream for the next consumer');
      await Promise.all([...this.#members].map((m) => m.stop().catch((err: unknown) => this.#logger.warn({ err }, 'nats bus: stopping a consumer failed'))));
      this.#members.clear();
      try {
        await Promise.race([this.#nc.drain(), new Promise((r) => setTimeout(r, 5_000).unref())]);
      } catch {
        // Already closed or disconnected: nothing left to flush.
      }
      await this.#nc.close().catch(() => undefined);
    })();
    return this.#closing;
  }
}
