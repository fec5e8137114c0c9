import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { after, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createLogger, silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Tick } from '../../core/tick.ts';
import { tick } from '../../../test/fixtures/ticks.ts';
import { serviceUrl, skipUnless } from '../../../test/support/services.ts';
import { streamNameFor } from './nats-config.ts';
import { createNatsBus } from './nats.ts';

const base = serviceUrl('NATS');

/**
 * A TCP proxy in front of the shared server: cutting it is an outage for our client only (the server
 * itself cannot be restarted from a test, other suites use it).
 */
class Proxy {
  port = 0;
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  readonly #target: { host: string; port: number };

  constructor(target: URL) {
    this.#target = { host: target.hostname, port: Number(target.port || 4222) };
  }

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#target.port, this.#target.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  down(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function ordered(got: Tick[]): void {
  const last = new Map<string, number>();
  for (const t of got) {
    assert.ok((last.get(t.symbol) ?? -1) < t.seq!, `order of ${t.symbol}: ${t.seq} after ${last.get(t.symbol)}`);
    last.set(t.symbol, t.seq!);
  }
}

describe('nats bus: outages and crashes', { skip: skipUnless('NATS') }, () => {
  const run = randomBytes(4).toString('hex');
  const topics: string[] = [];
  const buckets: string[] = [];
  const ctx = (metrics?: Metrics) => ({ dataDir: tmpdir(), logger: process.env.DBG ? createLogger('debug') : silentLogger(), ...(metrics ? { metrics } : {}) });
  const ticks = (from: number, n: number) => Array.from({ length: n }, (_, i) => tick({ symbol: `S${(from + i) % 5}`, seq: from + i, at: from + i }));

  after(async () => {
    const nc = await connect({ servers: new URL(base!).host });
    const jsm = await jetstreamManager(nc);
    for (const t of topics) await jsm.streams.delete(streamNameFor(t, {})).catch(() => undefined);
    for (const b of buckets) await jsm.streams.delete(`KV_${b}`).catch(() => undefined);
    await nc.close();
  });

  test('connection lost and back: health follows, publishes wait, consumers resume, reconnect counted', async () => {
    const topic = `tltest.out${run}.a`;
    topics.push(topic);
    const proxy = new Proxy(new URL(base!));
    await proxy.up();
    const metrics = new Metrics({ defaultMetrics: false });
    const bus = await createNatsBus(new URL(`nats://127.0.0.1:${proxy.port}?maxAge=1h&publishTimeout=20s`), ctx(metrics));
    try {
      const got: Tick[] = [];
      const sub = await bus.subscribe(topic, async (b) => void got.push(...b), { group: 'g' });
      await bus.publish(topic, ticks(0, 100));
      await until(() => got.length >= 100);

      await proxy.down();
      let h = await bus.health();
      for (let i = 0; i < 100 && h.ok; i++) {
        await new Promise((r) => setTimeout(r, 20));
        h = await bus.health();
      }
      assert.equal(h.ok, false, 'health reports the outage');
      let published = false;
      const during = bus.publish(topic, ticks(100, 100)).then(() => (published = true));
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(published, false, 'the publish waits for the connection');

      await proxy.up();
      await during;
      await until(() => got.length >= 200, 20_000);
      assert.equal((await bus.health()).ok, true);
      await bus.publish(topic, ticks(200, 100));
      await until(() => got.length >= 300);
      await sub.stop();
      assert.equal(new Set(got.map((t) => t.seq)).size, 300);
      const reconnects = (await metrics.reconnects.get()).values.find((v) => v.labels.dependency === 'nats');
      assert.ok((reconnects?.value ?? 0) >= 1);
    } finally {
      await bus.close();
      await proxy.down();
    }
  });

  test('a publish that outlasts publishTimeout during an outage rejects TL_ERR_UNAVAILABLE', async () => {
    const topic = `tltest.out${run}.b`;
    topics.push(topic);
    const proxy = new Proxy(new URL(base!));
    await proxy.up();
    const bus = await createNatsBus(new URL(`nats://127.0.0.1:${proxy.port}?maxAge=1h&publishTimeout=800ms`), ctx());
    try {
      await bus.publish(topic, ticks(0, 10));
      await proxy.down();
      const t0 = Date.now();
      await assert.rejects(() => bus.publish(topic, ticks(10, 10)), { code: 'TL_ERR_UNAVAILABLE' });
      assert.ok(Date.now() - t0 < 5_000);
      const closing = Date.now();
      await bus.close();
      assert.ok(Date.now() - closing < 10_000, 'close during an outage is bounded');
    } finally {
      await bus.close();
      await proxy.down();
    }
  });

  test('a member killed with batches in hand: another member gets everything, in order, after the lease TTL', async () => {
    const topic = `tltest.out${run}.c`;
    const bucket = `tl_test_${run}`;
    topics.push(topic);
    buckets.push(bucket);
    const url = `${base}?maxAge=1h&leaseBucket=${bucket}&leaseTtl=2s&ackWait=60s`;
    const natsTs = new URL('./nats.ts', import.meta.url).href;
    const logTs = new URL('../../core/log.ts', import.meta.url).href;
    // The victim holds every batch it gets forever, then dies without a word (SIGKILL).
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      const { createNatsBus } = await import(${JSON.stringify(natsTs)});
      const { silentLogger } = await import(${JSON.stringify(logTs)});
      const bus = await createNatsBus(new URL(${JSON.stringify(url)}), { dataDir: '/tmp', logger: silentLogger() });
      await bus.subscribe(${JSON.stringify(topic)}, () => { process.stdout.write('got\\n'); return new Promise(() => {}); }, { group: 'crash' });
      process.stdout.write('ready\\n');
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const bus = await createNatsBus(new URL(url), ctx());
    try {
      await until(() => out.includes('ready'), 15_000);
      const sent = ticks(0, 500);
      for (let i = 0; i < sent.length; i += 50) await bus.publish(topic, sent.slice(i, i + 50));
      await until(() => out.includes('got'));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const got: Tick[] = [];
      const t0 = Date.now();
      const sub = await bus.subscribe(topic, async (b) => void got.push(...b), { group: 'crash' });
      await until(() => got.length >= sent.length, 20_000);
      const took = Date.now() - t0;
      await sub.stop();
      assert.equal(got.length, sent.length, 'nothing lost, nothing twice');
      ordered(got);
      assert.ok(took < 12_000, `took over in ${took} ms`);
    } finally {
      child.kill('SIGKILL');
      await bus.close();
    }
  });
});
