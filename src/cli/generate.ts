/**
 * `tickline generate`: a load generator for the ingest API. It makes ticks with the simulated feed's
 * price model (random walk, bid/ask spread, sizes) and posts them to `POST /v1/ticks` as NDJSON batches,
 * paced to a total rate, with a bounded number of requests in flight. See docs/generate.md.
 */
import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { SYMBOL_RE } from '../config/schema.ts';
import { show, TicklineError } from '../core/errors.ts';
import type { Tick } from '../core/tick.ts';
import { formatIsoMicros, nowMicros, parseDurationMicros, US_PER_MS } from '../core/time.ts';
import { SimSource } from '../sources/sim.ts';
import { apiConnection } from './api-options.ts';
import { note, say, type CliIo } from './io.ts';

const NDJSON = 'application/x-ndjson';
/** At low rates a batch holds at most this many seconds of ticks, so ticks go out at least this often. */
const MAX_BATCH_SECONDS = 0.1;
const MAX_RATE = 10_000_000;
const MAX_BATCH = 50_000;
const MAX_CONCURRENCY = 1024;
const PROVIDER_RE = /^[A-Za-z0-9._-]{1,64}$/;

// ---------------------------------------------------------------------------------------------------
// Latency percentiles

/**
 * A histogram of latencies in milliseconds with logarithmic buckets (each 4 % wider than the one
 * before, from 10 µs to 10 min): fixed memory whatever the number of samples, and percentiles within
 * 4 % of the true value. Samples above the range land in the last bucket.
 */
export class LatencyHistogram {
  static readonly MIN_MS = 0.01;
  static readonly MAX_MS = 600_000;
  static readonly RATIO = 1.04;
  static readonly #LOG_RATIO = Math.log(LatencyHistogram.RATIO);
  static readonly BUCKETS = Math.ceil(Math.log(LatencyHistogram.MAX_MS / LatencyHistogram.MIN_MS) / LatencyHistogram.#LOG_RATIO) + 1;

  readonly #counts = new Float64Array(LatencyHistogram.BUCKETS);
  #n = 0;
  #max = 0;

  record(ms: number): void {
    if (!(ms >= 0)) return;
    const i = ms <= LatencyHistogram.MIN_MS ? 0 : Math.min(LatencyHistogram.BUCKETS - 1, Math.ceil(Math.log(ms / LatencyHistogram.MIN_MS) / LatencyHistogram.#LOG_RATIO));
    this.#counts[i]!++;
    this.#n++;
    if (ms > this.#max) this.#max = ms;
  }

  get count(): number {
    return this.#n;
  }

  /** The largest sample, or null when there is none. */
  get max(): number | null {
    return this.#n === 0 ? null : this.#max;
  }

  /** The q-quantile (0 < q ≤ 1): the upper bound of its bucket, never above the largest sample; null when empty. */
  quantile(q: number): number | null {
    if (this.#n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#n));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, LatencyHistogram.MIN_MS * LatencyHistogram.RATIO ** i);
    }
    return this.#max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#n = 0;
    this.#max = 0;
  }
}

// ---------------------------------------------------------------------------------------------------
// Options

export interface GenerateOptions {
  /** The full URL of the ingest route. */
  url: string;
  apiKey?: string;
  /** Ticks per second over all symbols. */
  rate: number;
  symbols: string[];
  /** Stop after this long (ms); with neither this nor `count`, run until stopped. */
  durationMs?: number;
  /** Stop after exactly this many ticks. */
  count?: number;
  /** Largest batch per request. */
  batch: number;
  concurrency: number;
  badFraction: number;
  seed: number;
  provider: string;
  timeoutMs: number;
}

/** The options as commander hands them over: strings, not yet checked. */
export interface RawGenerateOptions {
  target?: string;
  rate?: string;
  symbols?: string;
  duration?: string;
  count?: string;
  batch?: string;
  concurrency?: string;
  badFraction?: string;
  seed?: string;
  provider?: string;
  timeout?: string;
  apiKeyFile?: string;
  quiet?: boolean;
  json?: boolean;
}

function invalid(message: string): TicklineError {
  return new TicklineError('TL_ERR_VALIDATION', message);
}

function numberOpt(flag: string, value: string, min: number, max: number, what: string, opts: { integer?: boolean; minExclusive?: boolean } = {}): number {
  const n = Number(value);
  const ok =
    value.trim() !== '' &&
    Number.isFinite(n) &&
    (opts.integer ? Number.isSafeInteger(n) : true) &&
    (opts.minExclusive ? n > min : n >= min) &&
    n <= max;
  if (!ok) throw invalid(`${flag}: must be ${what}, got ${show(value)}`);
  return n;
}

function durationOpt(flag: string, value: string): number {
  // A bare number is seconds.
  const text = /^\d+(\.\d+)?$/.test(value.trim()) ? `${value.trim()}s` : value;
  const us = parseDurationMicros(text);
  if (us === undefined || us <= 0) throw invalid(`${flag}: must be a duration such as 500ms, 30s, 5m or 1h, got ${show(value)}`);
  return us / US_PER_MS;
}

export function parseSymbols(value: string): string[] {
  const list = [...new Set(value.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))];
  if (list.length === 0) throw invalid(`--symbols: give at least one symbol, e.g. AAPL,MSFT,BTC-USD, got ${show(value)}`);
  const bad = list.find((s) => !SYMBOL_RE.test(s));
  if (bad !== undefined) throw invalid(`--symbols: ${show(bad)} is not a symbol (letters, digits and . - = / _ ^, at most 24)`);
  return list;
}

/** Checks every option and resolves the target and the API key (TICKLINE_API_KEY, _FILE or --api-key-file). */
export function resolveGenerateOptions(raw: RawGenerateOptions, io: CliIo): GenerateOptions {
  if (raw.rate === undefined) throw invalid('--rate: required (ticks per second over all symbols)');
  if (raw.symbols === undefined) throw invalid('--symbols: required, e.g. AAPL,MSFT,BTC-USD');
  if (raw.duration !== undefined && raw.count !== undefined) throw invalid('give --duration or --count, not both');
  const rate = numberOpt('--rate', raw.rate, 0, MAX_RATE, `ticks per second over all symbols, above 0 and at most ${MAX_RATE}`, { minExclusive: true });
  const symbols = parseSymbols(raw.symbols);
  const durationMs = raw.duration === undefined ? undefined : durationOpt('--duration', raw.duration);
  const count = raw.count === undefined ? undefined : numberOpt('--count', raw.count, 1, Number.MAX_SAFE_INTEGER, 'a whole number of ticks from 1', { integer: true });
  const batch = numberOpt('--batch', raw.batch ?? '500', 1, MAX_BATCH, `a whole number of ticks per request from 1 to ${MAX_BATCH}`, { integer: true });
  const concurrency = numberOpt('--concurrency', raw.concurrency ?? '4', 1, MAX_CONCURRENCY, `a whole number of requests from 1 to ${MAX_CONCURRENCY}`, { integer: true });
  const badFraction = numberOpt('--bad-fraction', raw.badFraction ?? '0', 0, 1, 'a fraction from 0 to 1', {});
  const seed = raw.seed === undefined ? randomInt(0, 2 ** 31 - 1) : numberOpt('--seed', raw.seed, 0, 2 ** 31 - 1, `a whole number from 0 to ${2 ** 31 - 1}`, { integer: true });
  const provider = raw.provider ?? 'generate';
  if (!PROVIDER_RE.test(provider)) throw invalid(`--provider: must be 1 to 64 letters, digits, ".", "_" or "-", got ${show(provider)}`);
  const timeoutMs = durationOpt('--timeout', raw.timeout ?? '30s');

  if (raw.target !== undefined && !/^https?:\/\/[^/]/i.test(raw.target)) throw invalid(`--target: must be an http(s) URL such as http://localhost:8000, got ${show(raw.target)}`);
  const conn = apiConnection({ api: raw.target, apiKeyFile: raw.apiKeyFile }, io);
  const url = new URL('v1/ticks', conn.base.endsWith('/') ? conn.base : `${conn.base}/`).href;
  const out: GenerateOptions = { url, rate, symbols, batch, concurrency, badFraction, seed, provider, timeoutMs };
  if (conn.credentials.apiKey) out.apiKey = conn.credentials.apiKey;
  if (durationMs !== undefined) out.durationMs = durationMs;
  if (count !== undefined) out.count = count;
  return out;
}

/** Ticks per request: `--batch` at most, and no more than 100 ms of ticks, so low rates still flow smoothly. */
export function batchSize(rate: number, batch: number): number {
  return Math.min(batch, Math.max(1, Math.ceil(rate * MAX_BATCH_SECONDS)));
}

// ---------------------------------------------------------------------------------------------------
// The run

export type StopReason = 'count' | 'duration' | 'interrupt' | 'auth';

export interface GenerateSummary {
  target: string;
  symbols: string[];
  seed: number;
  target_rate: number;
  batch: number;
  concurrency: number;
  /** From the start to the last answer. */
  elapsed_s: number;
  stopped_by: StopReason;
  requests: { sent: number; ok: number; rejected: number; failed: number; by_status: Record<string, number> };
  ticks: {
    sent: number;
    accepted: number;
    quarantined: number;
    /** In requests answered 4xx/5xx. */
    rejected: number;
    /** In requests that got no answer (connection refused, timeout, cancelled). */
    failed: number;
    /** Due by the schedule but never sent: the server (or this process) could not keep up. */
    not_sent: number;
  };
  /** Ticks sent per second while sending (the wait for the last answers excluded). */
  achieved_rate: number;
  rate_reached: boolean;
  /** Share of the sending time during which `concurrency` requests were in flight. */
  saturated_pct: number;
  latency_ms: { p50: number | null; p99: number | null; max: number | null };
  last_error: string | null;
}

export interface GenerateResult {
  summary: GenerateSummary;
  /** Set when the run stopped because the API refused the credentials (401/403). */
  authError?: TicklineError;
}

export interface RunControl {
  /** Stop sending; the requests in flight are waited for. */
  stop?: AbortSignal;
  /** Abort the requests in flight too. */
  kill?: AbortSignal;
  /** Called once a second with a progress line. */
  report?: (line: string) => void;
}

function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null && 'message' in body) return String((body as { message: unknown }).message);
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 200);
}

function authError(status: number, text: string, url: URL, keySent: boolean): TicklineError {
  const server = serverMessage(text);
  const create = 'create one with "tickline keys create --name loadgen --scope ingest"';
  if (status === 403) {
    return new TicklineError('TL_ERR_FORBIDDEN', `${url.pathname}: the API key lacks the ingest scope that posting ticks needs (server: ${server}); ${create}`);
  }
  return keySent
    ? new TicklineError('TL_ERR_UNAUTHENTICATED', `${url.pathname}: the API refused the API key (wrong, or revoked?): check TICKLINE_API_KEY / TICKLINE_API_KEY_FILE / --api-key-file (server: ${server})`)
    : new TicklineError('TL_ERR_UNAUTHENTICATED', `${url.pathname}: the API needs an API key with the ingest scope: set TICKLINE_API_KEY or TICKLINE_API_KEY_FILE, or pass --api-key-file; ${create} (server: ${server})`);
}

function transportError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (err?.name === 'AbortError') return 'cancelled';
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (ms: number | null): string => (ms === null ? '-' : ms < 10 ? `${ms.toFixed(1)} ms` : `${fmtInt(ms)} ms`);
const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Posts ticks until `--count` ticks were sent, `--duration` passed, `stop` fired or the API refused the
 * credentials. Never more than `concurrency` requests are in flight: when the server is slower than
 * the rate asks, the ticks that fall due meanwhile beyond one round of batches are not sent (counted as
 * `not_sent`) rather than queued, and the summary says the rate was not reached.
 */
export async function runGenerate(o: GenerateOptions, control: RunControl = {}): Promise<GenerateResult> {
  const url = new URL(o.url);
  const B = batchSize(o.rate, o.batch);
  const limit = o.count ?? Infinity;
  const maxBacklog = B * o.concurrency;
  const sim = new SimSource({
    symbols: o.symbols,
    rate: o.rate / o.symbols.length,
    seed: o.seed,
    badFraction: o.badFraction,
    batchMax: B,
    intervalMs: 100,
  });
  const headers: Record<string, string> = { 'content-type': NDJSON, accept: 'application/json' };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;

  const hard = new AbortController();
  const onKill = (): void => hard.abort();
  control.kill?.addEventListener('abort', onKill);
  if (control.kill?.aborted) hard.abort();

  const total = new LatencyHistogram();
  const window = new LatencyHistogram();
  const req = { sent: 0, ok: 0, rejected: 0, failed: 0 };
  const byStatus: Record<string, number> = {};
  const ticks = { sent: 0, accepted: 0, quarantined: 0, rejected: 0, failed: 0 };
  let lastError: string | null = null;
  let fatal: TicklineError | undefined;
  let inflight = 0;
  const pending = new Set<Promise<void>>();
  let saturatedSince = 0;
  let saturatedMs = 0;

  // One waiter at a time (the scheduling loop), woken by a timer, an answer or a stop.
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const waitFor = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        if (wake === done) wake = null;
        resolve();
      };
      wake = done;
      if (Number.isFinite(ms)) timer = setTimeout(done, Math.max(0, ms));
    });
  control.stop?.addEventListener('abort', poke);

  const line = (t: Tick): string =>
    JSON.stringify({ symbol: t.symbol, ts: formatIsoMicros(t.ts), price: t.price, size: t.size, bid: t.bid, ask: t.ask, currency: t.currency, provider: o.provider, seq: t.seq });

  const post = async (body: string, n: number): Promise<void> => {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.any([hard.signal, AbortSignal.timeout(o.timeoutMs)]) });
      const text = await res.text();
      const ms = performance.now() - t0;
      total.record(ms);
      window.record(ms);
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      if (res.ok) {
        req.ok++;
        let accepted = n;
        let quarantined = 0;
        try {
          const r = JSON.parse(text) as { accepted?: unknown; quarantined?: unknown };
          if (typeof r.accepted === 'number') accepted = r.accepted;
          if (typeof r.quarantined === 'number') quarantined = r.quarantined;
        } catch {
          // A 2xx without the usual body: the ticks were taken.
        }
        ticks.accepted += accepted;
        ticks.quarantined += quarantined;
      } else {
        req.rejected++;
        ticks.rejected += n;
        lastError = `${res.status}: ${serverMessage(text)}`;
        if ((res.status === 401 || res.status === 403) && fatal === undefined) {
          fatal = authError(res.status, text, url, o.apiKey !== undefined);
          hard.abort();
          poke();
        }
      }
    } catch (e) {
      req.failed++;
      ticks.failed += n;
      // Requests cancelled after a refused key say nothing new.
      if (fatal === undefined) lastError = transportError(e, o.timeoutMs);
    } finally {
      if (inflight === o.concurrency) saturatedMs += performance.now() - saturatedSince;
      inflight--;
      poke();
    }
  };

  const start = performance.now();
  let lastTs = nowMicros();
  let generated = 0;
  let skipped = 0;
  let stoppedBy: StopReason;

  const dispatch = (n: number): void => {
    const to = Math.max(nowMicros(), lastTs);
    const batch = sim.generate(n, lastTs, to);
    lastTs = to;
    let body = '';
    for (const t of batch) body += `${line(t)}\n`;
    generated += n;
    req.sent++;
    ticks.sent += n;
    inflight++;
    if (inflight === o.concurrency) saturatedSince = performance.now();
    const p = post(body, n);
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  // Live report.
  let lastReportAt = start;
  let lastReportSent = 0;
  const reporter = control.report
    ? setInterval(() => {
        const now = performance.now();
        const rate = ((ticks.sent - lastReportSent) * 1000) / Math.max(1, now - lastReportAt);
        lastReportAt = now;
        lastReportSent = ticks.sent;
        const secs = Math.round((now - start) / 1000);
        control.report!(
          `[${String(secs).padStart(4)}s] sent ${fmtInt(ticks.sent)}  accepted ${fmtInt(ticks.accepted)}  quarantined ${fmtInt(ticks.quarantined)}  ` +
            `rejected ${fmtInt(ticks.rejected)} (${req.rejected} req)  failed ${fmtInt(ticks.failed)} (${req.failed} req)  ` +
            `rate ${fmtInt(rate)}/s of ${fmtInt(o.rate)}/s  p50 ${fmtMs(window.quantile(0.5))}  p99 ${fmtMs(window.quantile(0.99))}  ` +
            `in flight ${inflight}/${o.concurrency}${skipped > 0 ? `  not sent ${fmtInt(skipped)}` : ''}`,
        );
        window.reset();
      }, 1000)
    : undefined;

  try {
    for (;;) {
      if (fatal !== undefined) {
        stoppedBy = 'auth';
        break;
      }
      if (control.stop?.aborted) {
        stoppedBy = 'interrupt';
        break;
      }
      if (generated >= limit) {
        stoppedBy = 'count';
        break;
      }
      let elapsedS = (performance.now() - start) / 1000;
      const ending = o.durationMs !== undefined && elapsedS * 1000 >= o.durationMs;
      if (ending) elapsedS = o.durationMs! / 1000;
      let due = Math.floor(elapsedS * o.rate) - generated - skipped;
      if (due > maxBacklog) {
        skipped += due - maxBacklog;
        due = maxBacklog;
      }
      const want = Math.min(B, limit - generated);
      if (ending) {
        // The last ticks due: one more (partial) batch if a request may start, else they are not sent.
        const n = Math.min(due, want);
        if (n > 0 && inflight < o.concurrency) dispatch(n);
        else if (n > 0) skipped += n;
        skipped += Math.max(0, due - n);
        stoppedBy = 'duration';
        break;
      }
      if (due >= want) {
        if (inflight < o.concurrency) {
          dispatch(want);
          continue;
        }
        // Every slot is taken: wait for an answer (or the end of the run).
        await waitFor(o.durationMs === undefined ? Infinity : o.durationMs - elapsedS * 1000);
        continue;
      }
      let waitMs = ((generated + skipped + want) / o.rate - elapsedS) * 1000;
      if (o.durationMs !== undefined) waitMs = Math.min(waitMs, o.durationMs - elapsedS * 1000);
      await waitFor(waitMs);
    }
    const sendingMs = performance.now() - start;
    if (inflight === o.concurrency) saturatedMs += performance.now() - saturatedSince;
    const saturatedBefore = saturatedMs;
    await Promise.allSettled([...pending]);
    const elapsedMs = performance.now() - start;

    const summary: GenerateSummary = {
      target: url.href,
      symbols: o.symbols,
      seed: o.seed,
      target_rate: o.rate,
      batch: B,
      concurrency: o.concurrency,
      elapsed_s: round2(elapsedMs / 1000),
      stopped_by: stoppedBy,
      requests: { ...req, by_status: byStatus },
      ticks: { ...ticks, not_sent: skipped },
      achieved_rate: round2(sendingMs > 0 ? (ticks.sent * 1000) / sendingMs : 0),
      rate_reached: skipped === 0,
      saturated_pct: Math.round((Math.min(saturatedBefore, sendingMs) * 100) / Math.max(1, sendingMs)),
      latency_ms: { p50: roundMs(total.quantile(0.5)), p99: roundMs(total.quantile(0.99)), max: roundMs(total.max) },
      last_error: lastError,
    };
    return fatal === undefined ? { summary } : { summary, authError: fatal };
  } finally {
    if (reporter) clearInterval(reporter);
    control.stop?.removeEventListener('abort', poke);
    control.kill?.removeEventListener('abort', onKill);
    // Anything still pending (only after an exception above) is cancelled.
    hard.abort();
  }
}

function roundMs(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 100) / 100;
}

/** The summary as aligned `label  value` lines. */
export function formatSummary(s: GenerateSummary): string {
  const rows: Array<[string, string]> = [
    ['target', s.target],
    ['symbols', `${s.symbols.join(', ')} (seed ${s.seed})`],
    ['ran', `${s.elapsed_s.toFixed(2)} s, stopped by ${s.stopped_by}`],
    ['requests', `${fmtInt(s.requests.sent)} sent: ${fmtInt(s.requests.ok)} ok, ${fmtInt(s.requests.rejected)} rejected, ${fmtInt(s.requests.failed)} failed (batch ${s.batch}, concurrency ${s.concurrency})`],
    ['ticks', `${fmtInt(s.ticks.sent)} sent: ${fmtInt(s.ticks.accepted)} accepted (${fmtInt(s.ticks.quarantined)} quarantined), ${fmtInt(s.ticks.rejected)} rejected, ${fmtInt(s.ticks.failed)} failed`],
    ['rate', `${fmtInt(s.achieved_rate)}/s achieved of ${fmtInt(s.target_rate)}/s${s.rate_reached ? '' : ` (not reached: ${fmtInt(s.ticks.not_sent)} ticks not sent)`}`],
    ['latency', `p50 ${fmtMs(s.latency_ms.p50)}, p99 ${fmtMs(s.latency_ms.p99)}, max ${fmtMs(s.latency_ms.max)}`],
  ];
  const statuses = Object.entries(s.requests.by_status);
  if (statuses.length > 0) rows.push(['statuses', statuses.map(([k, v]) => `${k} ×${fmtInt(v)}`).join(', ')]);
  if (s.last_error !== null) rows.push(['last error', s.last_error]);
  return rows.map(([k, v]) => `${k.padEnd(10)}  ${v}`).join('\n');
}

function notReachedNote(s: GenerateSummary): string {
  const why =
    s.saturated_pct >= 50
      ? `all ${s.concurrency} requests were in flight ${s.saturated_pct}% of the time: the server answers more slowly than the rate needs (raise --concurrency or --batch, or lower --rate)`
      : `requests in flight were at the --concurrency limit only ${s.saturated_pct}% of the time: this process could not make ticks fast enough`;
  return `warning: target rate not reached: ${fmtInt(s.achieved_rate)}/s of ${fmtInt(s.target_rate)}/s, ${fmtInt(s.ticks.not_sent)} ticks due were not sent; ${why}`;
}

const EXAMPLES = `
Examples:
  tickline generate --target http://localhost:8000 --rate 1000 --symbols AAPL,MSFT,BTC-USD --duration 60s
      1,000 ticks/s over three symbols for a minute
  tickline generate --rate 50000 --symbols AAPL,MSFT --count 1000000 --batch 1000 --concurrency 8
      exactly one million ticks, as fast as 50,000/s, up to 8 requests at once
  tickline generate --rate 200 --symbols AAPL --bad-fraction 0.05 --seed 42 --json
      5 % deliberately bad ticks (quarantined), reproducible prices, a JSON summary; runs until Ctrl-C

The API key (scope ingest) comes from --api-key-file, TICKLINE_API_KEY or TICKLINE_API_KEY_FILE.
Progress goes to stderr once a second; the summary to stdout. Ctrl-C stops sending, waits for the
requests in flight and prints the summary (a second Ctrl-C cancels them). Exits 1 when every request
failed or the API refused the key.`;

export function addGenerateCommand(program: Command, io: CliIo): void {
  program
    .command('generate')
    .description('load test: post realistic simulated ticks to a Tickline API\'s POST /v1/ticks at a steady rate')
    .option('--target <url>', 'Tickline API to post to (TICKLINE_API_URL, default http://localhost:8000)')
    .option('--rate <n>', 'ticks per second, over all symbols (required)')
    .option('--symbols <list>', 'comma-separated symbols, e.g. AAPL,MSFT,BTC-USD (required)')
    .option('--duration <time>', 'stop after this long: 500ms, 30s, 5m, 1h (default: until Ctrl-C)')
    .option('--count <n>', 'stop after exactly this many ticks')
    .option('--batch <n>', `most ticks per request (fewer at low rates: at most ${MAX_BATCH_SECONDS * 1000} ms of ticks)`, '500')
    .option('--concurrency <n>', 'most requests in flight at once', '4')
    .option('--bad-fraction <f>', 'fraction of deliberately bad ticks: negative price, crossed quote, bad symbol, future time', '0')
    .option('--seed <n>', 'seed of the price model: the same seed gives the same prices (default: random, shown in the summary)')
    .option('--provider <name>', 'provider name the ticks carry', 'generate')
    .option('--timeout <time>', 'give up on a request after this long', '30s')
    .option('--api-key-file <path>', 'read the API key (scope ingest) from this file (default: TICKLINE_API_KEY or TICKLINE_API_KEY_FILE)')
    .option('-q, --quiet', 'no progress lines on stderr')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', EXAMPLES)
    .action(async (raw: RawGenerateOptions) => {
      const opts = resolveGenerateOptions(raw, io);
      const stop = new AbortController();
      const kill = new AbortController();
      const onSignal = (): void => {
        if (!stop.signal.aborted) {
          note(io, 'stopping: waiting for the requests in flight (Ctrl-C again to cancel them)');
          stop.abort();
        } else {
          kill.abort();
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (!raw.quiet) {
        const until = opts.count !== undefined ? `${fmtInt(opts.count)} ticks` : opts.durationMs !== undefined ? `${opts.durationMs / 1000} s` : 'Ctrl-C';
        note(io, `posting ${fmtInt(opts.rate)} ticks/s of ${opts.symbols.join(',')} to ${opts.url} until ${until} (batch ${batchSize(opts.rate, opts.batch)}, concurrency ${opts.concurrency}, seed ${opts.seed})`);
      }
      let result: GenerateResult;
      try {
        result = await runGenerate(opts, { stop: stop.signal, kill: kill.signal, report: raw.quiet ? undefined : (l) => note(io, l) });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      const s = result.summary;
      say(io, raw.json ? JSON.stringify(s, null, 2) : formatSummary(s));
      if (result.authError) throw result.authError;
      if (!s.rate_reached) note(io, notReachedNote(s));
      if (s.requests.sent > 0 && s.requests.ok === 0) {
        throw new TicklineError('TL_ERR_API_CLIENT', `every one of the ${fmtInt(s.requests.sent)} requests to ${s.target} failed; last error: ${s.last_error ?? 'none'}`);
      }
    });
}
