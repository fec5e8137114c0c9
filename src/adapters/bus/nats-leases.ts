import { JetStreamApiCodes, JetStreamApiError, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers, millis, nanos } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '../../core/log.ts';

/** Who holds a partition: `holder` null when the key is absent or deleted (free). */
export interface LeaseState {
  /** Stream sequence of the key's last message (0 when it has none): the CAS revision. */
  seq: number;
  holder: string | null;
}

/** What a lease message announces, so watchers react to joins and releases at once. */
export type LeaseEvent = 'join' | 'heartbeat' | 'claim' | 'renew' | 'release';

const EVENT_HEADER = 'Tickline-Lease-Event';
const HOLDER_HEADER = 'Tickline-Lease-Holder';

/**
 * Partition leases of consumer groups, in a JetStream key-value bucket laid out like a NATS KV bucket
 * (stream `KV_<bucket>`, subjects `$KV.<bucket>.<key>`, one message per key, `KV-Operation: DEL`
 * markers), so `nats kv ls/get` can inspect it. The server here may predate the KV client API, so the
 * few operations needed are written against the stream directly:
 *
 * - keys `<topic>.<group>.p.<n>` hold the member id holding partition n; claims and renewals are
 *   compare-and-set on the key's last sequence, so two members can never both win a partition;
 * - keys `<topic>.<group>.m.<member>` are member heartbeats, used to compute fair shares;
 * - the bucket's max age is the lease TTL: a key nobody renews disappears, which is how a dead
 *   member's partitions become free without anyone having to judge clocks.
 */
export class LeaseBucket {
  readonly stream: string;
  readonly bucket: string;
  ttlMs: number;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #nc: NatsConnection;
  readonly #logger: Logger;

  constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, bucket: string, ttlMs: number, logger: Logger) {
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.bucket = bucket;
    this.stream = `KV_${bucket}`;
    this.ttlMs = ttlMs;
    this.#logger = logger;
  }

  /** Creates the bucket when missing; an existing bucket's TTL wins (it is shared by every process). */
  async ensure(replicas: number): Promise<void> {
    try {
      const si = await this.#jsm.streams.info(this.stream);
      const ttl = millis(si.config.max_age);
      if (ttl <= 0) {
        // Without an age limit a dead member would hold its partitions forever.
        await this.#jsm.streams.update(this.stream, { ...si.config, max_age: nanos(this.ttlMs) });
        this.#logger.warn({ bucket: this.bucket, ttlMs: this.ttlMs }, 'lease bucket had no TTL; set one');
      } else if (ttl !== this.ttlMs) {
        this.#logger.info({ bucket: this.bucket, ttlMs: ttl, configured: this.ttlMs }, 'lease bucket exists with another TTL; using it');
        this.ttlMs = ttl;
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      try {
        await this.#jsm.streams.add({
          name: this.stream,
          subjects: [`$KV.${this.bucket}.>`],
          retention: RetentionPolicy.Limits,
          max_msgs_per_subject: 1,
          max_age: nanos(this.ttlMs),
          discard: DiscardPolicy.New,
          allow_rollup_hdrs: true,
          deny_delete: true,
          storage: StorageType.File,
          num_replicas: replicas,
          allow_direct: true,
        });
      } catch (addErr) {
        // Another process created it first.
        await this.#jsm.streams.info(this.stream).catch(() => Promise.reject(addErr));
      }
    }
  }

  subject(key: string): string {
    return `$KV.${this.bucket}.${key}`;
  }

  /** Live member ids of a group (heartbeat keys not yet expired). */
  async members(prefix: string): Promise<string[]> {
    const head = this.subject(`${prefix}.m.`);
    const si = await this.#jsm.streams.info(this.stream, { subjects_filter: `${head}*` });
    return Object.keys(si.state.subjects ?? {}).map((s) => s.slice(head.length));
  }

  async heartbeat(prefix: string, member: string, event: 'join' | 'heartbeat'): Promise<void> {
    await this.#js.publish(this.subject(`${prefix}.m.${member}`), member, { headers: this.#headers(event, member) });
  }

  /** Removes a member's heartbeat key (only its owner writes it, so no CAS is needed). */
  async leave(prefix: string, member: string): Promise<void> {
    await this.#jsm.streams.purge(this.stream, { filter: this.subject(`${prefix}.m.${member}`) });
  }

  async read(prefix: string, partition: number): Promise<LeaseState> {
    const m = await this.#jsm.streams.getMessage(this.stream, { last_by_subj: this.subject(`${prefix}.p.${partition}`) });
    if (!m) return { seq: 0, holder: null };
    const op = m.header.get('KV-Operation');
    if (op === 'DEL' || op === 'PURGE' || m.data.length === 0) return { seq: m.seq, holder: null };
    return { seq: m.seq, holder: new TextDecoder().decode(m.data) };
  }

  /** Writes the lease if its last sequence is still `expected`; the new revision, or null if someone else won. */
  async write(prefix: string, partition: number, expected: number, member: string, event: 'claim' | 'renew'): Promise<number | null> {
    return this.#cas(this.subject(`${prefix}.p.${partition}`), member, expected, this.#headers(event, member));
  }

  async release(prefix: string, partition: number, expected: number, member: string): Promise<boolean> {
    const h = this.#headers('release', member);
    h.set('KV-Operation', 'DEL');
    return (await this.#cas(this.subject(`${prefix}.p.${partition}`), '', expected, h)) !== null;
  }

  /** Calls `onEvent` for lease traffic of the group from other members (core subscription: no replay). */
  watch(prefix: string, self: string, onEvent: (event: LeaseEvent) => void): Subscription {
    return this.#nc.subscribe(this.subject(`${prefix}.>`), {
      callback: (err, msg) => {
        if (err) return;
        const from = msg.headers?.get(HOLDER_HEADER);
        if (from === self) return;
        onEvent((msg.headers?.get(EVENT_HEADER) || 'heartbeat') as LeaseEvent);
      },
    });
  }

  async #cas(subject: string, data: string, expected: number, h: ReturnType<typeof headers>): Promise<number | null> {
    try {
      const ack = await this.#js.publish(subject, data, { headers: h, expect: { lastSubjectSequence: expected } });
      return ack.seq;
    } catch (err) {
      if (err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || /wrong last sequence/i.test(err.message))) {
        return null;
      }
      throw err;
    }
  }

  #headers(event: LeaseEvent, member: string): ReturnType<typeof headers> {
    const h = headers();
    h.set(EVENT_HEADER, event);
    h.set(HOLDER_HEADER, member);
    return h;
  }
}
