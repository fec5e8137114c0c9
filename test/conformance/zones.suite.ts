import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Tick } from '../../src/core/tick.ts';
import type { ZoneAnnotation, Zones } from '../../src/ports/zones.ts';

export interface ZonesHarness {
  zones: Zones;
  /** Local directory the zone paths are relative to, so file contents can be checked; `null` skips those checks. */
  root: string | null;
  cleanup(): Promise<void>;
}

const H = 3_600_000_000;
/** 2024-01-02T23:59:58.123456Z: two hours apart crosses a day boundary. */
const T0 = Date.UTC(2024, 0, 2, 23, 59, 58) * 1000 + 123_456;
const PART_RE = /^(raw|curated|quarantine)\/[a-z0-9_-]+\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/part-[^/]+\.jsonl$/;

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

async function readRows(root: string, paths: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const p of paths) {
    const text = await readFile(join(root, p), 'utf8');
    assert.ok(text.endsWith('\n'), `${p} ends with a newline`);
    for (const line of text.slice(0, -1).split('\n')) rows.push(JSON.parse(line) as Record<string, unknown>);
  }
  return rows;
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
      withZones(async ({ zones, root }) => {
        const ticks = Array.from({ length: 20 }, (_, i) => tick(i));
        await zones.append('raw', 'ticks', ticks);
        await zones.flush();
        const files = await zones.list('raw', 'ticks');
        assert.equal(files.length, 1);
        assert.match(files[0]!, PART_RE);
        assert.ok(files[0]!.startsWith('raw/ticks/date=2024-01-02/hour=23/'), files[0]);
        if (root === null) return;
        const rows = await readRows(root, files);
        assert.deepEqual(rows, ticks.map((t) => expectedLine(t)));
        assert.equal(rows[0]!.ts, '2024-01-02T23:59:58.123456Z');
        assert.equal(rows[0]!.received_at, '2024-01-02T23:59:58.123463Z');
      }));

    it('stores annotations next to the tick', () =>
      withZones(async ({ zones, root }) => {
        const ticks = [tick(1), tick(2), tick(3)];
        const reason = { reason: 'price must be > 0, got -1 "quoted"', check: 'price_positive' };
        const annotations: ZoneAnnotation[] = [reason, { reason: 'crossed quote', n: 2, hard: true, extra: null }, reason];
        await zones.append('quarantine', 'ticks', ticks, annotations);
        await zones.flush();
        const files = await zones.list('quarantine', 'ticks');
        assert.equal(files.length, 1);
        assert.ok(files[0]!.startsWith('quarantine/ticks/'));
        if (root === null) return;
        const rows = await readRows(root, files);
        assert.deepEqual(rows, ticks.map((t, i) => expectedLine(t, annotations[i])));
      }));

    it('partitions by event time across hours and days, not by arrival', () =>
      withZones(async ({ zones, root }) => {
        // Interleaved so one batch feeds three partitions.
        const ticks = Array.from({ length: 30 }, (_, i) => tick(i, T0 + (i % 3) * H + i));
        await zones.append('curated', 'ticks', ticks);
        await zones.flush();
        const files = await zones.list('curated', 'ticks');
        const partitions = files.map((f) => f.split('/').slice(2, 4).join('/'));
        assert.deepEqual(partitions, ['date=2024-01-02/hour=23', 'date=2024-01-03/hour=00', 'date=2024-01-03/hour=01']);
        if (root === null) return;
        for (const [k, file] of files.entries()) {
          const rows = await readRows(root, [file]);
          const want = ticks.filter((_, i) => i % 3 === k).map((t) => expectedLine(t));
          assert.deepEqual(rows, want, file);
        }
      }));

    it('keeps appended data hidden until flush makes it visible', () =>
      withZones(async ({ zones }) => {
        await zones.append('raw', 'ticks', [tick(1), tick(2)]);
        assert.deepEqual(await zones.list('raw', 'ticks'), []);
        assert.deepEqual(await zones.list('raw'), []);
        await zones.flush();
        assert.equal((await zones.list('raw', 'ticks')).length, 1);
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
      withZones(async ({ zones, root }) => {
        const batches = Array.from({ length: 40 }, (_, b) => Array.from({ length: 250 }, (_, i) => tick(b * 250 + i)));
        await Promise.all(batches.map((batch) => zones.append('raw', 'ticks', batch)));
        await zones.flush();
        const files = await zones.list('raw', 'ticks');
        assert.ok(files.length >= 1);
        if (root === null) return;
        const rows = await readRows(root, files);
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
        await rejectsWith(zones.append('raw', 'ticks', [tick(1, Number.NaN)]), 'TL_ERR_ZONE', 'NaN');
        await zones.flush();
        assert.deepEqual(await zones.list('raw'), []);
        assert.deepEqual(await zones.list('quarantine'), []);
      }));

    it('close publishes everything, is idempotent, and refuses later appends', () =>
      withZones(async ({ zones, root }) => {
        await zones.append('raw', 'ticks', [tick(1), tick(2)]);
        const pending = zones.append('raw', 'ticks', [tick(3)]);
        await Promise.all([zones.close(), zones.close()]);
        await pending;
        await zones.close();
        const files = await zones.list('raw', 'ticks');
        assert.equal(files.length, 1);
        if (root !== null) assert.equal((await readRows(root, files)).length, 3);
        await rejectsWith(zones.append('raw', 'ticks', [tick(4)]), 'TL_ERR_CLOSED');
      }));
  });
}
