import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tickToJsonLine, type Tick } from '../../core/tick.ts';
import { ParquetFiles } from './parquet.ts';

const T0 = Date.UTC(2024, 0, 2, 3) * 1000;

/** Rows in no particular order, several equal in (symbol, ts, provider, seq) but not otherwise. */
function ticks(n: number): Tick[] {
  return Array.from({ length: n }, (_, i) => {
    const k = (i * 7919) % n;
    return {
      symbol: ['MSFT', 'AAPL', 'BTC-USD'][k % 3]!,
      ts: T0 + Math.floor(k / 2),
      price: 100 + (k % 11),
      size: k % 5,
      bid: k % 4 === 0 ? null : 99,
      ask: null,
      currency: 'USD',
      provider: 'sim',
      seq: k % 6 === 0 ? null : Math.floor(k / 2),
      recvTs: T0 + k,
    };
  });
}

describe('ParquetFiles', () => {
  let dir: string;
  const engines: ParquetFiles[] = [];
  const engine = (threads: number) => {
    const p = new ParquetFiles({ tempDir: join(dir, 'spill'), threads });
    engines.push(p);
    return p;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tickline-parquet-'));
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the same bytes for the same rows, whatever their input order and the thread count', async () => {
    const rows = ticks(150_000);
    await writeFile(join(dir, 'a.jsonl'), rows.map((t) => `${tickToJsonLine(t)}\n`).join(''));
    await writeFile(join(dir, 'b.jsonl'), [...rows].reverse().map((t) => `${tickToJsonLine(t)}\n`).join(''));
    await engine(1).fromJsonLines([join(dir, 'a.jsonl')], join(dir, 'a1.parquet'));
    await engine(4).fromJsonLines([join(dir, 'b.jsonl')], join(dir, 'b4.parquet'));
    const [a, b] = await Promise.all([readFile(join(dir, 'a1.parquet')), readFile(join(dir, 'b4.parquet'))]);
    assert.ok(a.length > 1000);
    assert.ok(a.equals(b), 'byte-identical');
  });

  it('reads rows back sorted, in the JSON-line shape, filtered to [from, to)', async () => {
    const rows = ticks(30);
    await writeFile(join(dir, 'c.jsonl'), rows.map((t) => `${tickToJsonLine(t, ',"note":"ignored"')}\n`).join(''));
    const p = engine(2);
    await p.fromJsonLines([join(dir, 'c.jsonl')], join(dir, 'c.parquet'));
    const got: Array<Record<string, unknown>> = [];
    for await (const batch of p.rows(join(dir, 'c.parquet'), T0 + 3, T0 + 6)) got.push(...batch);
    const want = rows
      .filter((t) => t.ts >= T0 + 3 && t.ts < T0 + 6)
      .sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : x.ts - y.ts || (x.seq ?? Infinity) - (y.seq ?? Infinity) || x.recvTs - y.recvTs))
      .map((t) => JSON.parse(tickToJsonLine(t)) as Record<string, unknown>);
    assert.deepEqual(got, want);
  });

  it('names the file when it cannot write or read', async () => {
    const p = engine(1);
    await assert.rejects(p.fromJsonLines([join(dir, 'missing.jsonl')], join(dir, 'x.parquet')), { code: 'TL_ERR_ZONE', message: /x\.parquet/ });
    await assert.rejects(p.rows(join(dir, 'missing.parquet'), -Infinity, Infinity).next(), { code: 'TL_ERR_ZONE', message: /missing\.parquet/ });
  });
});
