import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { INTERVALS, mergeBar, type Bar } from '../../core/bar.ts';
import { isTicklineError } from '../../core/errors.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Tick } from '../../core/tick.ts';
import { aggregateBatch } from '../../pipeline/bars.ts';
import { serviceUrl, skipUnless } from '../../../test/support/services.ts';
import { tick } from '../../../test/fixtures/ticks.ts';
import { isConnectionError, parsePostgresUrl } from './postgres-config.ts';
import { prepareTicks } from './postgres-copy.ts';
import { partitionDay, partitionName } from './postgres-sql.ts';
import { PostgresStore } from './postgres.ts';

const DAY_US = 86_400_000_000;

async function rejectsWith(p: Promise<unknown>, code: string, check?: (message: string) => void): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTicklineError(e), `expected a TicklineError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    check?.(e.message);
    return true;
  });
}

describe('postgres store: URL and encoding', () => {
  test('reads the URL, with defaults, and refuses what it does not know', () => {
    const s = parsePostgresUrl(new URL('postgres://u:p%40ss@db.example:6543/market?pool=2&schema=ticks_v1&application_name=me&wait_ms=250'));
    assert.equal(s.schema, 'ticks_v1');
    assert.equal(s.endpoint, 'db.example:6543');
    assert.equal(s.waitMs, 250);
    assert.equal(s.pool.password, 'p@ss');
    assert.equal(s.pool.database, 'market');
    assert.equal(s.pool.max, 2);
    assert.equal(s.pool.application_name, 'me');
    const d = parsePostgresUrl(new URL('postgresql://h/db'));
    assert.deepEqual([d.schema, d.endpoint, d.waitMs, d.pool.max, d.pool.password], ['tickline', 'h:5432', 5000, 4, undefined]);
    for (const bad of ['postgres://u:sekret@h/db?pools=2', 'postgres://u:sekret@h/db?schema=a-b', 'postgres://u:sekret@h/db?pool=0', 'postgres://u:sekret@h/db?sslmode=maybe']) {
      assert.throws(() => parsePostgresUrl(new URL(bad)), (e: unknown) => {
        assert.ok(isTicklineError(e) && e.code === 'TL_ERR_BAD_URL', String(e));
        assert.ok(!e.message.includes('sekret'), `the password stays out of: ${e.message}`);
        return true;
      });
    }
  });

  test('connection errors are told apart from statement errors', () => {
    assert.equal(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isConnectionError(Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {})), true);
    assert.equal(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), true);
    assert.equal(isConnectionError(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' })), false);
    assert.equal(isConnectionError(Object.assign(new Error('syntax error'), { code: '42601' })), false);
  });

  test('prepares a batch: event-time order, the days it touches, per symbol-day counts, and rejects bad times', () => {
    const base = Date.UTC(2024, 0, 2, 23, 59, 59) * 1000;
    const ticks = [
      tick({ ts: base + 2_000_000, symbol: 'B' }),
      tick({ ts: base, symbol: 'A' }),
      tick({ ts: base + 500_000, symbol: 'A' }),
      tick({ ts: base - 3 * DAY_US, symbol: 'A' }),
    ];
    const p = prepareTicks(ticks);
    assert.equal(p.rows, 4);
    const day = Math.floor(base / DAY_US);
    assert.deepEqual(p.days, [day - 3, day, day + 1]);
    assert.deepEqual(
      p.stats.map((s) => [s.symbol, s.day - day, s.ticks, s.first - base, s.last - base]),
      [['A', -3, 1, -3 * DAY_US, -3 * DAY_US], ['A', 0, 2, 0, 500_000], ['B', 1, 1, 2_000_000, 2_000_000]],
    );
    assert.equal(p.payload.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
    assert.equal(p.payload.readInt16BE(p.payload.length - 2), -1);
    assert.deepEqual(ticks.map((t) => t.symbol), ['B', 'A', 'A', 'A'], 'the caller’s array is not reordered');
    assert.throws(() => prepareTicks([tick(), tick({ ts: 1.5 })]), /tick 1 .*ts is 1.5/);
    assert.throws(() => prepareTicks([tick({ recvTs: Number.NaN })]), /recvTs/);
    assert.equal(partitionName(day), 'ticks_p20240102');
    assert.equal(partitionDay('ticks_p20240102'), day);
    assert.equal(partitionDay('ticks_default'), null);
  });
});

/** A TCP proxy in front of the shared server, so a test can take "the server" away without touching it. */
class Outage {
  readonly #target: number;
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(target: number) {
    this.#target = target;
  }

  async up(): Promise<void> {
    const server = createServer((down) => {
      const up = connect(this.#target, '127.0.0.1');
      for (const s of [down, up]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          down.destroy();
          up.destroy();
        });
      }
      down.pipe(up);
      up.pipe(down);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('postgres store: against a server', { skip: skipUnless('POSTGRES') }, () => {
  const base = serviceUrl('POSTGRES') ?? 'postgres://localhost/test';
  const admin = new pg.Pool({ connectionString: base, max: 2 });
  const schemas: string[] = [];
  after(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.end();
  });

  function schemaName(): string {
    const s = `tl_pgtest_${randomBytes(5).toString('hex')}`;
    schemas.push(s);
    return s;
  }

  function open(schema: string, extra: Record<string, string> = {}, over = base, metrics?: Metrics): PostgresStore {
    const u = new URL(over);
    u.searchParams.set('schema', schema);
    for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
    return new PostgresStore(parsePostgresUrl(u), silentLogger(), metrics);
  }

  async function partitions(schema: string): Promise<string[]> {
    const res = await admin.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`,
      [`"${schema}".ticks`],
    );
    return res.rows.map((r) => r.name);
  }

  test('two processes starting at once migrate once; partitions for today and the next two days exist', async () => {
    const schema = schemaName();
    const a = open(schema);
    const b = open(schema);
    try {
      await Promise.all([a.init(), b.init()]);
      const rows = await admin.query(`SELECT version, name FROM "${schema}".schema_migrations`);
      assert.deepEqual(rows.rows.map((r) => r.version), [1]);
      const today = Math.floor(Date.now() / 86_400_000);
      const names = await partitions(schema);
      for (let d = 0; d <= 2; d++) assert.ok(names.includes(partitionName(today + d)), `${partitionName(today + d)} in ${names.join(', ')}`);
      const def = await admin.query(`SELECT 1 FROM pg_partitioned_table WHERE partrelid = $1::regclass AND partdefid <> 0`, [`"${schema}".ticks`]);
      assert.equal(def.rowCount, 0, 'no DEFAULT partition');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    await admin.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES (99, 'from the future')`);
    const c = open(schema);
    await rejectsWith(c.init(), 'TL_ERR_STORE', (m) => assert.match(m, /version 99/));
    await c.close();
  });

  test('creates partitions on demand for late and historical days, from concurrent writers too, and again if one is dropped', async () => {
    const schema = schemaName();
    const a = open(schema);
    const b = open(schema);
    try {
      await Promise.all([a.init(), b.init()]);
      const now = Date.now() * 1000;
      const at = [Date.UTC(2001, 0, 1) * 1000 + 5, now - 10 * DAY_US, now - 10 * DAY_US + 1, now + 5 * DAY_US];
      const ticks = at.map((ts, i) => tick({ ts, seq: i }));
      await Promise.all([a.write({ ticks: ticks.slice(0, 3), bars: [] }), b.write({ ticks: ticks.slice(1), bars: [] })]);
      assert.deepEqual((await a.history({ symbol: 'AAPL', limit: 10 })).ticks, ticks);
      const names = await partitions(schema);
      for (const ts of at) assert.ok(names.includes(partitionName(Math.floor(ts / DAY_US))));

      // Dropped behind the store's back: the next write to that day finds out and recreates it.
      await admin.query(`DROP TABLE "${schema}".${partitionName(Math.floor(at[0]! / DAY_US))}`);
      await a.write({ ticks: [tick({ ts: at[0]! + 1 })], bars: [] });
      assert.equal((await a.history({ symbol: 'AAPL', limit: 10, to: at[1] })).ticks.length, 1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('a batch with a value the server refuses fails whole with TL_ERR_STORE', async () => {
    const schema = schemaName();
    const s = open(schema);
    try {
      await s.init();
      await rejectsWith(s.write({ ticks: [tick({ at: 1 }), tick({ at: 2, provider: 'nul\u0000byte' })], bars: [] }), 'TL_ERR_STORE');
      const odd = [tick({ at: 1, provider: 'emoji-😀', seq: -5, bid: Number.NaN }), tick({ at: 2, symbol: 'AAPL', currency: 'ÉUR' })];
      await s.write({ ticks: odd, bars: [] });
      assert.deepEqual((await s.history({ symbol: 'AAPL', limit: 10 })).ticks, [{ ...odd[0]!, bid: null }, odd[1]]);
    } finally {
      await s.close();
    }
  });

  test('two replicas writing overlapping batches concurrently neither deadlock nor count a tick twice', async () => {
    const schema = schemaName();
    const a = open(schema);
    const b = open(schema);
    try {
      await Promise.all([a.init(), b.init()]);
      const all: Tick[] = [];
      for (let i = 0; i < 3000; i++) {
        all.push(tick({ symbol: ['AAPL', 'MSFT', 'NVDA'][i % 3], at: i * 7_000, price: 100 + (i % 31), size: 1 + (i % 4), seq: i % 5 === 0 ? null : i }));
      }
      const shuffled = (xs: Tick[]) => xs.map((x) => [Math.random(), x] as const).sort((p, q) => p[0] - q[0]).map(([, x]) => x);
      const writes: Promise<void>[] = [];
      for (let r = 0; r < 6; r++) {
        // Each replica gets a random ~2/3 of the ticks, in random order, in a few batches.
        for (const store of [a, b]) {
          const mine = shuffled(all.filter(() => Math.random() < 0.66));
          for (let off = 0; off < mine.length; off += 700) {
            const part = mine.slice(off, off + 700);
            writes.push(store.write({ ticks: part, bars: aggregateBatch(part).bars }));
          }
        }
      }
      // Anything not written yet, so the expected set is all of them.
      writes.push(a.write({ ticks: all, bars: aggregateBatch(all).bars }));
      await Promise.all(writes);
      const stored = await a.symbols();
      assert.deepEqual(stored.map((x) => x.ticks), [1000, 1000, 1000]);
      for (const symbol of ['AAPL', 'MSFT', 'NVDA']) {
        const want = aggregateBatch(all.filter((t) => t.symbol === symbol)).bars;
        for (const interval of INTERVALS) {
          const got = await b.bars({ symbol, interval, limit: 10_000 });
          const exp = want.filter((x: Bar) => x.interval === interval).sort((p, q) => p.start - q.start);
          assert.deepEqual(got, exp, `${symbol} ${interval}`);
        }
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('a partly stored batch counts only its new ticks in the bars, ties of equal event time included', async () => {
    const schema = schemaName();
    const s = open(schema);
    try {
      await s.init();
      // Three ticks per timestamp (seq breaks the tie), prices all different.
      const all = Array.from({ length: 90 }, (_, i) => tick({ at: Math.floor(i / 3) * 400_000, seq: i, price: 50 + ((i * 37) % 23), size: 1 + (i % 3) }));
      const old = all.filter((_, i) => i % 4 === 1);
      await s.write({ ticks: old, bars: aggregateBatch(old).bars });
      // The caller's bars count every tick of the batch; the store must not use them here.
      await s.write({ ticks: all, bars: aggregateBatch(all).bars });
      const fresh = all.filter((_, i) => i % 4 !== 1);
      const oldBars = aggregateBatch(old).bars;
      for (const interval of INTERVALS) {
        const want = aggregateBatch(fresh)
          .bars.filter((b) => b.interval === interval)
          .map((b) => {
            const before = oldBars.find((o) => o.interval === interval && o.start === b.start);
            return before ? mergeBar(before, b) : b;
          })
          .sort((p, q) => p.start - q.start);
        assert.deepEqual(await s.bars({ symbol: 'AAPL', interval, limit: 1000 }), want, interval);
      }
      assert.deepEqual((await s.symbols()).map((x) => x.ticks), [90]);
    } finally {
      await s.close();
    }
  });

  test('recovers when the server terminates its connections', async () => {
    const schema = schemaName();
    const app = `tl_term_${randomBytes(4).toString('hex')}`;
    const s = open(schema, { application_name: app });
    try {
      await s.init();
      await s.write({ ticks: [tick({ at: 1 })], bars: [] });
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [app]);
      assert.ok(killed.rowCount! > 0, 'the store had connections to terminate');
      await s.write({ ticks: [tick({ at: 2 })], bars: [] });
      assert.equal((await s.history({ symbol: 'AAPL', limit: 10 })).ticks.length, 2);
      assert.equal((await s.health()).ok, true);
    } finally {
      await s.close();
    }
  });

  test('during an outage calls fail with TL_ERR_UNAVAILABLE naming host:port (never the password) and work again after', async () => {
    const target = new URL(base);
    const proxy = new Outage(Number(target.port || 5432));
    await proxy.up();
    const via = new URL(base);
    via.hostname = '127.0.0.1';
    via.port = String(proxy.port);
    via.username = via.username || 'postgres';
    via.password = 'sekret-pw'; // ignored under trust auth; must never show up in a message
    const metrics = new Metrics({ defaultMetrics: false });
    const schema = schemaName();
    const s = open(schema, { wait_ms: '400' }, via.href, metrics);
    try {
      await s.init();
      await s.write({ ticks: [tick({ at: 1 })], bars: [] });
      await proxy.down();

      const endpoint = `127.0.0.1:${proxy.port}`;
      const t0 = Date.now();
      const batch = { ticks: [tick({ at: 2, seq: 2 })], bars: aggregateBatch([tick({ at: 2, seq: 2 })]).bars };
      await rejectsWith(s.write(batch), 'TL_ERR_UNAVAILABLE', (m) => {
        assert.ok(m.includes(endpoint), m);
        assert.ok(!m.includes('sekret'), m);
      });
      assert.ok(Date.now() - t0 < 5_000, 'the wait is bounded');
      await rejectsWith(s.history({ symbol: 'AAPL', limit: 1 }), 'TL_ERR_UNAVAILABLE');
      const h = await s.health();
      assert.equal(h.ok, false);
      assert.ok(h.detail?.includes(endpoint) && !h.detail.includes('sekret'), h.detail);

      await proxy.up();
      await s.write(batch); // the caller's retry
      await s.write(batch); // …and a duplicate of it changes nothing
      assert.equal((await s.health()).ok, true);
      assert.deepEqual((await s.history({ symbol: 'AAPL', limit: 10 })).ticks.map((t) => t.seq), [null, 2]);
      const [oneMinute] = await s.bars({ symbol: 'AAPL', interval: '1m', limit: 1 });
      assert.equal(oneMinute?.trades, 1, 'the tick written after the outage counts once');
      const reconnects = (await metrics.reconnects.get()).values.find((v) => v.labels.dependency === 'postgres');
      assert.ok((reconnects?.value ?? 0) > 0, 'reconnect attempts are counted');
    } finally {
      await proxy.down();
      await s.close();
    }
  });

  test('init fails with TL_ERR_UNAVAILABLE while the server is away, and succeeds on a later call', async () => {
    const proxy = new Outage(Number(new URL(base).port || 5432));
    await proxy.up();
    await proxy.down();
    const via = new URL(base);
    via.hostname = '127.0.0.1';
    via.port = String(proxy.port);
    const s = open(schemaName(), { wait_ms: '200' }, via.href);
    try {
      await rejectsWith(s.init(), 'TL_ERR_UNAVAILABLE', (m) => assert.ok(m.includes(`127.0.0.1:${proxy.port}`), m));
      assert.deepEqual(await s.health(), { ok: false, detail: 'not initialised' });
      await proxy.up();
      await s.init();
      assert.equal((await s.health()).ok, true);
    } finally {
      await proxy.down();
      await s.close();
    }
  });
});
