/**
 * `npm run bench`: the embedded pipeline end to end, and in the same run the ceiling it is compared with
 * (DuckDB's raw bulk-append rate for the same rows). One JSON line per benchmark on stdout, and
 * bench/results/<name>.json. Options: BENCH_SECONDS (default 20), BENCH_ONLY=name[,name].
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeRegistry } from '../src/adapters/store/index.ts';
import { loadConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/core/log.ts';
import { Metrics } from '../src/core/metrics.ts';
import type { Tick } from '../src/core/tick.ts';
import { nowMicros } from '../src/core/time.ts';
import { Gate } from '../src/quality/gate.ts';
import { loadSuite } from '../src/quality/suite.ts';
import { startPlatform } from '../src/roles/platform.ts';
import { SimSource } from '../src/sources/sim.ts';
import { duckdbCeiling } from './store-ceiling.ts';
import { Reservoir, rssSampler } from './proc.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ONLY = process.env.BENCH_ONLY?.split(',');
const RESULTS = new URL('./results/', import.meta.url);

interface PipelineRun {
  ticks: number;
  seconds: number;
  stored: number;
  p50: number;
  p99: number;
  peakRss: number;
  /** Time spent evaluating the quality gate (its own counter). */
  gateSeconds: number;
}

async function runPipeline(simRate: number | 'max', seconds: number): Promise<PipelineRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tickline-bench-'));
  try {
    const config = loadConfig({
      env: {},
      overrides: { dataDir: dir, port: 0, simRate, logLevel: 'silent', quiet: true, auth: false },
    });
    const lat = new Reservoir(200_000);
    const metrics = new Metrics({ defaultMetrics: false });
    const rss = rssSampler();
    const platform = await startPlatform({
      config,
      logger: silentLogger(),
      metrics,
      onVisible: (ticks, at) => {
        // Every 16th tick is enough for stable quantiles and keeps the hook cheap.
        for (let i = 0; i < ticks.length; i += 16) lat.add((at - ticks[i]!.recvTs) / 1000);
      },
    });
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    await platform.stop();
    const secs = (performance.now() - t0) / 1000;
    const peakRss = rss.stop();
    const emitted = (await metrics.ticksIn.get()).values.reduce((a, v) => a + v.value, 0);
    const gateSeconds = (await metrics.gateSeconds.get()).values.reduce((a, v) => a + v.value, 0);
    // Count what actually reached the store: the benchmark must not report ticks that were lost.
    const store = await storeRegistry.create(config.store, { dataDir: dir, logger: silentLogger() });
    await store.init();
    const stored = (await store.symbols()).reduce((a, s) => a + s.ticks, 0);
    await store.close();
    return { ticks: emitted, seconds: secs, stored, p50: lat.quantile(0.5), p99: lat.quantile(0.99), peakRss, gateSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function emit(name: string, result: Record<string, unknown>): void {
  const line = { bench: name, ...result, at: new Date().toISOString() };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(new URL(`${name}.json`, RESULTS), `${JSON.stringify(line, null, 2)}\n`);
  console.log(JSON.stringify(line));
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** One case per child process, so each one's peak RSS is its own and no heap carries over. */
async function runCase(name: string, ceilingTps: number): Promise<Record<string, unknown>> {
  if (name === 'duckdb-ceiling') {
    const rss = rssSampler();
    // The same kind of rows the simulated feed makes, bulk-appended straight into DuckDB.
    const rows: Tick[] = new SimSource({ symbols: loadConfig({ env: {} }).symbols, rate: Infinity, seed: 7, badFraction: 0, batchMax: 1, intervalMs: 1 }).generate(
      2_000_000,
      nowMicros() - 60_000_000,
      nowMicros(),
    );
    const tps = await duckdbCeiling(rows);
    return { ticks_per_s: Math.round(tps), rows: rows.length, peak_rss_mb: rss.stop() };
  }
  if (name === 'gate') {
    // The default suite alone, on the same kind of rows, in the pipeline's batch size.
    const rows: Tick[] = new SimSource({ symbols: loadConfig({ env: {} }).symbols, rate: Infinity, seed: 7, badFraction: 0.01, batchMax: 1, intervalMs: 1 }).generate(
      2_000_000,
      nowMicros() - 60_000_000,
      nowMicros(),
    );
    const gate = new Gate(loadSuite());
    let failed = 0;
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += 8192) failed += gate.evaluate(rows.slice(i, i + 8192)).failed.length;
    const secs = (performance.now() - t0) / 1000;
    return { ticks_per_s: Math.round(rows.length / secs), rows: rows.length, quarantined: failed, suite: 'default', expectations: gate.suite.expectations.length };
  }
  const rate = name === 'pipeline-max' ? 'max' : 50_000 / loadConfig({ env: {} }).symbols.length;
  const r = await runPipeline(rate, name === 'pipeline-max' ? SECONDS : Math.min(SECONDS, 20));
  const tps = r.ticks / r.seconds;
  return {
    ticks_per_s: Math.round(tps),
    ceiling_ticks_per_s: Math.round(ceilingTps),
    ratio: r2(tps / ceilingTps),
    p50_ms: r2(r.p50),
    p99_ms: r2(r.p99),
    peak_rss_mb: r.peakRss,
    gate_seconds: r2(r.gateSeconds),
    // Share of the run's wall time the gate took on the pipeline's thread (target ≤ 0.10).
    gate_share: r2(r.gateSeconds / r.seconds),
    seconds: r2(r.seconds),
    ticks: r.ticks,
    stored: r.stored,
    lost: r.ticks - r.stored,
  };
}

const CASES = ['duckdb-ceiling', 'gate', 'pipeline-max', 'pipeline-50k'];

if (process.argv[2] === '--case') {
  const result = await runCase(process.argv[3]!, Number(process.argv[4]));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const { execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const self = fileURLToPath(import.meta.url);
  const run = (name: string, ceilingTps: number): Record<string, unknown> => {
    const out = execFileSync(process.execPath, [self, '--case', name, String(ceilingTps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
    return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  };
  // The ceiling is measured in every run, next to the pipeline, because the machine's speed drifts.
  const ceiling = run('duckdb-ceiling', NaN);
  emit('duckdb-ceiling', ceiling);
  for (const name of CASES.slice(1)) {
    if (ONLY && !ONLY.includes(name)) continue;
    emit(name, run(name, ceiling.ticks_per_s as number));
  }
}
