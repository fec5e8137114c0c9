/**
 * The Postgres store "ceiling": how fast the server takes exactly these rows by raw binary COPY into a
 * plain (logged, unindexed, unpartitioned) table with the adapter's columns, in one transaction timed
 * through COMMIT, encoding included. No identity check, no partition routing, no bars: what the adapter
 * adds on top of that is its price for idempotence and aggregation.
 *
 * Run directly to compare the postgres:// adapter with the ceiling on the same rows, in the same run:
 *   TICKLINE_TEST_POSTGRES=postgres://postgres@127.0.0.1/test \
 *     ./node_modules/.bin/node bench/postgres-ceiling.ts [ticks=1000000] [batches=8192,32768] [inFlight=1,2]
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { parsePostgresUrl, quoteIdent } from '../src/adapters/store/postgres-config.ts';
import { prepareTicks } from '../src/adapters/store/postgres-copy.ts';
import { TICK_COLUMNS, TICK_COLUMNS_DDL } from '../src/adapters/store/postgres-sql.ts';
import type { Bar } from '../src/core/bar.ts';
import type { Tick } from '../src/core/tick.ts';
import type { Store } from '../src/ports/store.ts';
import { aggregateBatch } from '../src/pipeline/bars.ts';

const CHUNK = 32_768;

/** Ticks per second Postgres takes by raw COPY of `ticks` into a fresh plain table (setup excluded). */
export async function postgresCopyCeiling(url: string, ticks: Tick[]): Promise<number> {
  const settings = parsePostgresUrl(new URL(url));
  const client = new pg.Client(settings.pool);
  const schema = quoteIdent(`tl_ceiling_${randomBytes(5).toString('hex')}`);
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE ${schema}.ticks (${TICK_COLUMNS_DDL})`);
    const t0 = performance.now();
    await client.query('BEGIN');
    const stream = client.query(copyFrom(`COPY ${schema}.ticks (${TICK_COLUMNS}) FROM STDIN (FORMAT binary)`));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
    });
    for (let off = 0; off < ticks.length; off += CHUNK) {
      const { payload } = prepareTicks(ticks.slice(off, off + CHUNK));
      // One stream: every chunk but the first drops its signature, every chunk but the last its trailer.
      const body = payload.subarray(off === 0 ? 0 : 19, off + CHUNK >= ticks.length ? payload.length : payload.length - 2);
      if (!stream.write(body)) await new Promise((r) => stream.once('drain', r));
    }
    stream.end();
    await done;
    await client.query('COMMIT');
    return ticks.length / ((performance.now() - t0) / 1000);
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await client.end();
  }
}

async function compare(): Promise<void> {
  const { SimSource } = await import('../src/sources/sim.ts');
  const { loadConfig } = await import('../src/config/load.ts');
  const { nowMicros } = await import('../src/core/time.ts');
  const url = process.env.TICKLINE_TEST_POSTGRES;
  if (!url) throw new Error('set TICKLINE_TEST_POSTGRES=postgres://…');
  const n = Number(process.argv[2] ?? 1_000_000);
  const sizes = (process.argv[3] ?? '8192,32768').split(',').map(Number);
  const inFlights = (process.argv[4] ?? '1,2').split(',').map(Number);
  const ticks: Tick[] = new SimSource({ symbols: loadConfig({ env: {} }).symbols, rate: Infinity, seed: 7, badFraction: 0, batchMax: 1, intervalMs: 1 }).generate(
    n,
    nowMicros() - 60_000_000,
    nowMicros(),
  );

  const ceiling = await postgresCopyCeiling(url, ticks);
  console.log(JSON.stringify({ case: 'copy-ceiling', ticks: n, ticks_per_s: Math.round(ceiling) }));

  for (const batch of sizes) {
    const batches: { ticks: Tick[]; bars: Bar[] }[] = [];
    for (let off = 0; off < n; off += batch) {
      const slice = ticks.slice(off, off + batch);
      batches.push({ ticks: slice, bars: aggregateBatch(slice).bars });
    }
    // What the identity index alone costs: the same batches COPYed into the adapter's own (partitioned,
    // uniquely indexed) table, one transaction each, no bars, no statistics.
    await withStore(url, async (_store, schema) => {
      const client = new pg.Client(parsePostgresUrl(new URL(url)).pool);
      await client.connect();
      try {
        const payloads = batches.map((b) => prepareTicks(b.ticks).payload);
        const t0 = performance.now();
        for (const p of payloads) {
          await client.query('BEGIN');
          await new Promise<void>((resolve, reject) => {
            const stream = client.query(copyFrom(`COPY ${quoteIdent(schema)}.ticks (${TICK_COLUMNS}) FROM STDIN (FORMAT binary)`));
            stream.on('error', reject);
            stream.on('finish', resolve);
            stream.end(p);
          });
          await client.query('COMMIT');
        }
        const rate = n / ((performance.now() - t0) / 1000);
        console.log(JSON.stringify({ case: 'copy-into-ticks', ticks: n, batch, ticks_per_s: Math.round(rate), ceiling_ticks_per_s: Math.round(ceiling), ratio: Math.round((rate / ceiling) * 100) / 100 }));
      } finally {
        await client.end();
      }
    });
    for (const inFlight of inFlights) {
      await withStore(url, async (store) => {
        await timed(store, 'adapter', batches, batch, inFlight, ceiling);
        // The same batches again: every tick is already stored (staged path, nothing inserted).
        await timed(store, 'adapter-redelivered', batches, batch, inFlight, ceiling);
      });
      await withStore(url, async (store) => {
        // Half of every batch stored before: the staged path that derives bars from the inserted half.
        const evens = batches.map((b) => b.ticks.filter((_, i) => i % 2 === 0));
        for (const t of evens) await store.write({ ticks: t, bars: aggregateBatch(t).bars });
        await timed(store, 'adapter-half-redelivered', batches, batch, inFlight, ceiling);
      });
    }
  }
  // Again at the end: the machine's speed drifts (other work shares it), so this brackets the run.
  console.log(JSON.stringify({ case: 'copy-ceiling-again', ticks: n, ticks_per_s: Math.round(await postgresCopyCeiling(url, ticks)) }));
}

async function withStore(url: string, fn: (store: Store, schema: string) => Promise<void>): Promise<void> {
  const { PostgresStore } = await import('../src/adapters/store/postgres.ts');
  const u = new URL(url);
  const schema = `tl_bench_${randomBytes(5).toString('hex')}`;
  u.searchParams.set('schema', schema);
  const store = new PostgresStore(parsePostgresUrl(u));
  try {
    await store.init();
    await fn(store, schema);
  } finally {
    await store.close();
    const admin = new pg.Client(parsePostgresUrl(new URL(url)).pool);
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await admin.end();
  }
}

async function timed(store: Store, label: string, list: { ticks: Tick[]; bars: Bar[] }[], batch: number, inFlight: number, ceiling: number): Promise<void> {
  const n = list.reduce((a, b) => a + b.ticks.length, 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const running = new Set<Promise<void>>();
  for (const b of list) {
    const p: Promise<void> = store.write(b).then(() => void running.delete(p));
    running.add(p);
    if (running.size >= inFlight) await Promise.race(running);
  }
  await Promise.all(running);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rate = n / secs;
  const stored = (await store.symbols()).reduce((a, s) => a + s.ticks, 0);
  console.log(
    JSON.stringify({
      case: label,
      ticks: n,
      batch,
      inFlight,
      ticks_per_s: Math.round(rate),
      ceiling_ticks_per_s: Math.round(ceiling),
      ratio: Math.round((rate / ceiling) * 100) / 100,
      node_cpu_cores: Math.round(((cpu.user + cpu.system) / 1e6 / secs) * 100) / 100,
      stored,
    }),
  );
}

if (import.meta.main) await compare();
