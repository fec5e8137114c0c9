import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { tick } from '../../../test/fixtures/ticks.ts';
import { serviceUrl, skipUnless } from '../../../test/support/services.ts';
import { silentLogger } from '../../core/log.ts';
import { parseIsoMicros } from '../../core/time.ts';
import { decodeMessage, decodeQuote, decodeQuoteText, encodeQuote, newestPerSymbol, unstorable } from './redis-codec.ts';
import { parseRedisCacheUrl } from './redis-options.ts';
import { captureContext, clientNamed, testSpace, until, type TestSpace } from '../../../test/support/redis-testkit.ts';
import { createRedisCache, type RedisCache } from './redis.ts';

describe('redis cache URL', () => {
  test('defaults: no ttl, no prefix, the seed channel, db 0', () => {
    const c = parseRedisCacheUrl(new URL('redis://127.0.0.1:6379'));
    assert.deepEqual(
      { ttl: c.ttlSeconds, prefix: c.prefix, channel: c.channel, db: c.db, port: c.port, tls: c.tls, timeout: c.timeoutMs },
      { ttl: 0, prefix: '', channel: 'tickline:latest', db: 0, port: 6379, tls: false, timeout: 2000 },
    );
  });

  test('reads password, db, ttl, prefix, channel and TLS, and never shows the password', () => {
    const c = parseRedisCacheUrl(new URL('rediss://:s3cr%40t@cache.example:6380/3?ttl=300&prefix=a:&channel=q&timeout=500'));
    assert.equal(c.password, 's3cr@t');
    assert.deepEqual([c.host, c.port, c.db, c.ttlSeconds, c.prefix, c.channel, c.timeoutMs, c.tls], ['cache.example', 6380, 3, 300, 'a:', 'q', 500, true]);
    assert.ok(!c.display.includes('s3cr'), c.display);
  });

  test('refuses what it cannot honour, naming the value', () => {
    const bad = (u: string, re: RegExp) =>
      assert.throws(() => parseRedisCacheUrl(new URL(u)), (e: Error & { code?: string }) => e.code === 'TL_ERR_CONFIG' && re.test(e.message));
    bad('redis://h?ttl=-1', /ttl must be an integer.*"-1"/);
    bad('redis://h?ttl=5m', /ttl must be an integer.*"5m"/);
    bad('redis://h?tll=5', /unknown parameter "tll"/);
    bad('redis://h/x', /database number/);
    bad('redis://h?prefix=a*', /prefix must not contain/);
    bad('redis://h?hosts=a:1,b:2', /several hosts/);
    bad('redis://:pw@h?channel=', /channel must not be empty/);
    assert.throws(() => parseRedisCacheUrl(new URL('redis://:hunter2@h?nope=1')), (e: Error) => !e.message.includes('hunter2'));
  });
});

describe('redis cache codec', () => {
  const full = tick({ symbol: 'MSFT', at: 123_457, price: 2.5, bid: 2.4, ask: 2.6, seq: 9, recvTs: 1_704_205_800_123_999 });

  test('a quote round-trips every field, µs included, and is what seed clients expect', () => {
    const json = JSON.parse(encodeQuote(full)) as Record<string, unknown>;
    assert.equal(json.symbol, 'MSFT');
    assert.equal(json.price, 2.5);
    assert.equal(json.ts, '2024-01-02T14:30:00.123457Z');
    assert.equal(parseIsoMicros(json.ts as string), full.ts);
    assert.deepEqual(decodeQuoteText(encodeQuote(full)), full);
  });

  test('rejects quotes that are not Tickline quotes, saying why', () => {
    const q = JSON.parse(encodeQuote(full)) as Record<string, unknown>;
    assert.match(decodeQuote({ ...q, ts: 'yesterday' }) as string, /ts must be an ISO/);
    assert.match(decodeQuote({ ...q, price: '1' }) as string, /price must be a finite number/);
    assert.match(decodeQuote({ ...q, seq: 1.5 }) as string, /seq must be an integer/);
    assert.match(decodeQuote({ ...q, bid: undefined }) as string, /bid must be a number or null/);
    assert.match(decodeQuote([q]) as string, /JSON object/);
    assert.match(decodeQuoteText('{') as string, /not JSON/);
  });

  test('channel messages: bad elements are reported and skipped, good ones kept', () => {
    const good = encodeQuote(full);
    assert.deepEqual(decodeMessage(`[${good},{"symbol":"X"},7]`).ticks, [full]);
    assert.equal(decodeMessage(`[${good},{"symbol":"X"},7]`).problems.length, 2);
    assert.match(decodeMessage('nope').problems[0]!, /not JSON/);
    assert.match(decodeMessage(good).problems[0]!, /JSON array/);
  });

  test('newest per symbol by event time; of equal times the later one in the batch', () => {
    const a = tick({ symbol: 'A', at: 5, price: 1 });
    const b = tick({ symbol: 'A', at: 5, price: 2 });
    const c = tick({ symbol: 'B', at: 9, price: 3 });
    const d = tick({ symbol: 'B', at: 1, price: 4 });
    assert.deepEqual(newestPerSymbol([a, c, b, d]), [b, c]);
  });

  test('refuses ticks that would not read back identical', () => {
    assert.match(unstorable(tick({ ts: 1.5 }))!, /whole µs/);
    assert.match(unstorable(tick({ price: Number.NaN }))!, /price of AAPL must be finite/);
    assert.equal(unstorable(tick()), undefined);
  });
});

const base = serviceUrl('REDIS');

describe('redis cache against Redis', { skip: skipUnless('REDIS') }, () => {
  const spaces: TestSpace[] = [];
  const caches: RedisCache[] = [];
  const space = (): TestSpace => {
    const s = testSpace(base!);
    spaces.push(s);
    return s;
  };
  const open = async (url: URL, ctx = { dataDir: '.', logger: silentLogger() }): Promise<RedisCache> => {
    const c = (await createRedisCache(url, ctx)) as RedisCache;
    caches.push(c);
    return c;
  };
  after(async () => {
    for (const c of caches) await c.close();
    for (const s of spaces) await s.cleanup();
  });

  test('seed clients read last_price as a plain number and last_quote as JSON', async () => {
    const s = space();
    const cache = await open(s.url());
    await cache.put([tick({ symbol: 'AAPL', at: 1, price: 190.04 })]);
    const raw = s.raw();
    assert.equal(await raw.get(`${s.prefix}last_price:AAPL`), '190.04');
    const q = JSON.parse((await raw.get(`${s.prefix}last_quote:AAPL`))!) as Record<string, unknown>;
    assert.deepEqual([q.symbol, q.price, q.ts], ['AAPL', 190.04, '2024-01-02T14:30:00.000001Z']);
    assert.deepEqual(await raw.smembers(`${s.prefix}tickline:symbols`), ['AAPL']);
  });

  test('without a prefix the keys are exactly the seed names', async () => {
    const s = space();
    const url = s.url();
    url.searchParams.delete('prefix');
    const cache = await open(url);
    const sym = `SEED${s.id.toUpperCase()}`;
    const raw = s.raw();
    try {
      await cache.put([tick({ symbol: sym, price: 12 })]);
      assert.equal(await raw.get(`last_price:${sym}`), '12');
      assert.equal(JSON.parse((await raw.get(`last_quote:${sym}`))!).symbol, sym);
    } finally {
      await raw.del(`last_price:${sym}`, `last_quote:${sym}`);
      await raw.srem('tickline:symbols', sym);
    }
  });

  test('ttl applies to every key it writes; without ttl keys persist', async () => {
    const s = space();
    const withTtl = await open(s.url({ ttl: '300' }));
    await withTtl.put([tick({ symbol: 'T1' })]);
    const raw = s.raw();
    for (const key of ['last_price:T1', 'last_quote:T1', 'tickline:symbols']) {
      const ttl = await raw.ttl(`${s.prefix}${key}`);
      assert.ok(ttl > 290 && ttl <= 300, `${key} ttl ${ttl}`);
    }
    const s2 = space();
    const noTtl = await open(s2.url());
    await noTtl.put([tick({ symbol: 'T2' })]);
    assert.equal(await raw.ttl(`${s2.prefix}last_quote:T2`), -1);
  });

  test('a put is one command on the wire, whatever the batch size, and so is all()', async () => {
    const s = space();
    const cache = await open(s.url());
    const raw = s.raw();
    const me = await clientNamed(raw, s.name);
    assert.ok(me, 'the cache connection carries its name');
    const monitor = await s.raw().monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // The heartbeat PING may fall in the window; it is not part of a put.
      if (source === me.addr && args[0]!.toLowerCase() !== 'ping') seen.push(args[0]!.toLowerCase());
    });
    const batch = Array.from({ length: 8192 }, (_, i) => tick({ symbol: `S${i % 8}`, at: i, price: i }));
    await cache.put(batch);
    await cache.put(batch.slice(0, 4096));
    await cache.put([tick({ symbol: 'S0', at: 1_000_000 })]);
    await cache.all();
    await cache.get('S0'); // marks the end: once MONITOR shows it, it has shown everything before it
    await until(() => seen.includes('get'), 5_000, 'MONITOR to show the GET');
    monitor.disconnect();
    const calls = seen.slice(0, seen.indexOf('get'));
    assert.equal(calls.length, 4, `commands seen: ${calls.join(', ')}`);
    assert.ok(calls.slice(0, 3).every((c) => c === 'evalsha' || c === 'eval'), calls.join(', '));
    assert.equal(calls[3], 'sort', 'all() is one SORT … GET');
    assert.equal((await cache.get('S3'))!.price, 8187);
  });

  test('orders by event time to the µs; an equal event time replaces, as in the memory cache', async () => {
    const s = space();
    const cache = await open(s.url());
    await cache.put([tick({ symbol: 'U', at: 1_000_001, price: 1 })]);
    await cache.put([tick({ symbol: 'U', at: 1_000_000, price: 2 })]); // 1 µs late
    await cache.put([tick({ symbol: 'U', at: 999_999, price: 3 })]); // late, across a second boundary
    assert.equal((await cache.get('U'))!.price, 1);
    await cache.put([tick({ symbol: 'U', at: 1_000_001, price: 4 })]);
    assert.equal((await cache.get('U'))!.price, 4);
    await cache.put([tick({ symbol: 'U', at: 2_000_000, price: 5 })]);
    assert.equal((await cache.get('U'))!.price, 5);
  });

  test('a batch of 10,000 symbols is written in several script calls, and all() returns them all', async () => {
    const s = space();
    const cache = await open(s.url());
    await cache.put(Array.from({ length: 10_000 }, (_, i) => tick({ symbol: `N${String(i).padStart(5, '0')}`, price: i })));
    const all = await cache.all();
    assert.equal(all.length, 10_000);
    assert.deepEqual([all[0]!.symbol, all[9_999]!.price], ['N00000', 9_999]);
  });

  test('all() returns live symbols in order and drops symbols whose quote expired', async () => {
    const s = space();
    const cache = await open(s.url());
    await cache.put(['C', 'A', 'B'].map((symbol) => tick({ symbol })));
    const raw = s.raw();
    await raw.del(`${s.prefix}last_quote:B`);
    assert.deepEqual((await cache.all()).map((t) => t.symbol), ['A', 'C']);
    await until(async () => !(await raw.sismember(`${s.prefix}tickline:symbols`, 'B')), 2_000, 'B to be pruned');
  });

  test('concurrent writers never regress the latest quote', async () => {
    const s = space();
    const writers = [await open(s.url()), await open(s.url()), await open(s.url())];
    const reader = await open(s.url());
    const n = 3000;
    const order = Array.from({ length: n }, (_, i) => i).sort(() => Math.random() - 0.5);
    let stop = false;
    const seen: number[] = [];
    const polling = (async () => {
      while (!stop) {
        const t = await reader.get('RACE');
        if (t) seen.push(t.ts);
      }
    })();
    const chunks = Array.from({ length: n / 10 }, (_, c) => order.slice(c * 10, c * 10 + 10));
    await Promise.all(
      writers.map(async (w, k) => {
        for (let c = k; c < chunks.length; c += writers.length) {
          await w.put(chunks[c]!.map((at) => tick({ symbol: 'RACE', at, price: at })));
        }
      }),
    );
    stop = true;
    await polling;
    assert.ok(seen.length > 10, `only ${seen.length} reads overlapped the writes`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, `regressed from ${seen[i - 1]} to ${seen[i]}`);
    assert.equal((await reader.get('RACE'))!.price, n - 1);
  });

  test('corrupt or foreign values are ignored on read and replaced by the next put', async () => {
    const s = space();
    const ctx = captureContext();
    const cache = await open(s.url(), ctx);
    const raw = s.raw();
    await raw.set(`${s.prefix}last_quote:BAD`, '{"symbol":"BAD","price":1,"timestamp":"2030-01-01T00:00:00"}');
    await raw.sadd(`${s.prefix}tickline:symbols`, 'BAD');
    assert.equal(await cache.get('BAD'), undefined);
    assert.deepEqual(await cache.all(), []);
    assert.ok(ctx.lines.some((l) => l.level === 40 && String(l.msg).includes('last_quote:BAD')));
    await cache.put([tick({ symbol: 'BAD', at: 1, price: 5 })]);
    assert.equal((await cache.get('BAD'))!.price, 5);
    await raw.del(`${s.prefix}last_quote:BAD`);
    await raw.sadd(`${s.prefix}last_quote:BAD`, 'wrong type');
    await cache.put([tick({ symbol: 'BAD', at: 2, price: 6 })]);
    assert.equal((await cache.get('BAD'))!.price, 6);
  });

  test('malformed channel messages are logged and ignored; watchers keep hearing good ones', async () => {
    const s = space();
    const ctx = captureContext();
    const cache = await open(s.url(), ctx);
    const heard: string[] = [];
    const stop = await cache.watch((ticks) => heard.push(...ticks.map((t) => `${t.symbol}@${t.price}`)));
    await cache.watch(() => {
      throw new Error('a broken watcher');
    });
    const raw = s.raw();
    await raw.publish(s.channel, 'not json');
    await raw.publish(s.channel, '{"symbol":"X"}');
    await raw.publish(s.channel, `[{"symbol":"X","price":1},${encodeQuote(tick({ symbol: 'MIX', price: 7 }))}]`);
    await cache.put([tick({ symbol: 'OK', price: 1 })]);
    await until(() => heard.includes('OK@1'), 5_000, 'the good update');
    assert.deepEqual(heard, ['MIX@7', 'OK@1']);
    const warned = ctx.lines.filter((l) => l.level === 40 && l.msg === 'ignored malformed quotes on the cache channel');
    assert.equal(warned.length, 3);
    assert.ok(ctx.lines.some((l) => l.level === 50 && l.msg === 'cache watcher threw'));
    await stop();
    await stop();
  });

  test('close is idempotent; use after close is TL_ERR_CLOSED', async () => {
    const s = space();
    const cache = await open(s.url());
    await cache.watch(() => {});
    await cache.close();
    await cache.close();
    await assert.rejects(cache.put([tick()]), { code: 'TL_ERR_CLOSED' });
    await assert.rejects(cache.get('AAPL'), { code: 'TL_ERR_CLOSED' });
    await assert.rejects(cache.watch(() => {}), { code: 'TL_ERR_CLOSED' });
    assert.deepEqual(await cache.health(), { ok: false, detail: 'closed' });
  });

  test('an unreachable Redis fails creation with TL_ERR_UNAVAILABLE, password hidden', async () => {
    const started = Date.now();
    await assert.rejects(
      createRedisCache(new URL('redis://:hunter2@127.0.0.1:1?connect_timeout=300'), { dataDir: '.', logger: silentLogger() }),
      (e: Error & { code?: string }) => e.code === 'TL_ERR_UNAVAILABLE' && !e.message.includes('hunter2') && /within 300 ms/.test(e.message),
    );
    assert.ok(Date.now() - started < 2_000);
  });

  test('throughput: batches of 8192 ticks over 8 symbols', async (t) => {
    const s = space();
    const cache = await open(s.url({ ttl: '300' }));
    await cache.watch(() => {});
    const batches = 200;
    const batch = (k: number) => Array.from({ length: 8192 }, (_, i) => tick({ symbol: `SYM${i % 8}`, at: k * 8192 + i, price: i }));
    const prepared = Array.from({ length: batches }, (_, k) => batch(k));
    await cache.put(prepared[0]!);
    const started = performance.now();
    for (let k = 1; k < batches; k++) await cache.put(prepared[k]!);
    const ms = performance.now() - started;
    const rate = ((batches - 1) * 8192) / (ms / 1000);
    t.diagnostic(`sequential puts: ${(ms / (batches - 1)).toFixed(3)} ms/batch, ${Math.round(rate).toLocaleString('en')} ticks/s`);
    assert.ok(rate > 100_000, `only ${rate} ticks/s`);
  });
});
