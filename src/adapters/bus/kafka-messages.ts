import type { Tick } from '../../core/tick.ts';
import { BUS_CONTENT_TYPE, encodeTicks } from './codec.ts';
import { partitionOf } from './partition.ts';

/** One Kafka record to produce: an encoded sub-batch of one partition. */
export interface OutMessage {
  topic: string;
  partition: number;
  /** The symbol when the record holds one symbol only (the partition is always chosen explicitly). */
  key: Buffer | undefined;
  value: Buffer;
  ticks: number;
}

export const CONTENT_TYPE_HEADER = 'content-type';
const HEADER_KEY = Buffer.from(CONTENT_TYPE_HEADER);
const HEADER_VALUE = Buffer.from(BUS_CONTENT_TYPE);

/** Record headers every Tickline message carries (the buffers are shared: the client only reads them). */
export function messageHeaders(): Map<Buffer, Buffer> {
  return new Map([[HEADER_KEY, HEADER_VALUE]]);
}

/** Encoded bytes per tick without the string dictionary: 7 f64 + 3 u16 columns (see codec.ts). */
const BYTES_PER_TICK = 7 * 8 + 3 * 2;

/** symbol → partition for one partition count; hashing once per symbol instead of once per tick. */
export class PartitionMap {
  readonly n: number;
  readonly #cache = new Map<string, number>();

  constructor(n: number) {
    this.n = n;
  }

  of(symbol: string): number {
    let p = this.#cache.get(symbol);
    if (p === undefined) {
      p = partitionOf(symbol, this.n);
      if (this.#cache.size > 100_000) this.#cache.clear();
      this.#cache.set(symbol, p);
    }
    return p;
  }
}

/**
 * Splits a batch into records: ticks grouped by the partition their symbol maps to (order kept within
 * each group, so per-symbol order is per-partition order), each group encoded with the bus codec and cut
 * into records below `maxBytes`.
 */
export function buildMessages(topic: string, ticks: readonly Tick[], partitions: PartitionMap, maxBytes: number): OutMessage[] {
  const groups = new Map<number, Tick[]>();
  for (const t of ticks) {
    const p = partitions.of(t.symbol);
    let g = groups.get(p);
    if (!g) {
      g = [];
      groups.set(p, g);
    }
    g.push(t);
  }
  // Room for the dictionary: at worst every string of the record is distinct (3 per tick, ≤ 64 chars each)
  // but in practice a few dozen; a record that still comes out too big is halved below.
  const perRecord = Math.max(1, Math.floor((maxBytes - 16_384) / BYTES_PER_TICK));
  const out: OutMessage[] = [];
  for (const [partition, group] of groups) {
    for (let i = 0; i < group.length; i += perRecord) encodeInto(out, topic, partition, group.slice(i, i + perRecord), maxBytes);
  }
  return out;
}

function encodeInto(out: OutMessage[], topic: string, partition: number, ticks: Tick[], maxBytes: number): void {
  const bytes = encodeTicks(ticks);
  if (bytes.byteLength > maxBytes && ticks.length > 1) {
    const mid = ticks.length >> 1;
    encodeInto(out, topic, partition, ticks.slice(0, mid), maxBytes);
    encodeInto(out, topic, partition, ticks.slice(mid), maxBytes);
    return;
  }
  const first = ticks[0]!.symbol;
  let single = true;
  for (let i = 1; i < ticks.length; i++) {
    if (ticks[i]!.symbol !== first) {
      single = false;
      break;
    }
  }
  out.push({
    topic,
    partition,
    key: single ? Buffer.from(first) : undefined,
    value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    ticks: ticks.length,
  });
}
