import type { ConnectionPool, Consumer } from '@platformatic/kafka';
import type { Logger } from '../../core/log.ts';
import { CONTENT_TYPE_HEADER } from './kafka-messages.ts';
import type { PartitionState } from './kafka-partition.ts';
import { kafkaErrorIds } from './kafka-util.ts';

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

/** Fetched and not yet delivered bytes per partition before its fetching pauses. */
const MAX_PARTITION_BYTES = 4 * 1024 * 1024;
const PARTITION_FETCH_BYTES = 2 * 1024 * 1024;
const IS_CONTROL = 0x20;
const OFFSET_OUT_OF_RANGE = 1;
const STALE_LEADER = new Set(['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'KAFKA_STORAGE_ERROR']);

export interface FetchContext {
  topic: string;
  logger: Logger;
  consumer: Consumer;
  /** Connections for fetches only: a long-poll on them cannot hold up heartbeats and commits. */
  pool: ConnectionPool;
  /** The member's current partitions; read again after every await (the group may change them). */
  parts: () => ReadonlyMap<number, PartitionState>;
}

/**
 * One round of fetches: positions of new partitions first, then one request per leader for every
 * partition with room. Records land in each partition's `raw` queue. Returns false when no partition
 * could take more (the caller waits for the handlers instead).
 */
export async function fetchRound(f: FetchContext): Promise<boolean> {
  await initPositions(f);
  const want = [...f.parts().values()].filter((p) => p.position !== undefined && p.rawBytes < MAX_PARTITION_BYTES);
  if (want.length === 0) return false;
  const md = await f.consumer.metadata({ topics: [f.topic] });
  const meta = md.topics.get(f.topic);
  if (!meta) throw new Error(`topic ${f.topic} is missing from the metadata`);
  const byLeader = new Map<number, PartitionState[]>();
  for (const part of want) {
    const leader = meta.partitions[part.partition]?.leader ?? -1;
    if (leader < 0) continue;
    let l = byLeader.get(leader);
    if (!l) byLeader.set(leader, (l = []));
    l.push(part);
  }
  if (byLeader.size === 0) throw new Error(`no leader is known for the partitions of ${f.topic}`);
  const results = await Promise.allSettled(
    [...byLeader].map(async ([leader, parts]) => {
      const requested = new Map(parts.map((p) => [p.partition, p.position!]));
      try {
        const res = await f.consumer.fetch({
          node: leader,
          connectionPool: f.pool,
          topics: [{ topicId: meta.id, partitions: parts.map((p) => ({ partition: p.partition, fetchOffset: p.position!, partitionMaxBytes: PARTITION_FETCH_BYTES, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
        });
        absorb(f, res, requested);
      } catch (err) {
        // A response with errors for some partitions still carries the others' records.
        const res = (err as { response?: FetchResponse }).response;
        if (!res) throw err;
        absorb(f, res, requested);
        await partitionErrors(f, res, err);
      }
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return true;
}

function absorb(f: FetchContext, res: FetchResponse, requested: Map<number, bigint>): void {
  const parts = f.parts();
  for (const t of res.responses) {
    for (const pr of t.partitions) {
      if (pr.errorCode !== 0) continue;
      const part = parts.get(pr.partitionIndex);
      const from = requested.get(pr.partitionIndex);
      // Assignment or position changed while the fetch was out: its answer is stale.
      if (!part || from === undefined || part.position !== from) continue;
      let position = from;
      for (const batch of pr.records ?? []) {
        const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
        if ((batch.attributes & IS_CONTROL) === 0) {
          for (const rec of batch.records) {
            const offset = batch.firstOffset + BigInt(rec.offsetDelta);
            // A fetch returns whole batches: records before the position were delivered already.
            if (offset < position) continue;
            let contentType: string | undefined;
            for (const [k, v] of rec.headers) if (k?.toString() === CONTENT_TYPE_HEADER) contentType = v?.toString() ?? '';
            const bytes = (rec.value?.byteLength ?? 0) + 64;
            part.raw.push({ offset, value: rec.value, contentType, bytes });
            part.rawBytes += bytes;
          }
        }
        if (last + 1n > position) position = last + 1n;
      }
      part.position = position;
    }
  }
}

async function partitionErrors(f: FetchContext, res: FetchResponse, err: unknown): Promise<void> {
  const ids = kafkaErrorIds(err);
  if ([...ids].some((id) => STALE_LEADER.has(id))) f.consumer.clearMetadata();
  const outOfRange = res.responses.flatMap((t) => t.partitions.filter((p) => p.errorCode === OFFSET_OUT_OF_RANGE).map((p) => p.partitionIndex));
  if (outOfRange.length > 0) {
    // The records were deleted (retention) or the topic was recreated: resume at the oldest record left.
    const earliest = (await f.consumer.listOffsets({ topics: [f.topic], timestamp: -2n })).get(f.topic) ?? [];
    for (const p of outOfRange) {
      const part = f.parts().get(p);
      const to = earliest[p];
      if (!part || to === undefined) continue;
      f.logger.error({ topic: f.topic, partition: p, from: String(part.position), to: String(to) }, 'kafka bus: fetch offset out of range; resuming at the oldest record (the records in between are gone)');
      part.position = to;
    }
  } else if (ids.size > 0 && ![...ids].every((id) => STALE_LEADER.has(id))) {
    throw err;
  }
}

/** Sets the fetch position of newly assigned partitions: the group's committed offset, else the oldest record. */
async function initPositions(f: FetchContext): Promise<void> {
  const fresh = [...f.parts().values()].filter((p) => p.position === undefined);
  if (fresh.length === 0) return;
  const ps = fresh.map((p) => p.partition);
  const committed = (await f.consumer.listCommittedOffsets({ topics: [{ topic: f.topic, partitions: ps }] })).get(f.topic) ?? [];
  let earliest: bigint[] | undefined;
  for (const part of fresh) {
    if (part.revoked || f.parts().get(part.partition) !== part) continue;
    const c = committed[part.partition];
    if (c !== undefined && c >= 0n) {
      part.position = part.acked = part.committed = c;
      continue;
    }
    earliest ??= (await f.consumer.listOffsets({ topics: [f.topic], timestamp: -2n })).get(f.topic) ?? [];
    const e = earliest[part.partition];
    if (e !== undefined) part.position = part.acked = e;
  }
}

/** Records of `topic` not yet committed by the consumer's group, over all partitions (its own or not). */
export async function groupLag(consumer: Consumer, topic: string): Promise<number> {
  const latest = (await consumer.listOffsets({ topics: [topic], timestamp: -1n })).get(topic) ?? [];
  const committed = (await consumer.listCommittedOffsets({ topics: [{ topic, partitions: latest.map((_, i) => i) }] })).get(topic) ?? [];
  let earliest: bigint[] | undefined;
  let lag = 0n;
  for (let p = 0; p < latest.length; p++) {
    let from = committed[p];
    if (from === undefined || from < 0n) {
      earliest ??= (await consumer.listOffsets({ topics: [topic], timestamp: -2n })).get(topic) ?? [];
      from = earliest[p] ?? 0n;
    }
    const d = (latest[p] ?? 0n) - from;
    if (d > 0n) lag += d;
  }
  return Number(lag);
}
