import type { GroupAssignment, GroupPartitionsAssigner } from '@platformatic/kafka';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { Tick } from '../../core/tick.ts';
import { BUS_CONTENT_TYPE, decodeTicks } from './codec.ts';
import { describeError } from './kafka-util.ts';

/** A fetched record not yet handed to the handler. `ticks` is filled on first decode; null = undecodable. */
export interface RawRecord {
  offset: bigint;
  value: Buffer | null;
  contentType: string | undefined;
  bytes: number;
  ticks?: Tick[] | null;
}

/** Consecutive records of one partition handed to the handler as one batch. */
export interface Delivery {
  /** The offset after its last record: what is committed once it and everything before it are done. */
  end: bigint;
  ticks: Tick[];
  records: number;
  done: boolean;
  running: boolean;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
}

/** What one consumer knows about one assigned partition. */
export class PartitionState {
  readonly partition: number;
  /** Next offset to fetch; undefined until the committed offset is known. */
  position: bigint | undefined;
  readonly raw: RawRecord[] = [];
  rawBytes = 0;
  /** Deliveries not yet acknowledged, in offset order. */
  readonly inflight: Delivery[] = [];
  /** The offset to commit: after the longest finished prefix of deliveries. */
  acked: bigint | undefined;
  committed: bigint | undefined;
  revoked = false;

  constructor(partition: number) {
    this.partition = partition;
  }

  runningCount(): number {
    let n = 0;
    for (const d of this.inflight) if (d.running) n++;
    return n;
  }

  needsCommit(): boolean {
    return this.acked !== undefined && (this.committed === undefined || this.acked > this.committed);
  }
}

export interface DecodeContext {
  topic: string;
  logger: Logger;
  metrics: Metrics | undefined;
}

/**
 * Decodes a record once. An undecodable record is logged with its position, counted, and becomes an
 * empty part of its delivery, so it is committed past: one poison record must not stall a partition.
 */
export function decodeRecord(r: RawRecord, partition: number, ctx: DecodeContext): Tick[] | null {
  if (r.ticks !== undefined) return r.ticks;
  try {
    if (r.contentType !== undefined && r.contentType !== BUS_CONTENT_TYPE) {
      throw new Error(`content-type ${JSON.stringify(r.contentType.slice(0, 80))} is not ${BUS_CONTENT_TYPE}`);
    }
    if (!r.value) throw new Error('the record has no value');
    // The codec reads columns through typed arrays, which need 8-byte alignment; a record's bytes sit at
    // any offset of the fetch response (and Buffer#slice would not copy), so unaligned ones are copied.
    r.ticks = decodeTicks(r.value.byteOffset % 8 === 0 ? r.value : new Uint8Array(r.value));
  } catch (err) {
    ctx.logger.error(
      { topic: ctx.topic, partition, offset: r.offset.toString(), bytes: r.bytes, err: describeError(err) },
      'kafka bus: skipping a record that is not a Tickline batch',
    );
    ctx.metrics?.busBadMessages.inc({ topic: ctx.topic });
    r.ticks = null;
  }
  r.value = null;
  return r.ticks;
}

/**
 * Takes the next delivery off a partition's fetched records: consecutive records up to `batchMax` ticks
 * (at least one record). Returns undefined when nothing is fetched.
 */
export function nextDelivery(part: PartitionState, batchMax: number, ctx: DecodeContext): Delivery | undefined {
  if (part.raw.length === 0) return undefined;
  const parts: Tick[][] = [];
  let count = 0;
  let end = part.raw[0]!.offset;
  let taken = 0;
  while (taken < part.raw.length) {
    const r = part.raw[taken]!;
    const t = decodeRecord(r, part.partition, ctx);
    const n = t?.length ?? 0;
    if (taken > 0 && count + n > batchMax) break;
    if (t && n > 0) parts.push(t);
    count += n;
    end = r.offset + 1n;
    part.rawBytes -= r.bytes;
    taken++;
  }
  part.raw.splice(0, taken);
  // One record is the common case: hand its array over without copying.
  const ticks = parts.length === 1 ? parts[0]! : parts.flat();
  return { end, ticks, records: taken, done: false, running: false, attempt: 0, timer: undefined };
}

/**
 * Group assignment (run by the group leader): each topic's partitions are dealt round-robin to the
 * members subscribed to that topic, and only to them. (The client's default deals the leader's topics
 * to every member, which starves partitions when members of one group name consume different topics,
 * e.g. two deployments sharing a cluster and the default group name.)
 */
export const subscribedRoundRobin: GroupPartitionsAssigner = (_current, members, _topics, metadata) => {
  const out = new Map<string, Map<string, GroupAssignment>>();
  for (const id of members.keys()) out.set(id, new Map());
  const byTopic = new Map<string, string[]>();
  for (const [id, m] of members) {
    for (const t of m.topics ?? []) {
      let l = byTopic.get(t);
      if (!l) byTopic.set(t, (l = []));
      l.push(id);
    }
  }
  for (const [topic, ids] of [...byTopic].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const n = metadata.topics.get(topic)?.partitionsCount ?? 0;
    ids.sort();
    for (let p = 0; p < n; p++) {
      const a = out.get(ids[p % ids.length]!)!;
      let g = a.get(topic);
      if (!g) a.set(topic, (g = { topic, partitions: [] }));
      g.partitions.push(p);
    }
  }
  return [...out].map(([memberId, assignments]) => ({ memberId, assignments }));
};
