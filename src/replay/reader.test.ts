import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Bar } from '../core/bar.ts';
import type { Tick } from '../core/tick.ts';
import { openReader, symbolFromFileName, type BadRow, type ReaderOptions } from './reader.ts';
import { parseMap } from './layout.ts';

const FIXTURES = new URL('../../test/fixtures/replay/', import.meta.url).pathname;
const DAY = 86_400_000_000;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) * 1000;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickline-reader-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function read(path: string, opts: Partial<ReaderOptions> = {}, skip = 0): Promise<{ ticks: Tick[]; bars: Bar[]; bad: BadRow[]; rejects: BadRow[]; skipped: number; end: number; layout: string; total: number }> {
  const r = await openReader({ file: path, provider: 'replay', currency: 'USD', tz: 'UTC', ...opts });
  try {
    const ticks: Tick[] = [];
    const bars: Bar[] = [];
    const bad: BadRow[] = [];
    let skipped = 0;
    let end = skip;
    if (r.layout === 'ticks') {
      for await (const c of r.tickChunks(skip)) {
        ticks.push(...c.ticks);
        bad.push(...c.bad);
        assert.equal(c.rowOf.length, c.ticks.length);
        end = c.end;
      }
    } else {
      for await (const c of r.dailyChunks(skip)) {
        bars.push(...c.bars);
        bad.push(...c.bad);
        skipped += c.skipped;
        end = c.end;
      }
    }
    return { ticks, bars, bad, rejects: await r.rejects(), skipped, end, layout: r.layout, total: r.totalRows };
  } finally {
    await r.close();
  }
}

const withoutRecv = (ticks: Tick[]) => ticks.map(({ recvTs: _r, ...t }) => t);

describe('replay file reader', () => {
  test('the tick fixture reads the same as CSV, JSON lines and Parquet, in file order, seq = row', async () => {
    const csv = await read(join(FIXTURES, 'ticks.csv'));
    assert.equal(csv.layout, 'ticks');
    assert.equal(csv.ticks.length, 30);
    assert.deepEqual(csv.bad, []);
    assert.deepEqual(csv.rejects, []);
    assert.deepEqual(withoutRecv(csv.ticks.slice(0, 4)), [
      { symbol: 'AAPL', ts: Date.UTC(2024, 0, 2, 14, 30, 0) * 1000, price: 185.04, size: 100, bid: 185.03, ask: 185.05, currency: 'USD', provider: 'replay', seq: 1 },
      { symbol: 'MSFT', ts: Date.UTC(2024, 0, 2, 14, 30, 5) * 1000 + 137, price: 370.57, size: 101, bid: 370.56, ask: 370.58, currency: 'USD', provider: 'replay', seq: 2 },
      { symbol: 'BTC-USD', ts: Date.UTC(2024, 0, 2, 14, 30, 10) * 1000 + 274, price: 44955, size: 0.03, bid: 44954.99, ask: 44955.01, currency: 'USD', provider: 'replay', seq: 3 },
      { symbol: 'AAPL', ts: Date.UTC(2024, 0, 2, 14, 30, 15) * 1000 + 411, price: 185.96, size: 103, bid: null, ask: null, currency: 'USD', provider: 'replay', seq: 4 },
    ]);
    const jsonl = await read(join(FIXTURES, 'ticks.jsonl'));
    assert.deepEqual(withoutRecv(jsonl.ticks), withoutRecv(csv.ticks));

    const parquet = join(dir, 'ticks.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    // Typed columns this time: TIMESTAMPTZ and DOUBLE, as a Parquet export would have them.
    await con.run(`COPY (SELECT symbol, ts::TIMESTAMPTZ AS ts, price::DOUBLE AS price, size::DOUBLE AS size, bid::DOUBLE AS bid, ask::DOUBLE AS ask
      FROM read_csv('${join(FIXTURES, 'ticks.csv')}', all_varchar = true)) TO '${parquet}' (FORMAT parquet)`);
    con.closeSync();
    db.closeSync();
    const pq = await read(parquet);
    assert.equal(pq.total, 30, 'Parquet knows its row count');
    assert.deepEqual(withoutRecv(pq.ticks), withoutRecv(csv.ticks));
  });

  test('bad values are reported with row, column and value; the other rows are kept', async () => {
    const p = await file(
      'bad.csv',
      [
        'symbol,ts,price,size,bid,ask',
        'AAPL,2024-01-02T14:30:00Z,185.5,100,185.4,185.6',
        'AAPL,2024-01-02T14:30:01Z,abc,100,185.4,185.6',
        'MSFT,yesterday,370.1,50,,',
        ',2024-01-02T14:30:02Z,370.2,50,,',
        'MSFT,2024-01-02T14:30:03Z,370.3,lots,,',
        'MSFT,2024-01-02T14:30:04Z,,1,,',
        'MSFT,2024-01-02T14:30:05Z,NaN,1,,',
        'GOOG,1704205806,140.1,7,,',
      ].join('\n'),
    );
    const r = await read(p);
    assert.deepEqual(r.ticks.map((t) => [t.symbol, t.seq, t.ts]), [['AAPL', 1, Date.UTC(2024, 0, 2, 14, 30) * 1000], ['GOOG', 8, 1704205806 * 1_000_000]]);
    assert.deepEqual(
      r.bad.map((b) => [b.row, b.column, b.value]),
      [[2, 'price', 'abc'], [3, 'ts', 'yesterday'], [4, 'symbol', null], [5, 'size', 'lots'], [6, 'price', null], [7, 'price', 'NaN']],
    );
    assert.equal(r.bad[0]!.message, 'row 2: column "price": "abc" is not a number');
    assert.match(r.bad[1]!.message, /^row 3: column "ts": "yesterday" is not an ISO 8601 date-time or epoch number$/);
    assert.equal(r.bad[2]!.message, 'row 4: column "symbol" is required');
    assert.equal(r.bad[4]!.message, 'row 6: column "price" is required');
    assert.equal(r.bad[0]!.symbol, 'AAPL', 'what could be read is kept for the quarantine zone');
    assert.equal(r.bad[0]!.ts, Date.UTC(2024, 0, 2, 14, 30, 1) * 1000);
  });

  test('CSV lines that do not split into the header\'s columns are reported by line after the scan', async () => {
    const p = await file('ragged.csv', 'symbol,ts,price\nAAPL,2024-01-02T14:30:00Z,1\nAAPL,2024-01-02T14:30:01Z,2,extra\nAAPL,2024-01-02T14:30:02Z\nAAPL,2024-01-02T14:30:03Z,4\n');
    const r = await read(p);
    assert.deepEqual(r.ticks.map((t) => t.price), [1, 4]);
    assert.deepEqual(r.rejects.map((b) => [b.line, b.value]), [[3, 'AAPL,2024-01-02T14:30:01Z,2,extra'], [4, 'AAPL,2024-01-02T14:30:02Z']]);
    assert.match(r.rejects[0]!.message, /^line 3: too many columns/);
    assert.match(r.rejects[1]!.message, /^line 4: missing columns/);
  });

  test('JSON lines: a line that is not JSON, or not an object, is one bad line; blank lines are skipped', async () => {
    const p = await file(
      'mixed.jsonl',
      ['{"symbol":"AAPL","ts":"2024-01-02T14:30:00Z","price":1,"size":2}', 'not json', '', '[1,2]', '{"symbol":"AAPL","ts":1704205801500,"price":"3.5"}', '{"symbol":"AAPL","ts":"2024-01-02T14:30:02Z","price":"x"}'].join('\n'),
    );
    const r = await read(p);
    assert.deepEqual(r.ticks.map((t) => [t.seq, t.ts, t.price, t.size]), [[1, Date.UTC(2024, 0, 2, 14, 30) * 1000, 1, 2], [5, 1704205801500 * 1000, 3.5, 0]]);
    assert.deepEqual(r.bad.map((b) => [b.line, b.column, b.value]), [[2, '(line)', 'not json'], [4, '(line)', '[1,2]'], [6, 'price', 'x']]);
    assert.equal(r.bad[0]!.message, 'line 2: "not json" is not valid JSON');
    assert.equal(r.bad[1]!.message, 'line 4: "[1,2]" is a JSON array, not an object');
  });

  test('Yahoo daily CSV: bars exactly as written, UTC midnight of the date, symbol from the file name', async () => {
    const r = await read(join(FIXTURES, 'AAPL.csv'));
    assert.equal(r.layout, 'daily');
    assert.equal(r.bars.length, 6);
    assert.deepEqual(r.bars[0], {
      symbol: 'AAPL',
      interval: '1d',
      start: day('2024-01-02'),
      open: 187.149994,
      high: 188.440002,
      low: 183.889999,
      close: 185.639999,
      volume: 82488700,
      trades: 0,
      firstTs: day('2024-01-02'),
      lastTs: day('2024-01-02') + DAY - 1,
    });
    assert.deepEqual(r.bars.map((b) => b.start), ['2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-08', '2024-01-09'].map(day));
  });

  test('daily: without Adj Close, "null" days skipped, bad days reported, --symbol over the file name', async () => {
    const p = await file(
      'daily prices.csv',
      ['Date,Open,High,Low,Close,Volume', '2024-01-02,1,2,0.5,1.5,100', '2024-01-03,null,null,null,null,null', '2024-01-04,1,2,0.5,oops,100', '2024-13-01,1,2,0.5,1.5,100', '2024-01-05,1,2,0.5,1.75,'].join('\n'),
    );
    await assert.rejects(read(p), /has no symbol column and its name is not a symbol|pass --symbol/);
    const r = await read(p, { symbol: 'msft' });
    assert.deepEqual(r.bars.map((b) => [b.symbol, b.start, b.close, b.volume]), [['MSFT', day('2024-01-02'), 1.5, 100], ['MSFT', day('2024-01-05'), 1.75, 0]]);
    assert.equal(r.skipped, 1);
    assert.deepEqual(r.bad.map((b) => [b.row, b.column, b.value]), [[3, 'Close', 'oops'], [4, 'Date', '2024-13-01']]);
    assert.match(r.bad[1]!.message, /^row 4: column "Date": "2024-13-01" is not a date$/);
  });

  test('--map, --ts-format and --tz: a file in its own words', async () => {
    const p = await file('fx.csv', 'When;Rate;Qty\n02/01/2024 09:30:00;1.0951;5\n02/01/2024 09:30:01;1.0952;6\n');
    const r = await read(p, { delim: ';', map: parseMap('ts=When,price=Rate,size=Qty'), symbol: 'EURUSD=X', tsFormat: '%d/%m/%Y %H:%M:%S', tz: 'Europe/London' });
    assert.deepEqual(r.ticks.map((t) => [t.symbol, t.ts, t.price, t.size]), [['EURUSD=X', Date.UTC(2024, 0, 2, 9, 30, 0) * 1000, 1.0951, 5], ['EURUSD=X', Date.UTC(2024, 0, 2, 9, 30, 1) * 1000, 1.0952, 6]]);
    const ny = await read(await file('ny.csv', 'symbol,ts,price\nAAPL,2024-07-01 09:30:00,1\nAAPL,2024-07-01T13:30:00Z,2\n'), { tz: 'America/New_York' });
    assert.deepEqual(ny.ticks.map((t) => t.ts), [Date.UTC(2024, 6, 1, 13, 30) * 1000, Date.UTC(2024, 6, 1, 13, 30) * 1000], 'no offset: --tz; an offset wins');
    const ms = await read(await file('ms.csv', 'symbol,time,price\nAAPL,1704205800,1\n'), { tsFormat: 'ms' });
    assert.equal(ms.ticks[0]!.ts, 1704205800 * 1000, 'an epoch unit overrides the magnitude rule');
  });

  test('skipping rows (a resumed run) starts after them, keeping row numbers', async () => {
    const r = await read(join(FIXTURES, 'ticks.csv'), {}, 25);
    assert.deepEqual(r.ticks.map((t) => t.seq), [26, 27, 28, 29, 30]);
    assert.equal(r.end, 30);
  });

  test('a file that cannot be read at all fails once, up front, with a clear message', async () => {
    await assert.rejects(read(join(dir, 'missing.csv')), { code: 'TL_ERR_VALIDATION', message: /missing\.csv: no such file/ });
    await assert.rejects(read(await file('x.bin', 'abc')), { code: 'TL_ERR_VALIDATION', message: /cannot tell the format of x\.bin/ });
    await assert.rejects(read(await file('bad.parquet', 'this is not parquet')), { code: 'TL_ERR_VALIDATION', message: /cannot read .*bad\.parquet as parquet/ });
    await assert.rejects(read(await file('nothing.jsonl', 'a\nb\n')), { code: 'TL_ERR_VALIDATION', message: /no line of the first 1000 is a JSON object/ });
    await assert.rejects(read(await file('cols.csv', 'a,b,c\n1,2,3\n')), { code: 'TL_ERR_VALIDATION', message: /cannot find the ts, price columns of a ticks file among "a", "b", "c"; name them with --map/ });
    await assert.rejects(read(join(FIXTURES, 'ticks.csv'), { map: parseMap('price=Close') }), { code: 'TL_ERR_VALIDATION', message: /--map price=Close: ticks\.csv has no column "Close"/ });
    await assert.rejects(read(join(FIXTURES, 'ticks.csv'), { tz: 'Mars/Olympus' }), { code: 'TL_ERR_VALIDATION', message: /--tz: unknown time zone "Mars\/Olympus"/ });
    await assert.rejects(read(join(FIXTURES, 'ticks.csv'), { tsFormat: '%Q' }), { code: 'TL_ERR_VALIDATION', message: /--ts-format: "%Q" is not a valid strptime format/ });
    assert.throws(() => parseMap('ts'), /--map: "ts" is not field=Column/);
    assert.throws(() => parseMap('when=Date'), /--map: unknown field "when"/);
  });

  test('symbols from file names', () => {
    assert.equal(symbolFromFileName('/x/AAPL.csv'), 'AAPL');
    assert.equal(symbolFromFileName('brk-b.csv.gz'), 'BRK-B');
    assert.equal(symbolFromFileName('VOD.L.csv'), 'VOD.L');
    assert.equal(symbolFromFileName('^GSPC.csv'), '^GSPC');
    assert.equal(symbolFromFileName('my prices.csv'), undefined);
  });
});
