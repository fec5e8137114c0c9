import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { tick } from '../../../test/fixtures/ticks.ts';
import { serviceUrl, skipUnless } from '../../../test/support/services.ts';
import { captureContext, clientNamed, reconnectCount, testSpace, until, type TestSpace } from '../../../test/support/redis-testkit.ts';
import { createRedisCache, type RedisCache } from './redis.ts';

/**
 * Outages without touching the shared Redis server: CLIENT KILL of our own connections, and a TCP
 * proxy in front of Redis that can refuse connections (server down) or swallow bytes (network partition).
 */
class Proxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  #blackhole = false;
  port = 0;

  constructor(target: URL) {
    this.#target = { host: target.hostname, port: Number(target.port || 6379) };
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => this.#sockets.delete(s));
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('data', (d) => {
        if (!this.#blackhole) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!this.#blackhole) client.write(d);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Redis "goes down": open connections drop and new ones are refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }

  /** Bytes vanish in both directions while connections stay open. */
  partition(on: boolean): void {
    this.#blackhole = on;
  }

  url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
}

const base = serviceUrl('REDIS');

describe('redis cache outages', { skip: skipUnless('REDIS') }, () => {
  const spaces: TestSpace[] = [];
  const caches: RedisCache[] = [];
  const proxies: Proxy[] = [];
  const space = (): TestSpace => {
    const s = testSpace(base!);
    spaces.push(s);
    return s;
  };
  after(async () => {
    for (const c of caches) await c.close();
    for (const p of proxies) await p.cut();
    for (const s of spaces) await s.cleanup();
  });

  test('CLIENT KILL of both connections: the next put succeeds and watchers still hear updates', async () => {
    const s = space();
    const ctx = captureContext();
    const cache = (await createRedisCache(s.url(), ctx)) as RedisCache;
    caches.push(cache);
    const heard: number[] = [];
    await cache.watch((ticks) => heard.push(...ticks.map((t) => t.price)));
    const raw = s.raw();
    await cache.put([tick({ symbol: 'K', at: 1, price: 1 })]);
    await until(() => heard.includes(1), 5_000, 'the first update');

    for (const name of [s.name, `${s.name}:sub`]) {
      const c = await clientNamed(raw, name);
      assert.ok(c, `connection ${name} is listed`);
      await raw.client('KILL', 'ID', c.id!);
    }
    // Issued at once: it waits in the offline queue for the reconnect instead of failing.
    await cache.put([tick({ symbol: 'K', at: 2, price: 2 })]);
    assert.equal((await cache.get('K'))!.price, 2);
    await until(async () => (await clientNamed(raw, `${s.name}:sub`))?.sub === '1', 5_000, 'the subscriber to resubscribe');
    await cache.put([tick({ symbol: 'K', at: 3, price: 3 })]);
    await until(() => heard.includes(3), 5_000, 'an update after the kill');
    assert.equal(await reconnectCount(ctx.metrics), 2);
    assert.ok(ctx.lines.some((l) => l.level === 40 && /reconnecting in \d+ ms/.test(String(l.msg))));
    assert.deepEqual(await cache.health(), { ok: true, detail: 'connected' });
  });

  test('Redis down: put fails with TL_ERR_UNAVAILABLE within the timeout, health says so, all recovers after', async () => {
    const s = space();
    const proxy = new Proxy(new URL(base!));
    proxies.push(proxy);
    await proxy.start();
    const ctx = captureContext();
    const cache = (await createRedisCache(s.url({ timeout: '500' }, proxy.url()), ctx)) as RedisCache;
    caches.push(cache);
    const heard: number[] = [];
    await cache.watch((ticks) => heard.push(...ticks.map((t) => t.price)));
    await cache.put([tick({ symbol: 'D', at: 1, price: 1 })]);

    await proxy.cut();
    await until(async () => !(await cache.health()).ok, 2_000, 'health to turn bad');
    const health = await cache.health();
    assert.match(health.detail!, /connection (reconnecting|connecting|close)/);
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      await assert.rejects(cache.put([tick({ symbol: 'D', at: 10 + i, price: 10 + i })]), { code: 'TL_ERR_UNAVAILABLE' });
      await assert.rejects(cache.get('D'), { code: 'TL_ERR_UNAVAILABLE' });
      assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
    }

    await proxy.start();
    await until(async () => (await cache.health()).ok, 10_000, 'health to recover');
    await cache.put([tick({ symbol: 'D', at: 100, price: 100 })]);
    assert.equal((await cache.get('D'))!.price, 100);
    await until(() => heard.includes(100), 5_000, 'watchers to hear updates after the outage');
    assert.ok((await reconnectCount(ctx.metrics)) >= 2);
  });

  test('network partition (connection open, no answers): put fails within the timeout, then recovers', async () => {
    const s = space();
    const proxy = new Proxy(new URL(base!));
    proxies.push(proxy);
    await proxy.start();
    const ctx = captureContext();
    const cache = (await createRedisCache(s.url({ timeout: '400' }, proxy.url()), ctx)) as RedisCache;
    caches.push(cache);
    const heard: number[] = [];
    await cache.watch((ticks) => heard.push(...ticks.map((t) => t.price)));

    proxy.partition(true);
    const started = Date.now();
    await assert.rejects(cache.put([tick({ symbol: 'P', at: 1, price: 1 })]), { code: 'TL_ERR_UNAVAILABLE' });
    assert.ok(Date.now() - started < 1_200, `took ${Date.now() - started} ms`);
    assert.equal((await cache.health()).ok, false);
    // The idle subscriber finds out through its heartbeat PING.
    await until(() => ctx.lines.some((l) => l.role === 'subscriber' && l.level === 40), 5_000, 'the subscriber to notice');

    proxy.partition(false);
    // The dead connection was torn down by socketTimeout and replaced; the late put may also land.
    await until(async () => (await cache.health()).ok, 10_000, 'health to recover');
    await cache.put([tick({ symbol: 'P', at: 2, price: 2 })]);
    assert.equal((await cache.get('P'))!.price, 2);
    await until(() => heard.includes(2), 5_000, 'watchers to hear updates after the partition');
  });
});
