/**
 * The one symbol → partition mapping every partitioned bus adapter uses (nats://, kafka://), so ticks of
 * a symbol always land on the same partition whichever process published them, and so per-symbol order
 * reduces to per-partition order.
 *
 * It is Kafka's default partitioner (`toPositive(murmur2(utf8(key))) % n`, the Java client's algorithm
 * for keyed records): stable across processes, versions and platforms, and a non-Tickline producer that
 * keys its records by symbol on the same topic agrees with it.
 *
 * Changing it, or a topic's partition count, reorders nothing already stored but sends a symbol's new
 * ticks to another partition than its old ones; a consumer group catching up across that point can then
 * see the symbol out of order. Partition counts are therefore fixed per topic (see docs/buses.md).
 */
export function partitionOf(symbol: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`partition count must be a positive integer, got ${n}`);
  if (n === 1) return 0;
  return (murmur2(utf8(symbol)) & 0x7fffffff) % n;
}

const encoder = new TextEncoder();

function utf8(s: string): Uint8Array {
  // Symbols are almost always ASCII: skip the encoder for them.
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return encoder.encode(s);
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** MurmurHash2, 32-bit, seed 0x9747b28c: bit for bit `org.apache.kafka.common.utils.Utils.murmur2`. */
export function murmur2(data: Uint8Array): number {
  const len = data.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ len;
  const whole = len & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = len & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
