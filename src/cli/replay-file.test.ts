import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { streamNameFor } from '../adapters/bus/nats-config.ts';
import { storeRegistry } from '../adapters/store/index.ts';
import { createFileZones } from '../adapters/zones/file.ts';
import { loadConfig } from '../config/load.ts';
import { INTERVALS, type Bar } from '../core/bar.ts';
import { silentLogger } from '../core/log.ts';
import type { Tick } from '../core/tick.ts';
import { aggregateBatch } from '../pipeline/bars.ts';
import type { Store } from '../ports/store.ts';
import { openReader } from '../replay/reader.ts';
import { replayFile } from '../replay/replay.ts';
import { FileSource } from '../replay/source.ts';
import { startPlatform } from '../roles/platform.ts';
import { lastJson, tickline } from '../../test/fixtures/replay/cli.ts';
import { serviceUrl, skipUnless } from '../../test/support/services.ts';

const FIXTURES = new URL('../../test/fixtures/replay/', import.meta.url).pathname;
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tickline-replay-'));
  dirs.push(d);
  return d;
}

async function withStore<T>(dir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await storeRegistry.create(`duckdb://${join(dir, 'tickline.duckdb')}`, { dataDir: dir, logger: silentLogger() });
  await store.init();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function quarantined(dir: string): Promise<Array<Record<string, unknown>>> {
  const zones = await createFileZones(join(dir, 'zones'), { owner: false });
  try {
    const rows: Array<Record<string, unknown>> = [];
    for await (const batch of zones.read('quarantine', 'ticks', {})) rows.push(...batch);
    return rows;
  } finally {
    await zones.close();
  }
}

/** The ticks a file holds, as the reader yields them (recvTs aside). */
async function fileTicks(path: string): Promise<Tick[]> {
  const r = await openReader({ file: path, provider: 'replay', currency: 'USD', tz: 'UTC' });
  const out: Tick[] = [];
  try {
    for await (const c of r.tickChunks()) out.push(...c.ticks);
  } finally {
    await r.close();
  }
  return out;
}

const strip = (ticks: Tick[]) => ticks.map(({ recvTs: _r, ...t }) => t).sort((a, b) => a.symbol.localeCompare(b.symbol) || a.ts - b.ts || (a.seq ?? 0) - (b.seq ?? 0));

/** Everything the store holds for these symbols: ticks (recvTs aside) and bars of every interval. */
async function contents(store: Store, symbols: string[]): Promise<{ ticks: ReturnType<typeof strip>; bars: Bar[] }> {
  const ticks: Tick[] = [];
  const bars: Bar[] = [];
  for (const symbol of symbols) {
    ticks.push(...(await store.history({ symbol, limit: 100_000 })).ticks);
    for (const interval of INTERVALS) bars.push(...(await store.bars({ symbol, interval, limit: 100_000 })));
  }
  return { ticks: strip(ticks), bars };
}

function expectedBars(ticks: Tick[], symbols: string[]): Bar[] {
  const all = aggregateBatch(ticks).bars;
  const out: Bar[] = [];
  for (const symbol of symbols) for (const interval of INTERVALS) out.push(...all.filter((b) => b.symbol === symbol && b.interval === interval).sort((a, b) => a.start - b.start));
  return out;
}

const SYMBOLS = ['AAPL', 'BTC-USD', 'MSFT'];

describe('tickline replay FILE', () => {
  test('a tick CSV goes through the embedded pipeline: every tick stored once, bars built from them; a re-run adds nothing', async () => {
    const dir = await tmp();
    const file = join(FIXTURES, 'ticks.csv');
    const r = await tickline(['replay', file, '-d', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = lastJson(r.stdout);
    assert.equal(s.status, 'complete');
    assert.equal(s.mode, 'pipeline');
    assert.equal(s.rows_read, 30);
    assert.equal(s.ticks_published, 30);
    assert.equal(s.rejected, 0);
    assert.equal(s.quarantined_by_checks, 0);
    // 30 one-second bars, and per symbol three 1m, one 5m, one 1h and one 1d bar.
    assert.equal(s.bars_written, 30 + 3 * (3 + 1 + 1 + 1));

    const want = await fileTicks(file);
    const stored = await withStore(dir, (store) => contents(store, SYMBOLS));
    assert.deepEqual(stored.ticks, strip(want));
    assert.deepEqual(stored.bars, expectedBars(want, SYMBOLS));

    const again = await tickline(['replay', file, '-d', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already replayed \(30 rows\); --restart to replay again/);
    assert.deepEqual(await withStore(dir, (store) => contents(store, SYMBOLS)), stored, 're-running a finished file adds nothing');
  });

  test('the same ticks as JSON lines and as Parquet give the same store', async () => {
    const csvDir = await tmp();
    assert.equal((await tickline(['replay', join(FIXTURES, 'ticks.csv'), '-d', csvDir])).code, 0);
    const want = await withStore(csvDir, (store) => contents(store, SYMBOLS));

    const jsonDir = await tmp();
    const j = await tickline(['replay', join(FIXTURES, 'ticks.jsonl'), '-d', jsonDir]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(await withStore(jsonDir, (store) => contents(store, SYMBOLS)), want);

    const pqDir = await tmp();
    const parquet = join(pqDir, 'ticks.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    await con.run(`COPY (SELECT symbol, ts::TIMESTAMPTZ AS ts, price::DOUBLE AS price, size::DOUBLE AS size, bid::DOUBLE AS bid, ask::DOUBLE AS ask
      FROM read_csv('${join(FIXTURES, 'ticks.csv')}', all_varchar = true)) TO '${parquet}' (FORMAT parquet)`);
    con.closeSync();
    db.closeSync();
    const p = await tickline(['replay', parquet, '-d', pqDir]);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(await withStore(pqDir, (store) => contents(store, SYMBOLS)), want);
  });

  test('--restart replays a finished file again: the embedded store then counts its ticks and bars twice, which is why a finished file is skipped', async () => {
    const dir = await tmp();
    const file = join(FIXTURES, 'ticks.csv');
    assert.equal((await tickline(['replay', file, '-d', dir])).code, 0);
    const once = await withStore(dir, (store) => store.bars({ symbol: 'AAPL', interval: '1d', limit: 10 }));
    const r = await tickline(['replay', file, '-d', dir, '--restart', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lastJson(r.stdout).status, 'complete');
    const twice = await withStore(dir, async (store) => ({ ticks: (await store.symbols()).reduce((a, x) => a + x.ticks, 0), bars: await store.bars({ symbol: 'AAPL', interval: '1d', limit: 10 }) }));
    assert.equal(twice.ticks, 60, 'the DuckDB store is not idempotent: ticks written twice are stored twice');
    assert.equal(twice.bars[0]!.volume, once[0]!.volume * 2);
    assert.equal(twice.bars[0]!.trades, once[0]!.trades * 2);
  });

  test('a Yahoo daily CSV becomes daily bars exactly as written, and its last close the latest price; loading it again leaves the same bars', async () => {
    const dir = await tmp();
    const file = join(FIXTURES, 'AAPL.csv');
    const r = await tickline(['replay', file, '-d', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /layout\s+daily/);
    assert.match(r.stdout, /bars_written\s+6/);
    assert.match(r.stdout, /AAPL\s+2024-01-09\s+185\.139999/);
    const reader = await openReader({ file, provider: 'replay', currency: 'USD', tz: 'UTC' });
    const want: Bar[] = [];
    for await (const c of reader.dailyChunks()) want.push(...c.bars);
    await reader.close();

    const check = () =>
      withStore(dir, async (store) => {
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1d', limit: 100 }), want);
        const latest = await store.latest();
        assert.deepEqual(latest.map((t) => [t.symbol, t.ts, t.price, t.provider]), [['AAPL', Date.UTC(2024, 0, 9) * 1000, 185.139999, 'replay']]);
        assert.equal((await store.history({ symbol: 'AAPL', limit: 100 })).ticks.length, 1, 'one latest-price tick');
        for (const interval of ['1s', '1m', '5m', '1h'] as const) assert.deepEqual(await store.bars({ symbol: 'AAPL', interval, limit: 10 }), [], 'the latest price adds no bars');
      });
    await check();
    const again = await tickline(['replay', file, '-d', dir, '--restart']);
    assert.equal(again.code, 0, again.stderr);
    await check();
  });

  test('malformed rows are reported with row, column and value, quarantined, and the rest of the file is loaded', async () => {
    const dir = await tmp();
    const file = join(dir, 'trades.csv');
    await writeFile(
      file,
      [
        'symbol,ts,price,size',
        'AAPL,2024-01-02T14:30:00Z,185.5,100',
        'AAPL,2024-01-02T14:30:01Z,abc,100',
        'AAPL,2024-01-02T14:30:02Z,185.6,100,extra',
        'AAPL,not-a-time,185.7,100',
        'AAPL,2024-01-02T14:30:04Z,185.8,100',
      ].join('\n'),
    );
    const r = await tickline(['replay', file, '-d', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = lastJson(r.stdout);
    assert.equal(s.status, 'complete');
    assert.equal(s.ticks_published, 2);
    assert.equal(s.rejected, 3);
    assert.match(r.stderr, /malformed: row 2: column "price": "abc" is not a number/);
    assert.match(r.stderr, /malformed: row 3: column "ts": "not-a-time" is not an ISO 8601 date-time or epoch number/);
    assert.match(r.stderr, /malformed: line 4: too many columns/);
    assert.match(r.stderr, /tickline quarantine list --expectation malformed/);
    assert.deepEqual((await withStore(dir, (store) => store.history({ symbol: 'AAPL', limit: 10 }))).ticks.map((t) => t.price), [185.5, 185.8]);

    const rows = await quarantined(dir);
    assert.equal(rows.length, 3);
    const byCol = Object.fromEntries(rows.map((q) => [String(q.source_column), q]));
    assert.equal(byCol.price!.expectation, 'malformed');
    assert.equal(byCol.price!.observed, 'abc');
    assert.equal(byCol.price!.source_row, 2);
    assert.equal(byCol.price!.source_file, file);
    assert.equal(byCol.price!.detail, 'row 2: column "price": "abc" is not a number');
    assert.equal(byCol.price!.ts, '2024-01-02T14:30:01.000000Z', 'filed under its own event time');
    assert.equal(byCol.ts!.observed, 'not-a-time');
    assert.equal(byCol['(record)']!.source_line, 4);
  });

  test('an interrupted replay continues after the rows it finished: every tick, bar and malformed row counts exactly once', async () => {
    const dir = await tmp();
    const file = join(dir, 'long.csv');
    const lines = ['symbol,ts,price,size'];
    const t0 = Date.UTC(2024, 0, 2, 14, 30);
    for (let i = 0; i < 2000; i++) {
      const price = i % 100 === 50 ? 'oops' : (100 + (i % 7) / 10).toFixed(2);
      lines.push(`${i % 2 ? 'MSFT' : 'AAPL'},${new Date(t0 + i * 3).toISOString()},${price},${1 + (i % 5)}`);
    }
    await writeFile(file, `${lines.join('\n')}\n`);
    const config = loadConfig({ env: {}, overrides: { dataDir: dir, logLevel: 'silent' } });
    const small = Object.freeze({ ...config, batchMax: 25 });
    const stop = new AbortController();
    // At the original pace the file takes 6 s: stop it once a few hundred rows are in.
    const first = await replayFile({
      file,
      read: { provider: 'replay', currency: 'USD', tz: 'UTC' },
      speed: 1,
      restart: false,
      config: small,
      logger: silentLogger(),
      signal: stop.signal,
      onProgress: (p) => p.rows >= 300 && stop.abort(),
    });
    assert.equal(first.status, 'interrupted');
    assert.ok(first.rows_read > 50 && first.rows_read < 2000, `stopped part way (${first.rows_read} rows)`);
    const partial = await withStore(dir, async (store) => (await store.symbols()).reduce((a, x) => a + x.ticks, 0));
    assert.equal(partial, first.ticks_published, 'what was published before the stop is stored');

    const second = await tickline(['replay', file, '-d', dir, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const s = lastJson(second.stdout);
    assert.equal(s.status, 'complete');
    assert.equal(s.resumed_from, first.rows_read);
    assert.equal((s.rows_read as number) + first.rows_read, 2000);

    const want = await fileTicks(file);
    assert.equal(want.length, 1980);
    const stored = await withStore(dir, (store) => contents(store, ['AAPL', 'MSFT']));
    assert.deepEqual(stored.ticks, strip(want), 'each tick once');
    assert.deepEqual(stored.bars, expectedBars(want, ['AAPL', 'MSFT']), 'bars as if the file had been replayed in one go');
    const q = await quarantined(dir);
    assert.deepEqual(q.map((x) => x.source_row).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 20 }, (_, k) => 51 + k * 100), 'each malformed row quarantined once');
  });

  test('--speed N waits the event-time gaps divided by N; max does not wait', async () => {
    const dir = await tmp();
    const file = join(dir, 'paced.csv');
    const t0 = Date.UTC(2024, 0, 2, 14, 30);
    await writeFile(file, `symbol,ts,price\n${[0, 250, 500, 750, 1000].map((ms, i) => `AAPL,${new Date(t0 + ms).toISOString()},${100 + i}`).join('\n')}\n`);
    const run = async (speed: number) => {
      const reader = await openReader({ file, provider: 'replay', currency: 'USD', tz: 'UTC' });
      const at: number[] = [];
      const src = new FileSource('paced', { reader, skip: 0, batchMax: 100, speed, onBad: async () => {} });
      await src.run(async (ticks) => {
        for (const _ of ticks) at.push(performance.now());
      }, new AbortController().signal);
      await reader.close();
      assert.equal(at.length, 5);
      return at.map((x) => x - at[0]!);
    };
    const half = await run(2);
    // 1 s of event time at twice the pace: the last tick half a second after the first, each ~125 ms apart.
    assert.ok(half[4]! >= 490 && half[4]! < 1_500, `last tick after ${half[4]} ms`);
    assert.ok(half[1]! >= 115, `second tick after ${half[1]} ms`);
    const max = await run(Infinity);
    assert.ok(max[4]! < 100, `full speed: all at once (${max[4]} ms)`);
  });

  test('a server holding the embedded store: the replay says to stop it or use a shared store and bus', async () => {
    const dir = await tmp();
    const db = join(dir, 'tickline.duckdb');
    // Another process holds the DuckDB file, as a running `tickline start` does.
    const holder: ChildProcess = spawn(
      process.execPath,
      ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; const i = await DuckDBInstance.create(${JSON.stringify(db)}); await i.connect(); console.log('ready'); setInterval(() => {}, 1000);`],
      { cwd: new URL('../../', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        holder.on('exit', (c) => reject(new Error(`the lock holder exited (${c})`)));
      });
      for (const file of ['ticks.csv', 'AAPL.csv']) {
        const r = await tickline(['replay', join(FIXTURES, file), '-d', dir]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /is in use by another process \(a running Tickline server\?\).*stop the server, or use a shared store \(Postgres\) and bus \(Kafka\/NATS\).*\[TL_ERR_UNAVAILABLE\]/);
      }
    } finally {
      holder.kill();
    }
  });

  test('replay without a FILE is still the raw-zone replay on the API; the two modes\' options do not mix', async () => {
    const seen: Array<{ path: string; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(`${JSON.stringify({ progress: { phase: 'replaying', unit: 'hours', done: 1, total: 1, rows: 5 } })}\n${JSON.stringify({ result: { run: 'r1', hours: 1, rows_read: 5 } })}\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const ok = await tickline(['replay', '--zone', 'raw', '--from', '2026-11-21T00:00Z', '--to', '2026-11-21T01:00Z', '--api', api, '--json']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(seen[0]!.path, '/v1/replay');
      assert.deepEqual(JSON.parse(seen[0]!.body), { zone: 'raw', from: '2026-11-21T00:00Z', to: '2026-11-21T01:00Z', progress: true });
      assert.equal(JSON.parse(ok.stdout).rows_read, 5);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    const none = await tickline(['replay']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /replay needs a FILE, or --zone raw --from TIME --to TIME/);
    const curated = await tickline(['replay', '--zone', 'curated', '--from', 'a', '--to', 'b']);
    assert.match(curated.stderr, /--zone must be raw/);
    const mixed = await tickline(['replay', join(FIXTURES, 'ticks.csv'), '--zone', 'raw']);
    assert.match(mixed.stderr, /--zone apply to the raw-zone replay, not to a FILE/);
    const fileOpt = await tickline(['replay', '--symbol', 'AAPL']);
    assert.match(fileOpt.stderr, /--symbol apply to replaying a FILE/);
    const help = await tickline(['replay', '--help']);
    assert.match(help.stdout, /Usage: tickline replay \[options\] \[file\]/);
    assert.match(help.stdout, /--zone <zone>/);
    assert.match(help.stdout, /--ts-format <fmt>/);
  });

  test('bad options fail before anything is opened, naming the option and the value', async () => {
    const dir = await tmp();
    const file = join(FIXTURES, 'ticks.csv');
    const cases: Array<[string[], RegExp]> = [
      [['--speed', '0'], /speed must be "max" or a number above 0/],
      [['--layout', 'weekly'], /--layout must be one of ticks, daily/],
      [['--symbol', 'not a symbol'], /--symbol: "not a symbol" is not a symbol/],
      [['--map', 'ts'], /--map: "ts" is not field=Column/],
      [['--delim', ';;'], /--delim: ";;" must be one character/],
      [['--tz', 'Nowhere/Land'], /--tz: unknown time zone "Nowhere\/Land"/],
    ];
    for (const [args, message] of cases) {
      const r = await tickline(['replay', file, '-d', dir, ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message);
    }
    const copy = join(dir, 'ticks.csv');
    await copyFile(file, copy);
    const stop = await tickline(['replay', copy, '-d', dir, '--tz', 'UTC']);
    assert.equal(stop.code, 0, stop.stderr);
  });

  test('a checkpoint of an interrupted run continues only with the same options', async () => {
    const dir = await tmp();
    const file = join(dir, 'slow.csv');
    const t0 = Date.UTC(2024, 0, 2, 14, 30);
    await writeFile(file, `symbol,ts,price\n${Array.from({ length: 400 }, (_, i) => `AAPL,${new Date(t0 + i * 10).toISOString()},100`).join('\n')}\n`);
    const config = Object.freeze({ ...loadConfig({ env: {}, overrides: { dataDir: dir, logLevel: 'silent' } }), batchMax: 10 });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 500).unref();
    const first = await replayFile({ file, read: { provider: 'replay', currency: 'USD', tz: 'UTC' }, speed: 1, restart: false, config, logger: silentLogger(), signal: stop.signal });
    assert.equal(first.status, 'interrupted');
    const other = await tickline(['replay', file, '-d', dir, '--provider', 'other']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /an interrupted replay of slow\.csv \(\d+ rows done\) used other options .*--restart/);
    const same = await tickline(['replay', file, '-d', dir, '--json']);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(lastJson(same.stdout).resumed_from, first.rows_read);
  });
});

describe('tickline replay FILE to running servers (shared bus and store)', { skip: skipUnless('NATS') || skipUnless('POSTGRES') }, () => {
  test('with a shared bus the file is published (ingest role only) and the servers\' process role stores it', async () => {
    const dir = await tmp();
    const topic = `tltest.replay${randomBytes(4).toString('hex')}`;
    const schema = `tl_replay_${randomBytes(4).toString('hex')}`;
    const storeUrl = new URL(serviceUrl('POSTGRES')!);
    storeUrl.searchParams.set('schema', schema);
    const env = { TICKLINE_BUS: serviceUrl('NATS')!, TICKLINE_STORE: storeUrl.href, TICKLINE_TOPIC: topic };
    const server = await startPlatform({
      config: loadConfig({ env, overrides: { dataDir: join(dir, 'server'), roles: 'process', port: 0, simRate: 0, logLevel: 'silent' } }),
      logger: silentLogger(),
    });
    const admin = new pg.Pool({ connectionString: serviceUrl('POSTGRES'), max: 1 });
    try {
      const r = await tickline(['replay', join(FIXTURES, 'ticks.csv'), '-d', join(dir, 'cli'), '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const s = lastJson(r.stdout);
      assert.equal(s.mode, 'publish');
      assert.equal(s.ticks_published, 30);
      assert.equal(s.bars_written, null, 'bars are the servers\' business');
      const store = await storeRegistry.create(env.TICKLINE_STORE, { dataDir: dir, logger: silentLogger() });
      await store.init();
      try {
        const deadline = Date.now() + 20_000;
        let n = 0;
        while (Date.now() < deadline) {
          n = (await store.symbols()).reduce((a, x) => a + x.ticks, 0);
          if (n >= 30) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        assert.equal(n, 30);
        const want = await fileTicks(join(FIXTURES, 'ticks.csv'));
        assert.deepEqual((await contents(store, SYMBOLS)).bars, expectedBars(want, SYMBOLS));
      } finally {
        await store.close();
      }
      const again = await tickline(['replay', join(FIXTURES, 'ticks.csv'), '-d', join(dir, 'cli')], env);
      assert.match(again.stdout, /already replayed/);
    } finally {
      await server.stop();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
      const nc = await connect({ servers: new URL(serviceUrl('NATS')!).host });
      try {
        await (await jetstreamManager(nc)).streams.delete(streamNameFor(topic, {})).catch(() => undefined);
      } finally {
        await nc.close();
      }
    }
  });
});
