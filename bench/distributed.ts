/**
 * `npm run bench:distributed`: the split deployment on real engines — simulated source → Kafka (or NATS)
 * → process → Postgres + Redis, each role in its own process — and, in the same run, the ceilings:
 * Postgres's raw COPY rate into the same table shape, and the bus's raw produce+consume rate.
 * Needs TICKLINE_TEST_POSTGRES, TICKLINE_TEST_REDIS and TICKLINE_TEST_KAFKA / TICKLINE_TEST_NATS.
 * Options: BENCH_SECONDS (default 20), BENCH_ONLY=kafka|nats.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { cacheRegistry } from '../src/adapters/cache/index.ts';
import { silentLogger } from '../src/core/log.ts';
import type { Tick } from '../src/core/tick.ts';
import { nowMicros } from '../src/core/time.ts';
import { SimSource } from '../src/sources/sim.ts';
import { spawnRole, stopRole } from '../test/e2e/deployments.ts';
import { tempDir } from '../test/e2e/helpers.ts';
import { kafkaCeiling } from './kafka-ceiling.ts';
import { natsCeiling } from './nats-ceiling.ts';
import { postgresCopyCeiling } from './postgres-ceiling.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ONLY = process.env.BENCH_ONLY?.split(',');
const PG = process.env.TICKLINE_TEST_POSTGRES;
const REDIS = process.env.TICKLINE_TEST_REDIS;
const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'BTC-USD', 'ETH-USD'];
const r2 = (x: number) => Math.round(x * 100) / 100;

function emit(name: string, result: Record<string, unknown>): void {
  const line = { bench: name, ...result, at: new Date().toISOString() };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(line, null, 2)}\n`);
  console.log(JSON.stringify(line));
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function count(db: pg.Client, schema: string): Promise<number> {
  const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.ticks`).catch(() => ({ rows: [{ n: '0' }] }));
  return Number(r.rows[0]!.n);
}

/** One split run: returns sustained stored ticks/s and, for paced runs, p50/p99 creation → Redis. */
async function splitRun(bus: string, rate: 'max' | number, seconds: number) {
  const id = randomBytes(4).toString('hex');
  const schema = `bench_${id}`;
  const tmp = tempDir('tickline-bench-');
  const db = new pg.Client({ connectionString: PG });
  await db.connect();
  const cacheUrl = `${REDIS}${REDIS!.includes('?') ? '&' : '?'}prefix=${schema}:&channel=${schema}`;
  const env = {
    TICKLINE_BUS: bus,
    TICKLINE_STORE: `${PG}${PG!.includes('?') ? '&' : '?'}schema=${schema}`,
    TICKLINE_CACHE: cacheUrl,
    TICKLINE_ZONES: `file://${tmp.dir}/zones`,
    TICKLINE_DATA_DIR: tmp.dir,
    TICKLINE_TOPIC: `bench.${id}`,
    TICKLINE_SYMBOLS: SYMBOLS.join(','),
  };
  const latencies: number[] = [];
  const watcher = await cacheRegistry.create(cacheUrl, { dataDir: tmp.dir, logger: silentLogger() });
  const stopWatch = await watcher.watch((ticks) => {
    const now = nowMicros();
    for (const t of ticks) latencies.push((now - t.recvTs) / 1000);
  });
  const proc = await spawnRole('process', env);
  const ingest = await spawnRole('ingest', { ...env, TICKLINE_SIM_RATE: String(rate) });
  try {
    // Warm up, then measure the stored rate over the window.
    await new Promise((r) => setTimeout(r, 3_000));
    latencies.length = 0;
    const c0 = await count(db, schema);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const c1 = await count(db, schema);
    const secs = (performance.now() - t0) / 1000;
    return { ticks_per_s: Math.round((c1 - c0) / secs), p50_ms: r2(quantile(latencies, 0.5)), p99_ms: r2(quantile(latencies, 0.99)), samples: latencies.length, seconds: r2(secs) };
  } finally {
    await stopRole(ingest, 'SIGKILL');
    await stopRole(proc, 'SIGKILL');
    await stopWatch();
    await watcher.close();
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.end();
    tmp.remove();
  }
}

const missing = ['TICKLINE_TEST_POSTGRES', 'TICKLINE_TEST_REDIS'].filter((v) => !process.env[v]);
if (missing.length > 0) {
  console.log(JSON.stringify({ bench: 'distributed', skipped: `${missing.join(', ')} not set` }));
} else {
  const rows: Tick[] = new SimSource({ symbols: SYMBOLS, rate: Infinity, seed: 7, badFraction: 0, batchMax: 1, intervalMs: 1 }).generate(1_000_000, nowMicros() - 60e6, nowMicros());
  const copy = await postgresCopyCeiling(PG!, rows);
  emit('postgres-copy-ceiling', { ticks_per_s: Math.round(copy), rows: rows.length });
  for (const [name, env, ceiling] of [
    ['kafka', 'TICKLINE_TEST_KAFKA', kafkaCeiling],
    ['nats', 'TICKLINE_TEST_NATS', natsCeiling],
  ] as const) {
    if (ONLY && !ONLY.includes(name)) continue;
    const url = process.env[env];
    if (!url) {
      console.log(JSON.stringify({ bench: `distributed-${name}`, skipped: `${env} not set` }));
      continue;
    }
    const busCeiling = await ceiling(url, rows);
    const max = await splitRun(url, 'max', SECONDS);
    const paced = await splitRun(url, 20_000 / SYMBOLS.length, Math.min(SECONDS, 20));
    emit(`distributed-${name}`, {
      ticks_per_s: max.ticks_per_s,
      ceiling_ticks_per_s: Math.round(copy),
      ratio: r2(max.ticks_per_s / copy),
      bus_ceiling_ticks_per_s: Math.round(busCeiling),
      p50_ms: paced.p50_ms,
      p99_ms: paced.p99_ms,
      paced_ticks_per_s: paced.ticks_per_s,
      latency_samples: paced.samples,
      seconds: max.seconds,
    });
  }
}
