import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { storeRegistry } from '../adapters/store/index.ts';
import { createFileZones } from '../adapters/zones/file.ts';
import type { Bar } from '../core/bar.ts';
import { silentLogger } from '../core/log.ts';
import { YahooProvider } from '../sources/providers/yahoo.ts';
import { lastJson, tickline } from '../../test/fixtures/replay/cli.ts';
import { fixture, serve, type FixtureServer, type Reply, type SeenRequest } from '../../test/fixtures/providers/server.ts';

const dirs: string[] = [];
const servers: FixtureServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tickline-backfill-'));
  dirs.push(d);
  return d;
}

async function server(route: (req: SeenRequest) => Reply): Promise<FixtureServer> {
  const s = await serve(route);
  servers.push(s);
  return s;
}

async function dailyBars(dir: string, symbol: string): Promise<Bar[]> {
  const store = await storeRegistry.create(`duckdb://${join(dir, 'tickline.duckdb')}`, { dataDir: dir, logger: silentLogger() });
  await store.init();
  try {
    return await store.bars({ symbol, interval: '1d', limit: 1000 });
  } finally {
    await store.close();
  }
}

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) * 1000;

describe('tickline backfill', () => {
  test('yahoo: daily bars as the provider states them; a failing symbol is reported, the others load; a re-run does only what is left', async () => {
    const yahoo = await server((req) =>
      req.path === '/v8/finance/chart/AAPL' ? { body: fixture('yahoo-chart-aapl.json') } : { status: 404, body: fixture('yahoo-chart-404.json') },
    );
    const dir = await tmp();
    const args = ['backfill', '--provider', 'yahoo', '--symbols', 'aapl,NOPE', '--from', '2024-05-20', '--to', '2024-05-24', '--base-url', yahoo.url, '-d', dir];
    const first = await tickline([...args, '--json']);
    assert.equal(first.code, 1, 'a failed symbol fails the command');
    const s = lastJson<{ status: string; bars_written: number; symbols: Array<{ symbol: string; status: string; bars: number; error: string | null }> }>(first.stdout);
    assert.equal(s.status, 'failed');
    assert.deepEqual(s.symbols.map((x) => [x.symbol, x.status, x.bars]), [['AAPL', 'loaded', 4], ['NOPE', 'failed', 0]]);
    assert.match(s.symbols[1]!.error!, /No data found, symbol may be delisted/);
    assert.match(first.stderr, /run the same command again to retry them/);

    // Exactly what the adapter returns for the same request, stored as given.
    const direct = await new YahooProvider({ baseUrl: yahoo.url }).history('AAPL', day('2024-05-20'), day('2024-05-25'));
    const stored = await dailyBars(dir, 'AAPL');
    assert.deepEqual(stored, direct.items);

    const before = yahoo.requests.length;
    const second = await tickline(args);
    assert.equal(second.code, 1);
    assert.match(second.stdout, /AAPL\s+already-loaded\s+4/);
    assert.deepEqual(yahoo.requests.slice(before).map((r) => r.path), ['/v8/finance/chart/NOPE'], 'AAPL is not asked for again');

    // Loading it again on purpose leaves the same bars.
    const again = await tickline(['backfill', '--provider', 'yahoo', '--symbols', 'AAPL', '--from', '2024-05-20', '--to', '2024-05-24', '--base-url', yahoo.url, '-d', dir, '--restart']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /AAPL\s+loaded\s+4/);
    assert.deepEqual(await dailyBars(dir, 'AAPL'), stored);
  });

  test('alphavantage: the key comes from the environment (or a file), is sent, and never printed; rejected days go to quarantine', async () => {
    const KEY = 'AVKEY0123456789XYZ';
    const av = await server(() => ({ body: fixture('alphavantage-daily-ibm.json') }));
    const dir = await tmp();
    const keyFile = join(dir, 'av.key');
    await writeFile(keyFile, `${KEY}\n`);
    const args = ['backfill', '--provider', 'alphavantage', '--symbols', 'IBM', '--from', '2024-05-20', '--to', '2024-05-23', '--base-url', av.url, '-d', dir];

    const missing = await tickline(args);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /TICKLINE_ALPHAVANTAGE_KEY.*\[TL_ERR_CONFIG\]/);

    const r = await tickline([...args, '--json', '--log-level', 'debug'], { TICKLINE_ALPHAVANTAGE_KEY_FILE: keyFile });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(av.requests[0]!.query.get('apikey'), KEY);
    assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), 'the key is never printed');
    const s = lastJson<{ bars_written: number; rejected: number }>(r.stdout);
    assert.equal(s.bars_written, 3);
    assert.equal(s.rejected, 1);
    assert.deepEqual((await dailyBars(dir, 'IBM')).map((b) => [b.start, b.close]), [[day('2024-05-20'), 169.92], [day('2024-05-21'), 173.47], [day('2024-05-23'), 169.66]]);

    const zones = await createFileZones(join(dir, 'zones'), { owner: false });
    try {
      const rows: Array<Record<string, unknown>> = [];
      for await (const b of zones.read('quarantine', 'ticks', {})) rows.push(...b);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.expectation, 'malformed');
      assert.equal(rows[0]!.symbol, 'IBM');
      assert.equal(rows[0]!.source_provider, 'alphavantage');
      assert.match(String(rows[0]!.detail), /alphavantage: .*2024-05-22/);
      assert.ok(!JSON.stringify(rows).includes(KEY));
    } finally {
      await zones.close();
    }

    // The plain variable works too, and the configuration loader does not trip over it.
    const plain = await tickline([...args, '--restart'], { TICKLINE_ALPHAVANTAGE_KEY: KEY });
    assert.equal(plain.code, 0, plain.stderr);
  });

  test('coingecko: daily bars from market-chart samples', async () => {
    const cg = await server(() => ({ body: fixture('coingecko-market-chart-bitcoin.json') }));
    const dir = await tmp();
    const r = await tickline(['backfill', '--provider', 'coingecko', '--symbols', 'BTC-USD', '--from', '2024-03-23', '--to', '2024-03-25', '--base-url', cg.url, '-d', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(cg.requests[0]!.path, '/api/v3/coins/bitcoin/market_chart');
    assert.deepEqual((await dailyBars(dir, 'BTC-USD')).map((b) => [b.start, b.close]), [
      [day('2024-03-23'), 62067.81901858],
      [day('2024-03-24'), 60526.01275805],
      [day('2024-03-25'), 60149.64398202],
    ]);
  });

  test('bad arguments are refused before any request, naming the option and the value', async () => {
    const dir = await tmp();
    const base = ['backfill', '--symbols', 'AAPL', '-d', dir];
    const cases: Array<[string[], RegExp]> = [
      [['--provider', 'coinbase', '--from', '2024-01-01', '--to', '2024-01-02'], /provider must be one of yahoo, alphavantage, coingecko/],
      [['--provider', 'yahoo', '--from', '2024-02-30', '--to', '2024-03-01'], /--from: "2024-02-30" is not a date YYYY-MM-DD/],
      [['--provider', 'yahoo', '--from', '2024-03-02', '--to', '2024-03-01'], /--to \(2024-03-01\) is before --from \(2024-03-02\)/],
      [['--provider', 'coingecko', '--from', '2024-03-01', '--to', '2024-03-02'], /--symbols: .*AAPL/],
      [['--provider', 'yahoo', '--from', '2024-03-01', '--to', '2024-03-02', '--base-url', 'ftp://x'], /--base-url must be an http\(s\) URL/],
    ];
    for (const [args, message] of cases) {
      const r = await tickline([...base, ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
