/**
 * Throughput of the quality gate with the default suite: 1,000,000 simulated ticks (8 symbols, random-walk
 * prices, valid quotes, received a few ms after their event time, during a US trading session) in batches
 * of 8,192. Ticks are generated before timing. Rounds reuse one gate, `reset()` in between, so each round
 * starts from empty state but with the memory the previous round grew (as a long-running gate would).
 *
 *   ./node_modules/.bin/node src/quality/gate.bench.ts [ticks] [rounds]
 */
import type { Tick } from '../core/tick.ts';
import { Rng } from '../sources/random.ts';
import { SimSource } from '../sources/sim.ts';
import { Gate } from './gate.ts';
import { loadSuite } from './suite.ts';

const TICKS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const BATCH = 8_192;
const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'BTC-USD', 'ETH-USD'];
/** Wednesday 2026-11-18, 15:00 UTC (10:00 in New York): one hour of ticks inside the session. */
const FROM = Date.UTC(2026, 10, 18, 15) * 1000;
const TO = FROM + 3_600_000_000;

function makeTicks(): Tick[] {
  const sim = new SimSource({ symbols: SYMBOLS, rate: TICKS / 3600 / SYMBOLS.length, seed: 7, badFraction: 0, batchMax: BATCH, intervalMs: 1 });
  const ticks = sim.generate(TICKS, FROM, TO);
  const rng = new Rng(11);
  for (const t of ticks) t.recvTs = t.ts + 500 + Math.floor(rng.next() * 5_000);
  return ticks;
}

function round(ticks: readonly Tick[], gate: Gate): { seconds: number; passed: number; failed: number; warned: number } {
  let passed = 0;
  let failed = 0;
  let warned = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < ticks.length; i += BATCH) {
    const r = gate.evaluate(ticks.slice(i, i + BATCH));
    passed += r.passed.length;
    failed += r.failed.length;
    warned += r.warned;
  }
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, passed, failed, warned };
}

const suite = loadSuite();
const ticks = makeTicks();
const gate = new Gate(suite);
const rates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  gate.reset();
  const res = round(ticks, gate);
  const rate = ticks.length / res.seconds;
  rates.push(rate);
  process.stdout.write(
    `round ${r + 1}: ${Math.round(rate).toLocaleString('en-US')} ticks/s (passed ${res.passed}, failed ${res.failed}, warned ${res.warned})\n`,
  );
}
const sorted = [...rates].sort((a, b) => a - b);
process.stdout.write(
  `default suite (${suite.expectations.length} expectations), ${ticks.length.toLocaleString('en-US')} ticks, batches of ${BATCH}: ` +
    `median ${Math.round(sorted[Math.floor(sorted.length / 2)]!).toLocaleString('en-US')} ticks/s, best ${Math.round(sorted.at(-1)!).toLocaleString('en-US')} ticks/s\n`,
);
