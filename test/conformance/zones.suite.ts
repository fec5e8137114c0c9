import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Tick } from '../../src/core/tick.ts';
import type { ZoneAnnotation, Zones } from '../../src/ports/zones.ts';

export interface ZonesHarness {
  zones: Zones;
  /** Opens another adapter on the same storage with URL query options (e.g. `retainRaw=2h`); the caller closes it. */
  open(query?: string): Promise<Zones>;
  /** A local directory holding the visible zone files as they are now: the zones directory itself, or a download. */
  snapshot(): Promise<string>;
  cleanup(): Promise<void>;
}

const H = 3_600_000_000;
/** 2024-01-02T23:59:58.123456Z: two hours apart crosses a day boundary. */
const T0 = Date.UTC(2024, 0, 2, 23, 59, 58) * 1000 + 123_456;
/** Start of the hour of T0. */
const H0 = Math.floor(T0 / H) * H;
const PART_RE = /^(raw|curated|quarantine)\/[a-z0-9_-]+\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/part-[^/]+\.(jsonl|jsonl\.gz|parquet)$/;

export function tick(i: number, ts = T0 + i): Tick {
  return {
    symbol: i % 2 === 0 ? 'AAPL' : 'BTC-USD',
    ts,
    price: 100 + i / 100,
    size: i,
    bid: i % 3 === 0 ? null : 99.5,
    ask: i % 3 === 0 ? null : 100.5,
    currency: 'USD',
    provider: 'sim',
    seq: i % 5 === 0 ? null : i,
    recvTs: ts + 7,
  };
}

function expectedLine(t: Tick, a?: ZoneAnnotation): Record<string, unknown> {
  return {
    symbol: t.symbol,
    ts: iso(t.ts),
    price: t.price,
    size: t.size,
    bid: t.bid,
    ask: t.ask,
    currency: t.currency,
    provider: t.provider,
    seq: t.seq,
    received_at: iso(t.recvTs),
    ...a,
  };
}

/** Independent of core/time.ts on purpose, so a formatting bug there is caught here. */
function iso(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
}

/** The documented curated order; test ticks differ in (symbol, ts), so this is total here. */
function curatedOrder(a: Tick, b: Tick): number {
  return a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.ts - b.ts;
}

async function readRows(root: string, paths: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const p of paths) {
    const bytes = await readFile(join(root, p));
    const text = (p.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    assert.ok(text.endsWith('\n'), `${p} ends with a newline`);
    for (const line of text.slice(0, -1).split('\n')) rows.push(JSON.parse(line) as Record<string, unknown>);
  }
  return rows;
}

async function readAll(zones: Zones, zone: 'raw' | 'curated' | 'quarantine', range: { from?: number; to?: number }, dataset = 'ticks') {
  const batches: Array<Array<Record<string, unknown>>> = [];
  for await (const b of zones.read(zone, dataset, range)) batches.push(b);
  return { rows: batches.flat(), sizes: batches.map((b) => b.length) };
}

/** Runs SQL on a fresh in-memory DuckDB, rows as plain JS values. */
export async function duckQuery(sql: string): Promise<Array<Record<string, unknown>>> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as Array<Record<string, unknown>>;
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, mention?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as { code?: string }).code, code);
    if (mention !== undefined) assert.match((e as Error).message, new RegExp(mention));
    return true;
  });
}

/** Behaviour every Zones adapter must show. `make` builds a fresh, empty adapter with default settings. */
export function zonesConformance(name: string, make: () => Promise<ZonesHarness>): void {
  describe(`Zones conformance: ${name}`, () => {
    async function withZones(fn: (h: ZonesHarness) => Promise<void>): Promise<void> {
      const h = await make();
      try {
        await fn(h);
      } finally {
        await h.zones.close().catch(() => {});
        await h.cleanup();
      }
    }

    it('reports a kind and healthy state', () =>
      withZones(async ({ zones }) => {
        assert.equal(typeof zones.kind, 'string');
        assert.ok(zones.kind.length > 0);
        const health = await zones.health();
        assert.equal(health.ok, true, health.detail);
      }));

    it('round-trips every field, with µs timestamps as ISO with six digits', () =>
      withZones(async ({ zones, snapshot }) => {
        const ticks = Array.from({ length: 20 }, (_, i) => tick(i));
        await zones.append('raw', 'ticks', ticks);
        await zones.flush();
        const files = await zones.list('raw', 'ticks');
        assert.equal(files.length, 1);
        assert.match(files[0]!, PART_RE);
        assert.ok(files[0]!.startsWith('raw/ticks/date=2024-01-02/hour=23/'), files[0]);
        assert.ok(files[0]!.endsWith('.jsonl'), files[0]);
        const rows = await readRows(await snapshot(), files);
        assert.deepEqual(rows, ticks.map((t) => expectedLine(t)));
        assert.equal(rows[0]!.ts, '2024-01-02T23:59:58.123456Z');
        assert.equal(rows[0]!.received_at, '2024-01-02T23:59:58.123463Z');
      }));

    it('stores annotations next to the tick', () =>
      withZones(async ({ zones, snapshot }) => {
        const ticks = [tick(1), tick(2), tick(3)];
        const reason = { reason: 'price must be > 0, got -1 "quoted"', check: 'price_positive' };
        const annotations: ZoneAnnotation[] = [reason, { reason: 'crossed quote', n: 2, hard: true, extra: null }, reason];
        await zones.append('quarantine', 'ticks', ticks, annotations);
        await zones.flush();
        const files = await zones.list('quarantine', 'ticks');
        assert.equal(files.length, 1);
        assert.ok(files[0]!.startsWith('quarantine/ticks/'));
        assert.deepEqual(await readRows(await snapshot(), files), ticks.map((t, i) => expectedLine(t, annotations[i])));
        assert.deepEqual((await readAll(zones, 'quarantine', {})).rows, ticks.map((t, i) => expectedLine(t, annotations[i])));
      }));

    it('partitions by event time across hours and days, not by arrival', () =>
      withZones(async ({ zones, snapshot }) => {
        // Interleaved so one batch feeds three partitions.
        const ticks = Array.from({ length: 30 }, (_, i) => tick(i, T0 + (i % 3) * H + i));
        await zones.append('raw', 'ticks', ticks);
        await zones.flush();
        const files = await zones.list('raw', 'ticks');
        const partitions = files.map((f) => f.split('/').slice(2, 4).join('/'));
        assert.deepEqual(partitions, ['date=2024-01-02/hour=23', 'date=2024-01-03/hour=00', 'date=2024-01-03/hour=01']);
        const dir = await snapshot();
        for (const [k, file] of files.entries()) {
          const want = ticks.filter((_, i) => i % 3 === k).map((t) => expectedLine(t));
          assert.deepEqual(await readRows(dir, [file]), want, file);
        }
      }));

    it('keeps appended data hidden until flush makes it visible', () =>
      withZones(async ({ zones }) => {
        await zones.append('raw', 'ticks', [tick(1), tick(2)]);
        await zones.append('curated', 'ticks', [tick(1), tick(2)]);
        assert.deepEqual(await zones.list('raw', 'ticks'), []);
        assert.deepEqual(await zones.list('raw'), []);
        assert.deepEqual(await zones.list('curated'), []);
        assert.deepEqual((await readAll(zones, 'curated', {})).rows, []);
        await zones.flush();
        assert.equal((await zones.list('raw', 'ticks')).length, 1);
        assert.equal((await zones.list('curated', 'ticks')).length, 1);
        // A second flush with nothing new adds no empty files.
        await zones.flush();
        assert.equal((await zones.list('raw', 'ticks')).length, 1);
        await zones.append('raw', 'ticks', [tick(3)]);
        await zones.flush();
        const files = await zones.list('raw', 'ticks');
        assert.equal(files.length, 2);
        assert.deepEqual(files, [...files].sort());
      }));

    it('lists by zone and dataset', () =>
      withZones(async ({ zones }) => {
        await zones.append('raw', 'ticks', [tick(1)]);
        await zones.append('raw', 'trades', [tick(2)]);
        await zones.append('curated', 'ticks', [tick(3)]);
        await zones.flush();
        const raw = await zones.list('raw');
        assert.equal(raw.length, 2);
        assert.deepEqual(raw, [...raw].sort());
        assert.ok(raw[0]!.startsWith('raw/ticks/'));
        assert.ok(raw[1]!.startsWith('raw/trades/'));
        assert.equal((await zones.list('raw', 'trades')).length, 1);
        assert.equal((await zones.list('curated')).length, 1);
        assert.deepEqual(await zones.list('quarantine'), []);
        assert.deepEqual(await zones.list('raw', 'never_written'), []);
      }));

    it('ignores an empty append', () =>
      withZones(async ({ zones }) => {
        await zones.append('raw', 'ticks', []);
        await zones.flush();
        assert.deepEqual(await zones.list('raw'), []);
      }));

    it('keeps concurrent appends as complete lines, in call order', () =>
      withZones(async ({ zones, snapshot }) => {
        const batches = Array.from({ length: 40 }, (_, b) => Array.from({ length: 250 }, (_, i) => tick(b * 250 + i)));
        await Promise.all(batches.map((batch) => zones.append('raw', 'ticks', batch)));
        await zones.flush();
        const files = await zones.list('raw', 'ticks');
        assert.ok(files.length >= 1);
        const rows = await readRows(await snapshot(), files);
        assert.equal(rows.length, 10_000);
        // One hour partition, so file order plus line order is call order.
        assert.deepEqual(rows, batches.flat().map((t) => expectedLine(t)));
      }));

    it('rejects unknown zones, bad dataset names and annotation mismatches with a clear error', () =>
      withZones(async ({ zones }) => {
        await rejectsWith(zones.append('gold' as never, 'ticks', [tick(1)]), 'TL_ERR_ZONE', 'gold');
        await rejectsWith(zones.append('raw', 'Ticks', [tick(1)]), 'TL_ERR_ZONE', 'Ticks');
        await rejectsWith(zones.append('raw', '../etc', [tick(1)]), 'TL_ERR_ZONE', 'etc');
        await rejectsWith(zones.append('raw', '', [tick(1)]), 'TL_ERR_ZONE');
        await rejectsWith(zones.list('silver' as never), 'TL_ERR_ZONE', 'silver');
        await rejectsWith(zones.list('raw', 'a/b'), 'TL_ERR_ZONE', 'a/b');
        await rejectsWith(zones.append('quarantine', 'ticks', [tick(1), tick(2)], [{ reason: 'x' }]), 'TL_ERR_ZONE', '1 annotations for 2 ticks');
        await rejectsWith(zones.append('quarantine', 'ticks', [tick(1)], [{ price: 3 }]), 'TL_ERR_ZONE', 'price');
        await rejectsWith(zones.append('curated', 'ticks', [tick(1)], [{ reason: 'x' }]), 'TL_ERR_ZONE', 'annotations');
        await rejectsWith(zones.append('raw', 'ticks', [tick(1, Number.NaN)]), 'TL_ERR_ZONE', 'NaN');
        await zones.flush();
        assert.deepEqual(await zones.list('raw'), []);
        assert.deepEqual(await zones.list('quarantine'), []);
        assert.deepEqual(await zones.list('curated'), []);
      }));

    it('close publishes everything, is idempotent, and refuses later appends', () =>
      withZones(async ({ zones, snapshot }) => {
        await zones.append('raw', 'ticks', [tick(1), tick(2)]);
        await zones.append('curated', 'ticks', [tick(1), tick(2)]);
        const pending = zones.append('raw', 'ticks', [tick(3)]);
        await Promise.all([zones.close(), zones.close()]);
        await pending;
        await zones.close();
        const files = await zones.list('raw', 'ticks');
        assert.equal(files.length, 1);
        assert.equal((await readRows(await snapshot(), files)).length, 3);
        assert.equal((await zones.list('curated', 'ticks')).length, 1);
        await rejectsWith(zones.append('raw', 'ticks', [tick(4)]), 'TL_ERR_CLOSED');
        await rejectsWith(zones.replaceHour('ticks', H0, []), 'TL_ERR_CLOSED');
        await rejectsWith(zones.putDoc('a.json', '{}'), 'TL_ERR_CLOSED');
      }));

    describe('curated Parquet', () => {
      it('writes typed, sorted Parquet per hour that DuckDB reads, and reads it back in the JSON-line shape', () =>
        withZones(async ({ zones, snapshot }) => {
          // Interleaved across three hours and two days, symbols alternating, so sorting matters.
          const ticks = Array.from({ length: 30 }, (_, i) => tick(i, T0 + (i % 3) * H + i));
          await zones.append('curated', 'ticks', ticks.slice(0, 13));
          await zones.append('curated', 'ticks', ticks.slice(13));
          await zones.flush();
          const files = await zones.list('curated', 'ticks');
          assert.equal(files.length, 3, files.join('\n'));
          for (const f of files) assert.match(f, /\.parquet$/);
          const dir = await snapshot();
          const schema = await duckQuery(`SELECT name, type FROM parquet_schema('${join(dir, files[0]!)}') WHERE name <> 'duckdb_schema'`);
          assert.deepEqual(
            schema.map((c) => c.name),
            ['symbol', 'ts', 'price', 'size', 'bid', 'ask', 'currency', 'provider', 'seq', 'received_at'],
          );
          const types = await duckQuery(`DESCRIBE SELECT * FROM read_parquet('${join(dir, files[0]!)}', hive_partitioning = false)`);
          assert.deepEqual(
            types.map((c) => c.column_type),
            ['VARCHAR', 'TIMESTAMP WITH TIME ZONE', 'DOUBLE', 'DOUBLE', 'DOUBLE', 'DOUBLE', 'VARCHAR', 'VARCHAR', 'BIGINT', 'TIMESTAMP WITH TIME ZONE'],
          );
          for (const [k, f] of files.entries()) {
            const got = await duckQuery(
              `SELECT symbol, epoch_us(ts)::DOUBLE AS ts, price, bid, seq::DOUBLE AS seq, epoch_us(received_at)::DOUBLE AS recv FROM read_parquet('${join(dir, f)}')`,
            );
            const want = ticks.filter((_, i) => i % 3 === k).sort(curatedOrder);
            assert.deepEqual(got, want.map((t) => ({ symbol: t.symbol, ts: t.ts, price: t.price, bid: t.bid, seq: t.seq, recv: t.recvTs })), f);
          }
          const read = await readAll(zones, 'curated', {});
          const byHour = [0, 1, 2].flatMap((k) => ticks.filter((_, i) => i % 3 === k).sort(curatedOrder));
          assert.deepEqual(read.rows, byHour.map((t) => expectedLine(t)));
        }));

      it('compacts an hour that collected more than four parts into one file', () =>
        withZones(async ({ zones }) => {
          const all: Tick[] = [];
          for (let round = 0; round < 6; round++) {
            const ticks = Array.from({ length: 5 }, (_, i) => tick(round * 5 + i, H0 + round * 1000 + i));
            all.push(...ticks);
            await zones.append('curated', 'ticks', ticks);
            await zones.flush();
          }
          const files = await zones.list('curated', 'ticks');
          // Five parts became one after the fifth flush; the sixth added one more.
          assert.equal(files.length, 2, files.join('\n'));
          const rows = (await readAll(zones, 'curated', {})).rows;
          assert.equal(rows.length, 30);
          assert.deepEqual(
            rows.map((r) => `${String(r.symbol)}@${String(r.ts)}`).sort(),
            all.map((t) => `${t.symbol}@${iso(t.ts)}`).sort(),
          );
        }));

      it('replaceHour writes exactly the given ticks, byte-identical when repeated, and leaves no other file in the hour', () =>
        withZones(async ({ zones, snapshot }) => {
          await zones.append('curated', 'ticks', [tick(1, H0 + 10), tick(2, H0 + 20)]);
          await zones.flush();
          await zones.append('curated', 'ticks', [tick(3, H0 + 30), tick(4, H0 + H + 40)]);
          // Appended but not flushed: replaced as well.
          await zones.append('curated', 'ticks', [tick(5, H0 + 50)]);
          const replacement = [tick(9, H0 + 900), tick(8, H0 + 800), tick(7, H0 + 700)];
          await zones.replaceHour('ticks', H0, replacement);
          await zones.flush();
          const hourFiles = async () => (await zones.list('curated', 'ticks')).filter((f) => f.includes('date=2024-01-02/hour=23/'));
          const first = await hourFiles();
          assert.equal(first.length, 1, first.join('\n'));
          const firstBytes = await readFile(join(await snapshot(), first[0]!));
          await zones.replaceHour('ticks', H0, [...replacement].reverse());
          const second = await hourFiles();
          assert.deepEqual(second, first);
          assert.ok(firstBytes.equals(await readFile(join(await snapshot(), second[0]!))), 'same ticks, same bytes');
          assert.deepEqual((await readAll(zones, 'curated', { from: H0, to: H0 + H })).rows, [...replacement].sort(curatedOrder).map((t) => expectedLine(t)));
          // Other hours are untouched.
          assert.deepEqual((await readAll(zones, 'curated', { from: H0 + H })).rows, [expectedLine(tick(4, H0 + H + 40))]);
          // Different ticks give a different file; no ticks leave the hour without files.
          await zones.replaceHour('ticks', H0, [tick(6, H0 + 600)]);
          const third = await hourFiles();
          assert.equal(third.length, 1);
          assert.notEqual(third[0], first[0]);
          await zones.replaceHour('ticks', H0, []);
          assert.deepEqual(await hourFiles(), []);
          assert.deepEqual((await readAll(zones, 'curated', { from: H0, to: H0 + H })).rows, []);
        }));

      it('replaceHour rejects a misaligned hour and ticks outside it', () =>
        withZones(async ({ zones }) => {
          await rejectsWith(zones.replaceHour('ticks', H0 + 1, []), 'TL_ERR_ZONE', 'hourUs');
          await rejectsWith(zones.replaceHour('ticks', H0, [tick(1, H0 + 5), tick(2, H0 + H)]), 'TL_ERR_ZONE', 'tick 1 .*2024-01-03T00:00:00.000000Z');
          await rejectsWith(zones.replaceHour('Bad', H0, []), 'TL_ERR_ZONE', 'Bad');
          assert.deepEqual(await zones.list('curated'), []);
        }));
    });

    describe('read', () => {
      it('returns the rows of a range across hours and days, partition by partition', () =>
        withZones(async ({ zones }) => {
          // One tick every 10 minutes from 23:00 on Jan 2 to 01:50 on Jan 3.
          const ticks = Array.from({ length: 18 }, (_, i) => tick(i, H0 + i * 600_000_000));
          await zones.append('raw', 'ticks', ticks.slice(9));
          await zones.append('raw', 'ticks', ticks.slice(0, 9));
          await zones.flush();
          // Rows come in file order (here: append order within an hour), so compare them sorted.
          const rowsOf = async (from?: number, to?: number) => (await readAll(zones, 'raw', { from, to })).rows.map((r) => String(r.ts)).sort();
          const want = (from: number, to: number) => ticks.filter((t) => t.ts >= from && t.ts < to).map((t) => iso(t.ts));
          assert.deepEqual(await rowsOf(), ticks.map((t) => iso(t.ts)));
          // [23:25, 00:35): the end of one day and the start of the next, bounds inside hours.
          assert.deepEqual(await rowsOf(H0 + 1_500_000_000, H0 + H + 2_100_000_000), want(H0 + 1_500_000_000, H0 + H + 2_100_000_000));
          // A bound exactly on a tick: from is inclusive, to exclusive.
          assert.deepEqual(await rowsOf(H0 + 600_000_000, H0 + 1_200_000_000), [iso(H0 + 600_000_000)]);
          assert.deepEqual(await rowsOf(H0 + H), want(H0 + H, Infinity));
          assert.deepEqual(await rowsOf(undefined, H0 + H), want(-Infinity, H0 + H));
          assert.deepEqual(await rowsOf(H0 + 3 * H), []);
          assert.deepEqual(await rowsOf(H0 + 10, H0 + 10), []);
          assert.deepEqual((await readAll(zones, 'raw', {}, 'other')).rows, []);
        }));

      it('hands rows over in batches of at most 8192', () =>
        withZones(async ({ zones }) => {
          const ticks = Array.from({ length: 20_000 }, (_, i) => tick(i, H0 + i));
          await zones.append('raw', 'ticks', ticks);
          await zones.append('curated', 'ticks', ticks);
          await zones.flush();
          const raw = await readAll(zones, 'raw', {});
          assert.deepEqual(raw.sizes, [8192, 8192, 3616]);
          assert.deepEqual(raw.rows.map((r) => r.seq), ticks.map((t) => t.seq));
          const curated = await readAll(zones, 'curated', { from: H0 + 100, to: H0 + 19_100 });
          assert.ok(curated.sizes.every((n) => n <= 8192), curated.sizes.join());
          assert.equal(curated.rows.length, 19_000);
          assert.deepEqual(curated.rows[0], expectedLine(ticks[100]!));
        }));

      it('rejects bad arguments', () =>
        withZones(async ({ zones }) => {
          await rejectsWith(readAll(zones, 'gold' as never, {}), 'TL_ERR_ZONE', 'gold');
          await rejectsWith(readAll(zones, 'raw', {}, '../x'), 'TL_ERR_ZONE', 'x');
          await rejectsWith(readAll(zones, 'raw', { from: Number.NaN }), 'TL_ERR_ZONE', 'range.from');
        }));
    });

    describe('documents', () => {
      it('puts, replaces, gets and lists documents by prefix, outside the zones', () =>
        withZones(async ({ zones }) => {
          assert.equal(await zones.getDoc('quality/runs/2026-11-21/a.json'), null);
          await zones.putDoc('quality/runs/2026-11-21/b.json', '{"n":1}');
          await zones.putDoc('quality/runs/2026-11-21/a.json', '{"n":2}');
          await zones.putDoc('quality/runs/2026-11-22/c.json', '{"n":3}');
          await zones.putDoc('quality/releases/r=1.json', '{"n":4}');
          await zones.putDoc('quality/runs/2026-11-21/a.json', '{"n":"é, replaced"}');
          assert.equal(await zones.getDoc('quality/runs/2026-11-21/a.json'), '{"n":"é, replaced"}');
          assert.deepEqual(await zones.listDocs('quality/runs/'), [
            'quality/runs/2026-11-21/a.json',
            'quality/runs/2026-11-21/b.json',
            'quality/runs/2026-11-22/c.json',
          ]);
          assert.deepEqual(await zones.listDocs('quality/runs/2026-11-2'), [
            'quality/runs/2026-11-21/a.json',
            'quality/runs/2026-11-21/b.json',
            'quality/runs/2026-11-22/c.json',
          ]);
          assert.deepEqual(await zones.listDocs('quality/releases/'), ['quality/releases/r=1.json']);
          assert.equal((await zones.listDocs('')).length, 4);
          assert.deepEqual(await zones.listDocs('nothing/'), []);
          for (const zone of ['raw', 'curated', 'quarantine'] as const) assert.deepEqual(await zones.list(zone), []);
        }));

      it('rejects keys that could leave the documents root', async () =>
        withZones(async ({ zones }) => {
          for (const key of ['../x.json', 'a/../../x.json', '/etc/passwd', 'a//b.json', 'a/./b.json', '.hidden', 'a b.json', 'a\\b.json', '', 'a/']) {
            await rejectsWith(zones.putDoc(key, '{}'), 'TL_ERR_ZONE', 'document key');
            await rejectsWith(zones.getDoc(key), 'TL_ERR_ZONE', 'document key');
          }
          await rejectsWith(zones.listDocs('../'), 'TL_ERR_ZONE', 'prefix');
          await rejectsWith(zones.listDocs('/abs'), 'TL_ERR_ZONE', 'prefix');
          assert.deepEqual(await zones.listDocs(''), []);
        }));
    });

    describe('retention', () => {
      it('deletes whole expired hour partitions per zone and says how many files', () =>
        withZones(async ({ open }) => {
          const z = await open('retainRaw=2h&retainQuarantine=1d');
          try {
            // Opening applied retention against the real clock: 2024 is long gone, but nothing was there yet.
            for (let k = 0; k < 4; k++) {
              await z.append('raw', 'ticks', [tick(k, H0 + k * H + 5)]);
              await z.append('quarantine', 'ticks', [tick(k, H0 + k * H + 5)], [{ reason: 'x' }]);
              await z.append('curated', 'ticks', [tick(k, H0 + k * H + 5)]);
            }
            await z.append('raw', 'trades', [tick(9, H0 + 5)]);
            await z.flush();
            assert.equal((await z.list('raw')).length, 5);
            // Cutoff 02:30 on Jan 3: hours 23, 00 and 01 have ended by then, 02 has not.
            const removed = await z.applyRetention(H0 + 3 * H + 1_800_000_000 + 2 * H);
            assert.equal(removed, 4);
            const raw = await z.list('raw');
            assert.deepEqual(raw.map((f) => f.split('/').slice(1, 4).join('/')), ['ticks/date=2024-01-03/hour=02']);
            assert.equal((await z.list('quarantine')).length, 4);
            assert.equal((await z.list('curated')).length, 4);
            assert.equal(await z.applyRetention(H0 + 5 * H), 0);
          } finally {
            await z.close();
          }
        }));

      it('applies retention when the zones are opened', () =>
        withZones(async ({ zones, open }) => {
          await zones.append('raw', 'ticks', [tick(1)]);
          await zones.append('curated', 'ticks', [tick(1)]);
          await zones.close();
          const z = await open('retainRaw=7d');
          try {
            assert.deepEqual(await z.list('raw'), []);
            assert.equal((await z.list('curated')).length, 1);
          } finally {
            await z.close();
          }
        }));
    });

    describe('options and reopening', () => {
      it('gzips raw parts when asked, each a complete gzip stream, and reads them back', () =>
        withZones(async ({ open, snapshot }) => {
          const z = await open('rawGzip=true');
          try {
            const ticks = Array.from({ length: 10 }, (_, i) => tick(i));
            await z.append('raw', 'ticks', ticks.slice(0, 5));
            await z.flush();
            await z.append('raw', 'ticks', ticks.slice(5));
            await z.append('quarantine', 'ticks', ticks.slice(0, 1), [{ reason: 'x' }]);
            await z.flush();
            const files = await z.list('raw', 'ticks');
            assert.equal(files.length, 2);
            for (const f of files) assert.match(f, /\.jsonl\.gz$/);
            assert.match((await z.list('quarantine'))[0]!, /\.jsonl$/);
            const dir = await snapshot();
            assert.deepEqual(await readRows(dir, files), ticks.map((t) => expectedLine(t)));
            assert.deepEqual((await readAll(z, 'raw', {})).rows, ticks.map((t) => expectedLine(t)));
            const viaDuck = await duckQuery(`SELECT count(*)::INT AS n FROM read_json_auto('${dir}/raw/**/*.jsonl.gz')`);
            assert.equal(viaDuck[0]!.n, 10);
          } finally {
            await z.close();
          }
        }));

      it('keeps what was written across a reopen', () =>
        withZones(async ({ zones, open }) => {
          await zones.append('raw', 'ticks', [tick(1), tick(2)]);
          await zones.append('curated', 'ticks', [tick(3)]);
          await zones.putDoc('x/y.json', '{}');
          await zones.close();
          const z = await open();
          try {
            assert.deepEqual((await readAll(z, 'raw', {})).rows, [expectedLine(tick(1)), expectedLine(tick(2))]);
            assert.deepEqual((await readAll(z, 'curated', {})).rows, [expectedLine(tick(3))]);
            assert.equal(await z.getDoc('x/y.json'), '{}');
          } finally {
            await z.close();
          }
        }));
    });

    it('is readable by plain DuckDB with hive partitioning, date and hour included', () =>
      withZones(async ({ zones, snapshot }) => {
        const ticks = Array.from({ length: 12 }, (_, i) => tick(i, T0 + (i % 3) * H + i));
        await zones.append('raw', 'ticks', ticks);
        await zones.append('curated', 'ticks', ticks);
        await zones.append('quarantine', 'ticks', ticks.slice(0, 2), [{ reason: 'a' }, { reason: 'b' }]);
        await zones.flush();
        const dir = await snapshot();
        const count = (rows: Array<Record<string, unknown>>) => rows.map((r) => `${String(r.date)} ${String(r.hour)} ${String(r.n)}`);
        const want = ['2024-01-02 23 4', '2024-01-03 0 4', '2024-01-03 1 4'];
        const raw = await duckQuery(
          `SELECT strftime(date, '%Y-%m-%d') AS date, hour::INT AS hour, count(*)::INT AS n FROM read_json_auto('${dir}/raw/*/*/*/*.jsonl', hive_partitioning = true) GROUP BY ALL ORDER BY ALL`,
        );
        assert.deepEqual(count(raw), want);
        const curated = await duckQuery(
          `SELECT strftime(date, '%Y-%m-%d') AS date, hour::INT AS hour, count(*)::INT AS n FROM read_parquet('${dir}/curated/*/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL`,
        );
        assert.deepEqual(count(curated), want);
        const q = await duckQuery(`SELECT reason FROM read_json_auto('${dir}/quarantine/**/*.jsonl', hive_partitioning = true) ORDER BY reason`);
        assert.deepEqual(q.map((r) => r.reason), ['a', 'b']);
      }));
  });
}
