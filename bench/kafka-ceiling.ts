/**
 * The Kafka "bus ceiling": how fast the broker and the client library (@platformatic/kafka) move exactly
 * these ticks with no Tickline code on the path: batches encoded beforehand (one record per batch, spread
 * over 8 partitions), produced with acks=all and several requests in flight, consumed by a plain group
 * consumer stream that only counts records. Timed from the first send to the last record received.
 *
 * Run directly to compare the kafka:// adapter (publish → handler, same ticks) with the ceiling:
 *   TICKLINE_TEST_KAFKA=kafka://127.0.0.1:9092 ./node_modules/.bin/node bench/kafka-ceiling.ts [ticks=1000000] [batch=8192] [inFlight=4]
 */
import { randomBytes } from 'node:crypto';
import { Admin, Consumer, ProduceAcks, Producer } from '@platformatic/kafka';
import { encodeTicks } from '../src/adapters/bus/codec.ts';
import { parseKafkaUrl } from '../src/adapters/bus/kafka-config.ts';
import { forceClose } from '../src/adapters/bus/kafka-producer.ts';
import { parseAdapterUrl } from '../src/adapters/registry.ts';
import type { Tick } from '../src/core/tick.ts';
import { makeTicks } from './fixtures.ts';

const PARTITIONS = 8;
const BATCH = 8192;
const IN_FLIGHT = 4;

/** Ticks per second Kafka sustains for producing and consuming `ticks` as encoded 8192-tick records. */
export async function kafkaCeiling(url: string, ticks: Tick[]): Promise<number> {
  const brokers = parseKafkaUrl(parseAdapterUrl(url, 'bus')).brokers;
  const topic = `tickline-ceiling-${randomBytes(4).toString('hex')}`;
  const group = `${topic}-g`;
  const records: Buffer[] = [];
  for (let i = 0; i < ticks.length; i += BATCH) {
    const enc = encodeTicks(ticks.slice(i, i + BATCH));
    records.push(Buffer.from(enc.buffer, enc.byteOffset, enc.byteLength));
  }
  const admin = new Admin({ clientId: 'tickline-ceiling', bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  const producer = new Producer({ clientId: 'tickline-ceiling', bootstrapBrokers: brokers, acks: ProduceAcks.ALL, maxInflights: IN_FLIGHT + 1 });
  const consumer = new Consumer({ clientId: 'tickline-ceiling', groupId: group, bootstrapBrokers: brokers, maxWaitTime: 100, heartbeatInterval: 500, sessionTimeout: 10_000 });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 1_000, highWaterMark: 64 });
    let received = 0;
    const allIn = new Promise<void>((resolve, reject) => {
      stream.on('data', () => {
        if (++received === records.length) resolve();
      });
      stream.on('error', reject);
    });
    const t0 = performance.now();
    const running = new Set<Promise<unknown>>();
    for (let i = 0; i < records.length; i++) {
      const p: Promise<unknown> = producer.send({ messages: [{ topic, partition: i % PARTITIONS, value: records[i]! }] }).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= IN_FLIGHT) await Promise.race(running);
    }
    await Promise.all(running);
    await allIn;
    const secs = (performance.now() - t0) / 1000;
    await stream.close();
    return ticks.length / secs;
  } finally {
    await forceClose(consumer).catch(() => undefined);
    await producer.close().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups({ groups: [group] }).catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}


/** The adapter's rate for the same ticks: `publish` of `batch`-tick batches (`inFlight` at once) until every tick reached the handler. */
async function adapterRate(url: string, ticks: Tick[], batch: number, inFlight: number): Promise<{ rate: number; delivered: number; cpu: number }> {
  const { createKafkaBus } = await import('../src/adapters/bus/kafka.ts');
  const { silentLogger } = await import('../src/core/log.ts');
  const topic = `tickline-bench-${randomBytes(4).toString('hex')}`;
  const sep = url.includes('?') ? '&' : '?';
  const bus = await createKafkaBus(parseAdapterUrl(`${url}${sep}partitions=${PARTITIONS}&heartbeatMs=500&sessionTimeoutMs=10000&groupPrefix=${topic}-`, 'bus'), {
    dataDir: '/tmp',
    logger: silentLogger(),
    batchMax: batch,
  });
  let delivered = 0;
  let done!: () => void;
  const allIn = new Promise<void>((r) => (done = r));
  try {
    // The process role's settings: many batches in flight, bounded by the bus capacity.
    const sub = await bus.subscribe(topic, async (b) => {
      delivered += b.length;
      if (delivered >= ticks.length) done();
    }, { group: 'bench', maxInFlight: 1024 });
    await bus.publish(topic, ticks.slice(0, 1)); // topic metadata warm, not timed
    delivered = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const running = new Set<Promise<void>>();
    for (let i = 0; i < ticks.length; i += batch) {
      const p: Promise<void> = bus.publish(topic, ticks.slice(i, i + batch)).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= inFlight) await Promise.race(running);
    }
    await Promise.all(running);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allIn, new Promise((r) => (timer = setTimeout(r, 120_000)))]);
    clearTimeout(timer);
    const secs = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    await sub.stop();
    return { rate: delivered / secs, delivered, cpu: (c.user + c.system) / 1e6 / secs };
  } finally {
    await bus.close();
    const admin = new Admin({ clientId: 'tickline-bench', bootstrapBrokers: parseKafkaUrl(parseAdapterUrl(url, 'bus')).brokers });
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups({ groups: [`${topic}-bench`] }).catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

async function compare(): Promise<void> {
  const url = process.env.TICKLINE_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
  const [n = 1_000_000, batch = BATCH, inFlight = IN_FLIGHT, rounds = 3] = process.argv.slice(2).map(Number);
  const ticks = makeTicks(n);
  // A second or two per run on a small machine: warm the broker's JIT first, then alternate the two
  // measurements and report medians (single runs vary by 2x here).
  await kafkaCeiling(url, ticks.slice(0, 200_000));
  await adapterRate(url, ticks.slice(0, 200_000), batch, inFlight);
  const ceilings: number[] = [];
  const adapters: Array<{ rate: number; delivered: number; cpu: number }> = [];
  for (let r = 0; r < rounds; r++) {
    ceilings.push(await kafkaCeiling(url, ticks));
    adapters.push(await adapterRate(url, ticks, batch, inFlight));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ceiling = median(ceilings);
  const adapter = median(adapters.map((a) => a.rate));
  console.log(
    JSON.stringify({
      ticks: n,
      batch,
      inFlight,
      rounds,
      ceiling_ticks_per_s: Math.round(ceiling),
      adapter_ticks_per_s: Math.round(adapter),
      ratio: Math.round((adapter / ceiling) * 100) / 100,
      ceiling_runs: ceilings.map(Math.round),
      adapter_runs: adapters.map((a) => Math.round(a.rate)),
      delivered_min: Math.min(...adapters.map((a) => a.delivered)),
      adapter_process_cpu_cores: Math.round(median(adapters.map((a) => a.cpu)) * 100) / 100,
    }),
  );
}

if (import.meta.main) await compare();
