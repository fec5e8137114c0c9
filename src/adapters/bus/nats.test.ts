import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { after, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Tick } from '../../core/tick.ts';
import type { Bus } from '../../ports/bus.ts';
import { tick } from '../../../test/fixtures/ticks.ts';
import { serviceUrl, skipUnless } from '../../../test/support/services.ts';
import { decodeTicks } from './codec.ts';
import { checkTopic, nameToken, parseDuration, parseNatsUrl, streamNameFor } from './nats-config.ts';
import { encodeChunks } from './nats-publish.ts';
import { createNatsBus } from './nats.ts';
import { murmur2, partitionOf } from './partition.ts';
import { parseAdapterUrl } from '../registry.ts';

const code = (c: string) => ({ code: c });

describe('partitionOf', () => {
  test('is Kafka murmur2 (the Java client test vectors)', () => {
    const enc = new TextEncoder();
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of cases) assert.equal(murmur2(enc.encode(s)), h, s);
  });

  test('is stable, in range, and spreads symbols', () => {
    assert.equal(partitionOf('AAPL', 16), partitionOf('AAPL', 16));
    assert.equal(partitionOf('AAPL', 1), 0);
    assert.equal(partitionOf('ÄPFEL', 7), (murmur2(new TextEncoder().encode('ÄPFEL')) & 0x7fffffff) % 7);
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`SYM${i}`, 16)));
    assert.equal(used.size, 16);
    for (const p of used) assert.ok(p >= 0 && p < 16);
    assert.throws(() => partitionOf('X', 0), RangeError);
  });
});

describe('nats bus: URL and names', () => {
  test('defaults', () => {
    const c = parseNatsUrl(new URL('nats://127.0.0.1:4222'));
    assert.deepEqual(c.servers, ['127.0.0.1:4222']);
    assert.equal(c.partitions, 16);
    assert.equal(c.maxAgeMs, 7 * 86_400_000);
    assert.equal(c.replicas, 1);
    assert.equal(c.stream, undefined);
    assert.equal(c.leaseBucket, 'tickline_leases');
    assert.equal(c.leaseTtlMs, 10_000);
  });

  test('several hosts, credentials, parameters; the password never shows', () => {
    const c = parseNatsUrl(parseAdapterUrl('nats://u:s3cret@a:4222,b:4223?stream=TL&partitions=8&maxAge=36h&replicas=3', 'bus'));
    assert.deepEqual(c.servers, ['a:4222', 'b:4223']);
    assert.equal(c.user, 'u');
    assert.equal(c.pass, 's3cret');
    assert.equal(c.stream, 'TL');
    assert.equal(c.partitions, 8);
    assert.equal(c.maxAgeMs, 36 * 3_600_000);
    assert.equal(c.replicas, 3);
    assert.ok(!c.display.includes('s3cret'));
    assert.equal(parseNatsUrl(new URL('nats://tok@h:1')).token, 'tok');
  });

  test('bad values are named', () => {
    assert.throws(() => parseNatsUrl(new URL('nats://h?partitions=0')), { code: 'TL_ERR_CONFIG', message: /partitions="0"/ });
    assert.throws(() => parseNatsUrl(new URL('nats://h?maxAge=soon')), { code: 'TL_ERR_CONFIG', message: /maxAge="soon"/ });
    assert.throws(() => parseNatsUrl(new URL('nats://h?stream=a.b')), code('TL_ERR_CONFIG'));
    assert.throws(() => parseNatsUrl(new URL('nats://h?partitons=4')), { code: 'TL_ERR_CONFIG', message: /unknown parameter "partitons"/ });
    assert.throws(() => parseNatsUrl(new URL('nats://h?storage=tape')), code('TL_ERR_CONFIG'));
    assert.equal(parseDuration('x', '1500ms'), 1500);
    assert.equal(parseDuration('x', '2m'), 120_000);
    assert.equal(parseDuration('x', '250'), 250);
  });

  test('topics, stream names and name tokens', () => {
    checkTopic('tickline.ticks');
    assert.throws(() => checkTopic('a.*'), code('TL_ERR_CONFIG'));
    assert.throws(() => checkTopic('a..b'), code('TL_ERR_CONFIG'));
    assert.throws(() => checkTopic('a b'), code('TL_ERR_CONFIG'));
    assert.equal(streamNameFor('tickline.ticks', {}), 'TICKLINE_TICKLINE_TICKS');
    assert.equal(streamNameFor('tickline.ticks', { stream: 'ALL' }), 'ALL');
    assert.equal(nameToken('tickline-process'), 'tickline-process');
    assert.notEqual(nameToken('a.b'), nameToken('a_b'));
    assert.match(nameToken('a.b'), /^[A-Za-z0-9_-]+$/);
  });

  test('a partition too big for one message is split in order under the limit', () => {
    const ticks = Array.from({ length: 5_000 }, (_, i) => tick({ seq: i, at: i }));
    const chunks = encodeChunks(ticks, 64 * 1024);
    assert.ok(chunks.length >= 5, `${chunks.length} chunks`);
    for (const c of chunks) assert.ok(c.byteLength <= 64 * 1024);
    assert.deepEqual(chunks.flatMap((c) => decodeTicks(new Uint8Array(c))).map((t) => t.seq), ticks.map((t) => t.seq));
  });
});

const base = serviceUrl('NATS');

describe('nats bus: against a server', { skip: skipUnless('NATS') }, () => {
  const run = randomBytes(4).toString('hex');
  let n = 0;
  const topics: string[] = [];
  const ctx = () => ({ dataDir: tmpdir(), logger: silentLogger(), batchMax: 8192 });
  const newTopic = () => {
    const t = `tltest.unit${run}.t${++n}`;
    topics.push(t);
    return t;
  };
  const url = (q = '') => new URL(`${base}?maxAge=1h${q}`);
  let admin: NatsConnection;

  after(async () => {
    admin ??= await connect({ servers: new URL(base!).host });
    const jsm = await jetstreamManager(admin);
    for (const t of topics) await jsm.streams.delete(streamNameFor(t, {})).catch(() => undefined);
    await admin.close();
  });

  async function until(cond: () => boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  const perSymbolOrdered = (got: Tick[]) => {
    const last = new Map<string, number>();
    for (const t of got) {
      assert.ok((last.get(t.symbol) ?? -1) < t.seq!, `order of ${t.symbol}`);
      last.set(t.symbol, t.seq!);
    }
  };

  test('health, idempotent close, use after close', async () => {
    const bus = await createNatsBus(url(), ctx());
    assert.equal(bus.kind, 'nats');
    const h = await bus.health();
    assert.equal(h.ok, true, h.detail);
    await bus.close();
    await bus.close();
    assert.deepEqual(await bus.health(), { ok: false, detail: 'closed' });
    await assert.rejects(() => bus.publish(newTopic(), [tick()]), code('TL_ERR_CLOSED'));
    await assert.rejects(() => bus.subscribe(newTopic(), async () => {}, { group: 'g' }), code('TL_ERR_CLOSED'));
  });

  test('an unreachable server fails startup with TL_ERR_UNAVAILABLE once connectTimeout is spent', async () => {
    const t0 = Date.now();
    await assert.rejects(() => createNatsBus(new URL('nats://127.0.0.1:1?connectTimeout=300ms'), ctx()), code('TL_ERR_UNAVAILABLE'));
    assert.ok(Date.now() - t0 < 5_000);
  });

  test('a topic keeps its partition count: another count is refused', async () => {
    const topic = newTopic();
    const a = await createNatsBus(url('&partitions=4'), ctx());
    const b = await createNatsBus(url('&partitions=8'), ctx());
    try {
      await a.publish(topic, [tick()]);
      await assert.rejects(() => b.publish(topic, [tick()]), { code: 'TL_ERR_CONFIG', message: /partitions=4/ });
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('stream= puts several topics in one stream; each topic is consumed on its own', async () => {
    const shared = `TLTEST_SHARED_${run}`;
    const [t1, t2] = [newTopic(), newTopic()];
    const bus = await createNatsBus(url(`&stream=${shared}`), ctx());
    try {
      const got1: Tick[] = [];
      const got2: Tick[] = [];
      const s1 = await bus.subscribe(t1, async (b) => void got1.push(...b), { group: 'g' });
      const s2 = await bus.subscribe(t2, async (b) => void got2.push(...b), { group: 'g' });
      await bus.publish(t1, [tick({ seq: 1 }), tick({ symbol: 'MSFT', seq: 2 })]);
      await bus.publish(t2, [tick({ seq: 3 })]);
      await until(() => got1.length >= 2 && got2.length >= 1);
      await new Promise((r) => setTimeout(r, 100));
      await s1.stop();
      await s2.stop();
      assert.deepEqual(got1.map((t) => t.seq).sort(), [1, 2]);
      assert.deepEqual(got2.map((t) => t.seq), [3]);
      admin ??= await connect({ servers: new URL(base!).host });
      const si = await (await jetstreamManager(admin)).streams.info(shared);
      assert.deepEqual(si.config.subjects.sort(), [`${t1}.*`, `${t2}.*`].sort());
    } finally {
      await bus.close();
      admin ??= await connect({ servers: new URL(base!).host });
      await (await jetstreamManager(admin)).streams.delete(shared).catch(() => undefined);
    }
  });

  test('durable: a group created after the publishes gets everything, in per-symbol order', async () => {
    const topic = newTopic();
    const pub = await createNatsBus(url(), ctx());
    const sent = Array.from({ length: 3_000 }, (_, i) => tick({ symbol: `S${i % 13}`, seq: i, at: i }));
    for (let i = 0; i < sent.length; i += 250) await pub.publish(topic, sent.slice(i, i + 250));
    await pub.close();
    const sub = await createNatsBus(url(), ctx());
    try {
      const got: Tick[] = [];
      const s = await sub.subscribe(topic, async (b) => void got.push(...b), { group: 'late' });
      await until(() => got.length >= sent.length);
      await s.stop();
      assert.equal(got.length, sent.length);
      perSymbolOrdered(got);
    } finally {
      await sub.close();
    }
  });

  test('a batch over the max payload is split and arrives whole and in order', async () => {
    const topic = newTopic();
    const bus = await createNatsBus(url(), ctx());
    try {
      const got: Tick[] = [];
      const s = await bus.subscribe(topic, async (b) => void got.push(...b), { group: 'big' });
      const sent = Array.from({ length: 40_000 }, (_, i) => tick({ symbol: 'BIG', seq: i, at: i }));
      await bus.publish(topic, sent);
      await until(() => got.length >= sent.length);
      await s.stop();
      assert.deepEqual(got.map((t) => t.seq), sent.map((t) => t.seq));
      admin ??= await connect({ servers: new URL(base!).host });
      const si = await (await jetstreamManager(admin)).streams.info(streamNameFor(topic, {}));
      assert.ok(si.state.messages >= 3, `${si.state.messages} messages for ~2.5 MB`);
    } finally {
      await bus.close();
    }
  });

  test('an undecodable message is counted, terminated, and the partition moves on', async () => {
    const topic = newTopic();
    const metrics = new Metrics({ defaultMetrics: false });
    const bus = await createNatsBus(url(), { ...ctx(), metrics });
    try {
      const p = partitionOf('AAPL', 16);
      admin ??= await connect({ servers: new URL(base!).host });
      await bus.publish(topic, [tick({ seq: 0 })]); // creates the stream
      await jetstream(admin).publish(`${topic}.${p}`, new TextEncoder().encode('{"not":"ticks"}'));
      await bus.publish(topic, [tick({ seq: 1 }), tick({ seq: 2 })]);
      const got: number[] = [];
      const s = await bus.subscribe(topic, async (b) => void got.push(...b.map((t) => t.seq!)), { group: 'bad' });
      await until(() => got.length >= 3);
      // Terminated for good: nothing of the partition stays unacknowledged (it would stall drains and
      // come back after the ack wait).
      const jsm = await jetstreamManager(admin);
      const durable = `${nameToken(topic)}_${nameToken('bad')}_${p}`;
      let ci = await jsm.consumers.info(streamNameFor(topic, {}), durable);
      for (let i = 0; i < 100 && ci.num_ack_pending > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        ci = await jsm.consumers.info(streamNameFor(topic, {}), durable);
      }
      assert.equal(ci.num_ack_pending, 0);
      await s.stop();
      assert.deepEqual(got, [0, 1, 2]);
      const bad = (await metrics.busBadMessages.get()).values.find((v) => v.labels.topic === topic);
      assert.equal(bad?.value, 1);
    } finally {
      await bus.close();
    }
  });

  test('lag counts what is published and not yet acknowledged, then returns to 0', async () => {
    const topic = newTopic();
    const bus = await createNatsBus(url(), ctx());
    try {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let calls = 0;
      const s = await bus.subscribe(topic, async () => {
        calls++;
        await gate;
      }, { group: 'lag' });
      assert.equal(bus.lag(topic), 0);
      await bus.publish(topic, Array.from({ length: 500 }, (_, i) => tick({ seq: i, at: i })));
      await until(() => calls > 0);
      assert.equal(bus.lag(topic), 500);
      open();
      await until(() => bus.lag(topic) === 0);
      await s.stop();
    } finally {
      await bus.close();
    }
  });

  test('consumers across connections never hold one partition at once; stop hands partitions over', async () => {
    const topic = newTopic();
    const buses: Bus[] = await Promise.all([1, 2, 3].map(() => createNatsBus(url(), ctx())));
    try {
      const got: Tick[][] = [[], [], []];
      // Which consumer is inside a handler for each partition right now: never two at once.
      const inside = new Map<number, Map<number, number>>();
      let overlaps = 0;
      const handler = (k: number) => async (x: Tick[]) => {
        const parts = [...new Set(x.map((t) => partitionOf(t.symbol, 16)))];
        for (const p of parts) {
          const m = inside.get(p) ?? new Map<number, number>();
          inside.set(p, m);
          if ([...m].some(([other, c]) => other !== k && c > 0)) overlaps++;
          m.set(k, (m.get(k) ?? 0) + 1);
        }
        await new Promise((r) => setTimeout(r, 1));
        got[k]!.push(...x);
        for (const p of parts) inside.get(p)!.set(k, inside.get(p)!.get(k)! - 1);
      };
      const subs = await Promise.all(buses.map((b, k) => b.subscribe(topic, handler(k), { group: 'trio' })));
      await new Promise((r) => setTimeout(r, 500));
      const symbols = Array.from({ length: 40 }, (_, i) => `Q${i}`);
      const sent = Array.from({ length: 4_000 }, (_, i) => tick({ symbol: symbols[i % 40]!, seq: i, at: i }));
      for (let i = 0; i < 2_000; i += 100) await buses[0]!.publish(topic, sent.slice(i, i + 100));
      await subs[1]!.stop(); // its partitions move to the other two
      for (let i = 2_000; i < sent.length; i += 100) await buses[0]!.publish(topic, sent.slice(i, i + 100));
      const all = () => new Set(got.flat().map((t) => t.seq)).size;
      await until(() => all() >= sent.length, 30_000);
      await subs[0]!.stop();
      await subs[2]!.stop();
      assert.equal(all(), sent.length);
      assert.equal(overlaps, 0);
      for (const g of got) perSymbolOrdered(g);
      assert.ok(got.every((g) => g.length > 0), got.map((g) => g.length).join('/'));
    } finally {
      await Promise.all(buses.map((b) => b.close()));
    }
  });
});
