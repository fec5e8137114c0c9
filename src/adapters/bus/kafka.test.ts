import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Tick } from '../../core/tick.ts';
import { tick } from '../../../test/fixtures/ticks.ts';
import { deleteTopics, kafkaAdmin, kafkaScript, produceRaw } from '../../../test/support/kafka.ts';
import { serviceUrl, skipUnless } from '../../../test/support/services.ts';
import { decodeTicks, encodeTicks } from './codec.ts';
import { checkTopicName, parseKafkaUrl } from './kafka-config.ts';
import { PartitionMap, buildMessages } from './kafka-messages.ts';
import { PartitionState, nextDelivery, subscribedRoundRobin } from './kafka-partition.ts';
import { describeError, kafkaErrorIds } from './kafka-util.ts';
import { createKafkaBus } from './kafka.ts';
import { partitionOf } from './partition.ts';

const ticksOf = (n: number, symbols: string[], from = 0): Tick[] =>
  Array.from({ length: n }, (_, i) => tick({ symbol: symbols[(from + i) % symbols.length]!, seq: from + i, at: from + i }));

describe('kafka bus: URL', () => {
  test('defaults and overrides', () => {
    const c = parseKafkaUrl(new URL('kafka://127.0.0.1:9092'));
    assert.deepEqual(c.brokers, ['127.0.0.1:9092']);
    assert.equal(c.partitions, 8);
    assert.equal(c.retentionMs, 604_800_000);
    assert.equal(c.replication, 1);
    assert.equal(c.clientId, 'tickline');
    const d = parseKafkaUrl(new URL('kafka://k1:9092?partitions=3&retentionMs=3600000&replication=2&clientId=x-1&hosts=k1:9092,k2'));
    assert.deepEqual(d.brokers, ['k1:9092', 'k2:9092']);
    assert.equal(d.partitions, 3);
    assert.equal(d.retentionMs, 3_600_000);
    assert.equal(d.replication, 2);
    assert.equal(d.clientId, 'x-1');
  });

  test('bad values are refused naming the parameter', () => {
    assert.throws(() => parseKafkaUrl(new URL('kafka://h:1?partitions=0')), { code: 'TL_ERR_CONFIG', message: /partitions="0"/ });
    assert.throws(() => parseKafkaUrl(new URL('kafka://h:1?retention=1')), { code: 'TL_ERR_CONFIG', message: /unknown parameter "retention"/ });
    assert.throws(() => parseKafkaUrl(new URL('kafka://h:1?sessionTimeoutMs=3000&heartbeatMs=2000')), { code: 'TL_ERR_CONFIG', message: /heartbeatMs/ });
    assert.throws(() => parseKafkaUrl(new URL('kafka://u:secret@h:1')), (e: Error) => /not supported/.test(e.message) && !e.message.includes('secret'));
    assert.throws(() => checkTopicName('a b'), { code: 'TL_ERR_CONFIG' });
    checkTopicName('ticks.v1_x-y');
  });
});

describe('kafka bus: records', () => {
  test('ticks go to their symbol partition, in order, one symbol per key', () => {
    const symbols = ['AAPL', 'MSFT', 'BTC-USD', 'ETH-USD', 'GOOG'];
    const ticks = ticksOf(1000, symbols);
    const msgs = buildMessages('t', ticks, new PartitionMap(4), 900_000);
    const back: Tick[] = [];
    for (const m of msgs) {
      const got = decodeTicks(new Uint8Array(m.value));
      for (const t of got) assert.equal(partitionOf(t.symbol, 4), m.partition);
      const syms = new Set(got.map((t) => t.symbol));
      assert.equal(m.key?.toString(), syms.size === 1 ? [...syms][0] : undefined);
      back.push(...got);
    }
    assert.equal(back.length, 1000);
    for (const s of symbols) {
      const seqs = back.filter((t) => t.symbol === s).map((t) => t.seq!);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    }
  });

  test('large groups are split below maxMessageBytes', () => {
    const msgs = buildMessages('t', ticksOf(5000, ['AAPL']), new PartitionMap(8), 20_000);
    assert.ok(msgs.length > 10);
    for (const m of msgs) assert.ok(m.value.byteLength <= 20_000, `${m.value.byteLength} bytes`);
    assert.equal(msgs.reduce((a, m) => a + m.ticks, 0), 5000);
    assert.deepEqual(msgs.flatMap((m) => decodeTicks(new Uint8Array(m.value)).map((t) => t.seq)), ticksOf(5000, ['AAPL']).map((t) => t.seq));
  });

  test('deliveries coalesce records up to batchMax; unaligned and poison records are handled', () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const ctx = { topic: 't', logger: silentLogger(), metrics };
    const part = new PartitionState(0);
    const unaligned = (ticks: Tick[]): Buffer => {
      const enc = encodeTicks(ticks);
      const b = Buffer.alloc(enc.byteLength + 3);
      b.set(enc, 3);
      return b.subarray(3);
    };
    const records = [unaligned(ticksOf(300, ['A'])), Buffer.from('garbage'), unaligned(ticksOf(300, ['A'], 300)), unaligned(ticksOf(300, ['A'], 600))];
    records.forEach((value, i) => part.raw.push({ offset: BigInt(10 + i), value, contentType: undefined, bytes: value.byteLength }));
    const d1 = nextDelivery(part, 700, ctx)!;
    assert.equal(d1.ticks.length, 600);
    assert.equal(d1.end, 13n, 'the poison record is inside the first delivery, so committing it skips it');
    const d2 = nextDelivery(part, 700, ctx)!;
    assert.equal(d2.ticks.length, 300);
    assert.equal(d2.end, 14n);
    assert.equal(nextDelivery(part, 700, ctx), undefined);
    assert.deepEqual([...d1.ticks, ...d2.ticks].map((t) => t.seq), [...Array(300).keys(), ...Array.from({ length: 600 }, (_, i) => 300 + i)]);
  });

  test('group assignment deals each topic only to the members subscribed to it', () => {
    const member = (topics: string[]) => ({ memberId: '', version: 1, topics });
    const members = new Map([['m-b', member(['x', 'y'])], ['m-a', member(['x'])], ['m-c', member(['y'])]]);
    const topicMeta = (n: number) => ({ id: '', partitions: [], partitionsCount: n, lastUpdate: 0 });
    const metadata = { id: '', brokers: new Map(), controllerId: 1, lastUpdate: 0, topics: new Map([['x', topicMeta(4)], ['y', topicMeta(3)]]) };
    const out = subscribedRoundRobin('m-a', members, new Set(['x']), metadata);
    const get = (id: string, t: string) => out.find((o) => o.memberId === id)!.assignments.get(t)?.partitions ?? [];
    assert.deepEqual([get('m-a', 'x'), get('m-b', 'x'), get('m-c', 'x')], [[0, 2], [1, 3], []]);
    assert.deepEqual([get('m-a', 'y'), get('m-b', 'y'), get('m-c', 'y')], [[], [0, 2], [1]]);
  });

  test('error helpers find the Kafka reason inside nested client errors', () => {
    const inner = Object.assign(new Error('The requested offset is not within the range'), { apiId: 'OFFSET_OUT_OF_RANGE' });
    const outer = Object.assign(new AggregateError([new AggregateError([inner], 'fetch failed 3 times.')], 'Received response with error'), {});
    assert.deepEqual([...kafkaErrorIds(outer)], ['OFFSET_OUT_OF_RANGE']);
    assert.match(describeError(outer), /OFFSET_OUT_OF_RANGE/);
  });
});

const base = serviceUrl('KAFKA');
const PARAMS = 'sessionTimeoutMs=6000&heartbeatMs=200&rebalanceTimeoutMs=10000&retryMs=20&lagIntervalMs=200';

describe('kafka bus: against a broker', { skip: skipUnless('KAFKA') }, () => {
  const run = randomBytes(4).toString('hex');
  const topics: string[] = [];
  const groups: string[] = [];
  const url = (topic: string, extra = ''): URL => {
    topics.push(topic);
    return new URL(`${base}${base!.includes('?') ? '&' : '?'}${PARAMS}&groupPrefix=tltest-${run}-${extra}`);
  };
  const until = async (cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const committed = async (group: string, topic: string): Promise<bigint[]> => {
    const admin = kafkaAdmin(base!);
    try {
      const res = await admin.listConsumerGroupOffsets({ groups: [group] });
      const t = res[0]?.topics.find((x) => x.name === topic);
      return (t?.partitions ?? []).sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.committedOffset);
    } finally {
      await admin.close();
    }
  };

  test('a poison record is logged, counted and committed past; good records around it are delivered', async () => {
    const topic = `tltest-poison-${run}`;
    const metrics = new Metrics({ defaultMetrics: false });
    const bus = await createKafkaBus(url(topic), { dataDir: tmpdir(), logger: silentLogger(), metrics });
    try {
      await bus.publish(topic, ticksOf(50, ['AAPL'])); // creates the topic
      const p = partitionOf('AAPL', 8);
      await produceRaw(base!, topic, [
        { partition: p, value: Buffer.from('not a batch') },
        { partition: p, value: Buffer.from(encodeTicks(ticksOf(5, ['AAPL']))), headers: { 'content-type': 'application/json' } },
      ]);
      await bus.publish(topic, ticksOf(50, ['AAPL'], 50));
      const seen: number[] = [];
      const sub = await bus.subscribe(topic, async (b) => void seen.push(...b.map((t) => t.seq!)), { group: 'poison' });
      await until(() => seen.length >= 100, 15_000, '100 good ticks');
      await sub.stop();
      assert.deepEqual(seen, [...Array(100).keys()]);
      assert.equal((await metrics.busBadMessages.get()).values[0]?.value, 2);
      assert.equal((await committed(`tltest-${run}-poison`, topic))[p], 4n, 'committed past both bad records');
      groups.push(`tltest-${run}-poison`);
    } finally {
      await bus.close();
    }
  });

  test('offsets are committed in order: a failing batch holds back the commit of later finished ones', async () => {
    const topic = `tltest-order-${run}`;
    const bus = await createKafkaBus(url(topic), { dataDir: tmpdir(), logger: silentLogger(), batchMax: 10 });
    try {
      // Four records on one partition (10 ticks each, batchMax 10: one delivery each).
      for (let i = 0; i < 4; i++) await bus.publish(topic, ticksOf(10, ['AAPL'], i * 10));
      const p = partitionOf('AAPL', 8);
      let firstCalls = 0;
      const done = new Set<number>();
      const sub = await bus.subscribe(
        topic,
        async (b) => {
          if (b[0]!.seq === 0) {
            firstCalls++;
            throw new Error('the first batch keeps failing');
          }
          done.add(b[0]!.seq!);
        },
        { group: 'order', maxInFlight: 4 },
      );
      await until(() => done.size === 3 && firstCalls >= 2, 15_000, 'later batches done while the first fails');
      await sub.stop();
      assert.ok(!((await committed(`tltest-${run}-order`, topic))[p]! > 0n), 'nothing committed past the failing first batch');
      // The next member of the group gets everything again (at least once), first batch included.
      const again: number[] = [];
      const sub2 = await bus.subscribe(topic, async (b) => void again.push(...b.map((t) => t.seq!)), { group: 'order', maxInFlight: 1 });
      await until(() => again.length >= 40, 15_000, 'redelivery');
      await sub2.stop();
      assert.deepEqual(again, [...Array(40).keys()]);
      assert.equal((await committed(`tltest-${run}-order`, topic))[p], 4n);
      groups.push(`tltest-${run}-order`);
    } finally {
      await bus.close();
    }
  });

  test('lag counts ticks published and not yet acknowledged by the group', async () => {
    const topic = `tltest-lag-${run}`;
    const bus = await createKafkaBus(url(topic), { dataDir: tmpdir(), logger: silentLogger() });
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const sub = await bus.subscribe(topic, () => gate, { group: 'lag' });
      await bus.publish(topic, ticksOf(800, ['AAPL', 'MSFT', 'GOOG', 'AMZN']));
      await until(() => bus.lag(topic) >= 700, 10_000, 'lag to show the held batches');
      release();
      await until(() => bus.lag(topic) === 0, 10_000, 'lag back to 0');
      await sub.stop();
      groups.push(`tltest-${run}-lag`);
    } finally {
      await bus.close();
    }
  });

  test('members of one group name consuming different topics each get all of their topic', async () => {
    const [tx, ty] = [`tltest-gx-${run}`, `tltest-gy-${run}`];
    const a = await createKafkaBus(url(tx), { dataDir: tmpdir(), logger: silentLogger() });
    const b = await createKafkaBus(url(ty), { dataDir: tmpdir(), logger: silentLogger() });
    try {
      const gotX = new Set<number>();
      const gotY = new Set<number>();
      const sa = await a.subscribe(tx, async (bt) => void bt.forEach((t) => gotX.add(t.seq!)), { group: 'samegroup' });
      const sb = await b.subscribe(ty, async (bt) => void bt.forEach((t) => gotY.add(t.seq!)), { group: 'samegroup' });
      const symbols = Array.from({ length: 16 }, (_, i) => `S${i}`);
      await a.publish(tx, ticksOf(400, symbols));
      await b.publish(ty, ticksOf(400, symbols));
      await until(() => gotX.size === 400 && gotY.size === 400, 20_000, `both topics fully consumed (x=${gotX.size}, y=${gotY.size})`);
      await sa.stop();
      await sb.stop();
      groups.push(`tltest-${run}-samegroup`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('after close(): publish and subscribe fail with TL_ERR_CLOSED, close is idempotent', async () => {
    const bus = await createKafkaBus(url(`tltest-closed-${run}`), { dataDir: tmpdir(), logger: silentLogger() });
    await bus.close();
    await bus.close();
    await assert.rejects(() => bus.publish(`tltest-closed-${run}`, ticksOf(1, ['A'])), { code: 'TL_ERR_CLOSED' });
    await assert.rejects(() => bus.subscribe(`tltest-closed-${run}`, async () => {}, { group: 'x' }), { code: 'TL_ERR_CLOSED' });
  });

  test('cleanup', async () => {
    await deleteTopics(base!, topics, groups);
  });
});

/** Runs deploy/kafka/kafka.sh without blocking the event loop (the clients must keep running meanwhile). */
function script(cmd: 'stop' | 'start'): Promise<void> {
  const path = fileURLToPath(new URL('../../../deploy/kafka/kafka.sh', import.meta.url));
  const port = new URL(base!).port || '9092';
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path, cmd], { env: { ...process.env, KAFKA_PORT: port }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kafka.sh ${cmd} exited ${code}: ${err.slice(-2000)}`))));
  });
}

function managedBroker(): false | string {
  const skip = skipUnless('KAFKA');
  if (skip) return skip;
  try {
    kafkaScript(base!, 'status');
    return false;
  } catch {
    return `the broker at ${base} is not the one deploy/kafka/kafka.sh runs: cannot restart it`;
  }
}

describe('kafka bus: broker outage', { skip: managedBroker() }, () => {
  test('the broker stops and restarts mid-stream: publishes wait or fail loudly, nothing acknowledged is lost', { timeout: 150_000 }, async () => {
    const run = randomBytes(4).toString('hex');
    const topic = `tltest-outage-${run}`;
    const params = `${PARAMS}&groupPrefix=tltest-${run}-&publishTimeoutMs=60000&connectTimeoutMs=1000`;
    const metrics = new Metrics({ defaultMetrics: false });
    // TICKLINE_TEST_LOG=info shows what the adapter does through the outage.
    const logger = process.env.TICKLINE_TEST_LOG ? createLogger(process.env.TICKLINE_TEST_LOG) : silentLogger();
    const ctx = { dataDir: tmpdir(), logger, metrics };
    const bus = await createKafkaBus(new URL(`${base}?${params}`), ctx);
    const impatient = await createKafkaBus(new URL(`${base}?${PARAMS}&publishTimeoutMs=1500&connectTimeoutMs=500`), { ...ctx, logger: silentLogger(), metrics: undefined });
    const received = new Set<number>();
    const acked: number[] = [];
    let failed = 0;
    let publishing = true;
    try {
      const sub = await bus.subscribe(topic, async (b) => void b.forEach((t) => received.add(t.seq!)), { group: 'outage' });
      await impatient.publish(topic, ticksOf(1, ['AAPL'], 1_000_000)); // the topic exists before the outage
      let next = 0;
      const publisher = (async () => {
        while (publishing) {
          const batch = ticksOf(100, ['AAPL', 'MSFT', 'GOOG', 'BTC-USD'], next);
          next += 100;
          try {
            await bus.publish(topic, batch);
            acked.push(...batch.map((t) => t.seq!));
          } catch {
            failed++;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await until(() => received.size >= 500, 15_000, 'traffic before the outage');

      await script('stop');
      const t0 = Date.now();
      await assert.rejects(() => impatient.publish(topic, ticksOf(10, ['AAPL'], 2_000_000)), { code: 'TL_ERR_UNAVAILABLE' });
      assert.ok(Date.now() - t0 < 10_000, `publish gave up after ${Date.now() - t0} ms`);
      const down = await bus.health();
      assert.equal(down.ok, false);
      await script('start');

      await until(async () => (await bus.health()).ok, 60_000, 'health ok after the restart');
      const after = acked.length;
      await until(() => acked.length >= after + 500, 60_000, 'publishes succeeding after the restart');
      publishing = false;
      await publisher;
      await until(() => acked.every((s) => received.has(s)), 60_000, 'every acknowledged tick delivered');
      await sub.stop();
      const lost = acked.filter((s) => !received.has(s));
      assert.deepEqual(lost, [], 'acknowledged ticks lost');
      assert.equal(failed, 0, 'with a 60 s publish timeout no publish fails over a short restart');
      const reconnects = (await metrics.reconnects.get()).values.find((v) => v.labels.dependency === 'bus')?.value ?? 0;
      assert.ok(reconnects >= 1, `reconnects counted: ${reconnects}`);
    } finally {
      publishing = false;
      await script('start').catch(() => undefined);
      await bus.close();
      await impatient.close();
      await deleteTopics(base!, [topic], [`tltest-${run}-outage`]);
    }
  });

  async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});
