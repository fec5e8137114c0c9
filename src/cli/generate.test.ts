/**
 * `tickline generate` against a stub of the ingest API on 127.0.0.1 (node:http) that records every
 * request, counts the requests in flight and answers as told. The contract is the one of
 * src/api/routes/ingest.ts: NDJSON in, 202 `{accepted, quarantined, issues}` out.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SYMBOL_RE } from '../config/schema.ts';
import { parseTick } from '../core/tick.ts';
import { nowMicros, parseIsoMicros } from '../core/time.ts';
import { batchSize, LatencyHistogram, type GenerateSummary } from './generate.ts';
import { runTickline, type CliRun } from './test-harness.ts';

const KEY = `tl_0123456789abcdef_${'A'.repeat(21)}-${'b'.repeat(21)}`;
const REPO = fileURLToPath(new URL('../..', import.meta.url));

const root = await mkdtemp(join(tmpdir(), 'tickline-generate-'));
after(() => rm(root, { recursive: true, force: true }));

/** Runs `tickline generate …` in-process, printing errors as the tickline binary does. */
function generate(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runTickline(['generate', ...args], { env });
}

interface Seen {
  /** ms after the stub started. */
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  lines: string[];
}

interface Answer {
  status: number;
  body?: unknown;
}

/** Whether a tick is one of the sim's deliberately bad kinds (what the quality gate would quarantine). */
function isBad(t: Record<string, unknown>): boolean {
  const price = t.price as number;
  const bid = t.bid as number;
  const ask = t.ask as number;
  const ts = parseIsoMicros(t.ts as string)!;
  return price <= 0 || bid > ask || !SYMBOL_RE.test(t.symbol as string) || ts > nowMicros() + 60_000_000;
}

interface Stub {
  url: string;
  seen: Seen[];
  maxInFlight: number;
  ticks(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** The ingest API stand-in: answers `answer(i, ticks)` (default 202 counting bad ticks as quarantined) after `delayMs`. */
async function stub(opts: { answer?: (i: number, ticks: Array<Record<string, unknown>>) => Answer; delayMs?: number } = {}): Promise<Stub> {
  const seen: Seen[] = [];
  const started = performance.now();
  let inFlight = 0;
  const s = {
    url: '',
    seen,
    maxInFlight: 0,
    ticks: () => seen.flatMap((r) => r.lines.map((l) => JSON.parse(l) as Record<string, unknown>)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const lines = text.split('\n').filter((l) => l !== '');
      const i = seen.length;
      seen.push({ at: performance.now() - started, method: req.method!, path: req.url!, headers: req.headers, lines });
      const ticks = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const a = opts.answer
        ? opts.answer(i, ticks)
        : { status: 202, body: { accepted: ticks.length, quarantined: ticks.filter(isBad).length, issues: [] } };
      setTimeout(() => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(a.body === undefined ? '' : JSON.stringify(a.body));
      }, opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return s;
}

function summaryOf(r: CliRun): GenerateSummary {
  assert.ok(r.stdout.trim().startsWith('{'), `expected a JSON summary, got: ${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as GenerateSummary;
}

describe('tickline generate', () => {
  test('posts NDJSON batches of valid ticks of the requested symbols with the Bearer key', async (t) => {
    const api = await stub();
    t.after(() => api.close());
    const r = await generate(['--target', api.url, '--rate', '2000', '--symbols', 'aapl, BTC-USD', '--count', '300', '--json', '--quiet'], { TICKLINE_API_KEY: KEY });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(api.seen.length >= 2);
    for (const s of api.seen) {
      assert.equal(s.method, 'POST');
      assert.equal(s.path, '/v1/ticks');
      assert.equal(s.headers['content-type'], 'application/x-ndjson');
      assert.equal(s.headers.authorization, `Bearer ${KEY}`);
    }
    const ticks = api.ticks();
    assert.equal(ticks.length, 300);
    ticks.forEach((tick, i) => {
      const parsed = parseTick(tick, i, { provider: 'api', currency: 'USD' });
      assert.ok(!Array.isArray(parsed), `tick ${i} is malformed: ${JSON.stringify(parsed)}`);
      assert.ok(parsed.price > 0 && parsed.bid! > 0 && parsed.bid! < parsed.ask! && parsed.size > 0, JSON.stringify(tick));
      assert.equal(parsed.provider, 'generate');
      assert.ok(Math.abs(parsed.ts - nowMicros()) < 60_000_000, 'event times are now');
    });
    assert.deepEqual(new Set(ticks.map((x) => x.symbol)), new Set(['AAPL', 'BTC-USD']));
    // The price model: equities near their profile price, crypto far above.
    const aapl = ticks.filter((x) => x.symbol === 'AAPL').map((x) => x.price as number);
    assert.ok(aapl.every((p) => p > 150 && p < 230), `AAPL prices ${aapl.slice(0, 5).join(',')}`);
    assert.ok(ticks.filter((x) => x.symbol === 'BTC-USD').every((x) => (x.price as number) > 30_000));
    const s = summaryOf(r);
    assert.equal(s.ticks.sent, 300);
    assert.equal(s.ticks.accepted, 300);
    assert.equal(s.ticks.quarantined, 0);
    assert.equal(s.requests.ok, api.seen.length);
    assert.deepEqual(s.requests.by_status, { '202': api.seen.length });
    assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), 'the key is never printed');
  });

  test('--count stops exactly, in batches no larger than --batch', async (t) => {
    const api = await stub();
    t.after(() => api.close());
    const r = await generate(['--target', api.url, '--rate', '100000', '--symbols', 'AAPL,MSFT,NVDA', '--count', '1234', '--batch', '100', '--json', '--quiet'], { TICKLINE_API_KEY: KEY });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.ticks().length, 1234);
    assert.ok(api.seen.every((s) => s.lines.length <= 100));
    assert.equal(api.seen.length, 13);
    const s = summaryOf(r);
    assert.equal(s.stopped_by, 'count');
    assert.equal(s.ticks.sent, 1234);
    assert.equal(s.ticks.accepted, 1234);
    assert.equal(s.requests.sent, 13);
  });

  test('the rate is honoured over 2 s, with live progress on stderr', async (t) => {
    const api = await stub();
    t.after(() => api.close());
    const r = await generate(['--target', api.url, '--rate', '1000', '--symbols', 'AAPL,MSFT', '--duration', '2s', '--json'], { TICKLINE_API_KEY: KEY });
    assert.equal(r.code, 0, r.stderr);
    const ticks = api.ticks().length;
    // 2,000 due; the last batch goes out at the end, so fewer only when a request was still in flight.
    assert.ok(ticks >= 1800 && ticks <= 2000, `sent ${ticks}`);
    // Paced, not sent in a burst: about half by the middle of the run.
    const firstSecond = api.seen.filter((s) => s.at < 1000).reduce((n, s) => n + s.lines.length, 0);
    assert.ok(firstSecond >= 600 && firstSecond <= 1200, `first second: ${firstSecond}`);
    // Batches sized to the rate: 100 ms of ticks, not the default 500.
    assert.ok(api.seen.every((s) => s.lines.length <= 100));
    const s = summaryOf(r);
    assert.equal(s.stopped_by, 'duration');
    assert.equal(s.rate_reached, true);
    assert.ok(s.achieved_rate > 850 && s.achieved_rate < 1100, `achieved ${s.achieved_rate}`);
    assert.ok(s.elapsed_s >= 1.9 && s.elapsed_s < 3, `elapsed ${s.elapsed_s}`);
    assert.ok(s.latency_ms.p50 !== null && s.latency_ms.p99! >= s.latency_ms.p50);
    assert.match(r.stderr, /sent [\d,]+ +accepted [\d,]+ +quarantined \d+ +rejected \d+ \(0 req\) +failed 0 \(0 req\) +rate [\d,]+\/s of 1,000\/s +p50 [\d.]+ ms +p99 [\d.]+ ms/);
  });

  test('--bad-fraction makes bad ticks, which the API counts as quarantined; --seed repeats the prices', async (t) => {
    const api = await stub();
    t.after(() => api.close());
    const args = ['--target', api.url, '--rate', '100000', '--symbols', 'AAPL,ETH-USD', '--count', '1000', '--bad-fraction', '0.3', '--seed', '7', '--json', '--quiet'];
    const r = await generate(args, { TICKLINE_API_KEY: KEY });
    assert.equal(r.code, 0, r.stderr);
    const ticks = api.ticks();
    const bad = ticks.filter(isBad).length;
    assert.ok(bad >= 200 && bad <= 400, `bad ${bad} of 1000`);
    // Still well-formed: the API accepts them and the quality gate quarantines them.
    assert.ok(ticks.every((x, i) => !Array.isArray(parseTick(x, i, { provider: 'api', currency: 'USD' }))));
    const s = summaryOf(r);
    assert.equal(s.seed, 7);
    assert.equal(s.ticks.quarantined, bad);
    assert.equal(s.ticks.accepted, 1000);

    const again = await stub();
    t.after(() => again.close());
    assert.equal((await generate([...args.slice(0, 1), again.url, ...args.slice(2)], { TICKLINE_API_KEY: KEY })).code, 0);
    assert.deepEqual(
      again.ticks().map((x) => x.price),
      ticks.map((x) => x.price),
    );
  });

  test('422 and 500 answers are counted as rejected and the run goes on', async (t) => {
    const api = await stub({
      answer: (i, ticks) =>
        i % 4 === 1
          ? { status: 422, body: { code: 'TL_ERR_BAD_TICK', message: '1 of 100 ticks are malformed; nothing was written', details: [] } }
          : i % 4 === 2
            ? { status: 500, body: { code: 'TL_ERR_INTERNAL', message: 'store down' } }
            : { status: 202, body: { accepted: ticks.length, quarantined: 0, issues: [] } },
    });
    t.after(() => api.close());
    const r = await generate(['--target', api.url, '--rate', '100000', '--symbols', 'AAPL', '--count', '1000', '--batch', '100', '--concurrency', '1', '--json', '--quiet'], {
      TICKLINE_API_KEY: KEY,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.seen.length, 10);
    const s = summaryOf(r);
    assert.deepEqual(s.requests, { sent: 10, ok: 5, rejected: 5, failed: 0, by_status: { '202': 5, '422': 3, '500': 2 } });
    assert.equal(s.ticks.rejected, 500);
    assert.equal(s.ticks.accepted, 500);
    assert.match(s.last_error ?? '', /^(422|500): /);
  });

  test('exits 1 when every request failed, saying why', async (t) => {
    const api = await stub({ answer: () => ({ status: 503, body: { code: 'TL_ERR_UNAVAILABLE', message: 'this process does not run the ingest role' } }) });
    t.after(() => api.close());
    const r = await generate(['--target', api.url, '--rate', '100000', '--symbols', 'AAPL', '--count', '300', '--batch', '100', '--quiet'], { TICKLINE_API_KEY: KEY });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /requests +3 sent: 0 ok, 3 rejected, 0 failed/);
    assert.match(r.stderr, /every one of the 3 requests to http:\/\/127\.0\.0\.1:\d+\/v1\/ticks failed; last error: 503: this process does not run the ingest role \[TL_ERR_API_CLIENT\]/);

    // Nothing listening at all.
    const closed = await stub();
    await closed.close();
    const down = await generate(['--target', closed.url, '--rate', '100000', '--symbols', 'AAPL', '--count', '200', '--batch', '100', '--quiet', '--timeout', '2s'], { TICKLINE_API_KEY: KEY });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /every one of the 2 requests .* failed; last error: ECONNREFUSED/);
  });

  test('401 and 403 stop the run and exit 1 naming the key and the ingest scope', async (t) => {
    const unauth = await stub({ answer: () => ({ status: 401, body: { code: 'TL_ERR_UNAUTHENTICATED', message: 'an API key or a login session is required' } }) });
    t.after(() => unauth.close());
    const started = performance.now();
    const noKey = await generate(['--target', unauth.url, '--rate', '1000', '--symbols', 'AAPL', '--count', '100000', '--quiet']);
    assert.ok(performance.now() - started < 2000, 'stops at once');
    assert.equal(noKey.code, 1);
    assert.equal(unauth.seen[0]!.headers.authorization, undefined);
    assert.match(noKey.stderr, /needs an API key with the ingest scope: set TICKLINE_API_KEY or TICKLINE_API_KEY_FILE, or pass --api-key-file.*\[TL_ERR_UNAUTHENTICATED\]/);
    assert.match(noKey.stdout, /stopped by auth/);
    assert.ok(unauth.seen.length <= 4, `${unauth.seen.length} requests`);

    const keyFile = join(root, 'key');
    await writeFile(keyFile, `${KEY}\n`);
    const refused = await generate(['--target', unauth.url, '--rate', '1000', '--symbols', 'AAPL', '--count', '100000', '--quiet', '--api-key-file', keyFile]);
    assert.equal(refused.code, 1);
    assert.equal(unauth.seen.at(-1)!.headers.authorization, `Bearer ${KEY}`);
    assert.match(refused.stderr, /the API refused the API key \(wrong, or revoked\?\)/);
    assert.ok(!refused.stderr.includes(KEY) && !refused.stdout.includes(KEY));

    const forbidden = await stub({ answer: () => ({ status: 403, body: { code: 'TL_ERR_FORBIDDEN', message: 'this API key lacks the scope ingest' } }) });
    t.after(() => forbidden.close());
    const r = await generate(['--target', forbidden.url, '--rate', '1000', '--symbols', 'AAPL', '--count', '100000', '--quiet', '--json'], { TICKLINE_API_KEY: KEY });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /lacks the ingest scope .*tickline keys create --name loadgen --scope ingest.*\[TL_ERR_FORBIDDEN\]/);
    assert.equal(summaryOf(r).stopped_by, 'auth');
  });

  test('never more than --concurrency requests in flight; a slow server is reported, not queued for', async (t) => {
    const api = await stub({ delayMs: 200 });
    t.after(() => api.close());
    const r = await generate(['--target', api.url, '--rate', '5000', '--symbols', 'AAPL,MSFT', '--duration', '1s', '--batch', '50', '--concurrency', '3', '--json', '--quiet'], {
      TICKLINE_API_KEY: KEY,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.maxInFlight, 3);
    const s = summaryOf(r);
    // 3 requests of 50 every 200 ms: about 750 ticks a second, far from 5,000.
    assert.ok(s.ticks.sent <= 1000, `sent ${s.ticks.sent}`);
    assert.equal(s.ticks.sent, api.ticks().length);
    assert.equal(s.rate_reached, false);
    assert.ok(s.ticks.not_sent > 3000, `not sent ${s.ticks.not_sent}`);
    assert.ok(s.saturated_pct >= 50, `saturated ${s.saturated_pct}%`);
    assert.ok(s.elapsed_s < 1.6, `elapsed ${s.elapsed_s}`);
    assert.match(r.stderr, /warning: target rate not reached: .* all 3 requests were in flight/);
  });

  test('Ctrl-C stops sending, waits for the requests in flight and prints the summary', async (t) => {
    const api = await stub({ delayMs: 100 });
    t.after(() => api.close());
    const script =
      "import { Command } from 'commander'; import { addGenerateCommand } from './src/cli/generate.ts'; import { processIo } from './src/cli/io.ts';" +
      "const p = new Command('tickline').exitOverride(); addGenerateCommand(p, processIo()); await p.parseAsync(['node', 'tickline', ...process.argv.slice(1)]);";
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', 'generate', '--target', api.url, '--rate', '500', '--symbols', 'AAPL', '--json'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', TICKLINE_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Interrupt once the first batches have arrived (so that requests are in flight).
    const deadline = Date.now() + 8000;
    while (api.seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(api.seen.length >= 3, `no requests arrived: ${stderr}`);
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /stopping: waiting for the requests in flight/);
    const s = JSON.parse(stdout) as GenerateSummary;
    assert.equal(s.stopped_by, 'interrupt');
    // Every request sent was answered before the summary: the counts match what the server saw.
    assert.equal(s.ticks.sent, api.ticks().length);
    assert.equal(s.ticks.accepted, s.ticks.sent);
    assert.equal(s.requests.failed, 0);
  });

  test('refuses bad options, naming the flag and the value', async () => {
    const env = { TICKLINE_API_KEY: KEY };
    const cases: Array<[string[], RegExp]> = [
      [['--rate', '0', '--symbols', 'AAPL'], /--rate: must be ticks per second over all symbols, above 0 .*got "0"/],
      [['--rate', 'fast', '--symbols', 'AAPL'], /--rate: .*got "fast"/],
      [['--symbols', 'AAPL'], /--rate: required/],
      [['--rate', '10'], /--symbols: required/],
      [['--rate', '10', '--symbols', 'AAPL,bad sym'], /--symbols: "BAD SYM" is not a symbol/],
      [['--rate', '10', '--symbols', 'AAPL', '--duration', '5s', '--count', '10'], /give --duration or --count, not both/],
      [['--rate', '10', '--symbols', 'AAPL', '--duration', 'soon'], /--duration: must be a duration such as 500ms, 30s, 5m or 1h, got "soon"/],
      [['--rate', '10', '--symbols', 'AAPL', '--count', '1.5'], /--count: must be a whole number of ticks from 1, got "1.5"/],
      [['--rate', '10', '--symbols', 'AAPL', '--concurrency', '0'], /--concurrency: .*got "0"/],
      [['--rate', '10', '--symbols', 'AAPL', '--bad-fraction', '2'], /--bad-fraction: must be a fraction from 0 to 1, got "2"/],
      [['--rate', '10', '--symbols', 'AAPL', '--target', 'localhost:8000'], /--target: must be an http\(s\) URL .*got "localhost:8000"/],
      [['--rate', '10', '--symbols', 'AAPL', '--api-key-file', join(root, 'missing')], /--api-key-file ".*missing": cannot read the file \(ENOENT\)/],
    ];
    for (const [args, message] of cases) {
      const r = await generate(args, env);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, /\[TL_ERR_VALIDATION\]/);
    }
  });

  test('--help shows the options and examples', async () => {
    const r = await generate(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: tickline generate/);
    for (const flag of ['--target', '--rate', '--symbols', '--duration', '--count', '--batch', '--concurrency', '--bad-fraction', '--seed', '--api-key-file', '--json']) {
      assert.ok(r.stdout.includes(flag), flag);
    }
    assert.match(r.stdout, /Examples:\n {2}tickline generate --target http:\/\/localhost:8000 --rate 1000/);
  });
});

describe('generate internals', () => {
  test('batches hold at most 100 ms of ticks, and never more than --batch', () => {
    assert.equal(batchSize(1, 500), 1);
    assert.equal(batchSize(1000, 500), 100);
    assert.equal(batchSize(10_000, 500), 500);
    assert.equal(batchSize(0.2, 500), 1);
  });

  test('the latency histogram gives percentiles within 4 % in fixed memory', () => {
    const h = new LatencyHistogram();
    assert.equal(h.quantile(0.5), null);
    assert.equal(h.max, null);
    for (let round = 0; round < 20; round++) for (let ms = 1; ms <= 10_000; ms++) h.record(ms);
    assert.equal(h.count, 200_000);
    const p50 = h.quantile(0.5)!;
    const p99 = h.quantile(0.99)!;
    assert.ok(Math.abs(p50 - 5000) / 5000 <= 0.04, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - 9900) / 9900 <= 0.04, `p99 ${p99}`);
    assert.equal(h.quantile(1), 10_000);
    assert.ok(LatencyHistogram.BUCKETS < 1000);
    h.record(0);
    h.record(10 * 3_600_000);
    assert.equal(h.max, 10 * 3_600_000);
    h.reset();
    assert.equal(h.count, 0);
    assert.equal(h.quantile(0.99), null);
  });
});
