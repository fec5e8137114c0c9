/**
 * `tickline replay FILE`: loads a history file.
 *
 * - Tick files go through the pipeline, exactly as live ticks do (quality checks, zones, store, bars,
 *   latest cache), via a `FileSource` in an in-process platform. With the in-memory bus that platform
 *   runs the `ingest` and `process` roles itself (the embedded case: it needs the DuckDB file alone);
 *   with a shared bus (Kafka, NATS) it runs `ingest` only and publishes to the running servers.
 * - Daily files (one OHLCV row per date) become daily bars exactly as written (`Store.putBars`), and the
 *   last close of each symbol becomes its latest price.
 *
 * Resumable and idempotent through a checkpoint per file (see checkpoint.ts and docs/replay.md): the
 * rows handled for good are recorded as the run goes, an interrupted run continues after them, and a
 * finished file is not replayed again unless `restart` says so.
 */
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { cacheRegistry } from '../adapters/cache/index.ts';
import { redactUrl } from '../adapters/registry.ts';
import { storeRegistry } from '../adapters/store/index.ts';
import type { Config } from '../config/load.ts';
import type { Bar } from '../core/bar.ts';
import { isTicklineError, show, TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import type { Tick } from '../core/tick.ts';
import { nowMicros } from '../core/time.ts';
import type { Store } from '../ports/store.ts';
import { startPlatform, type Platform } from '../roles/platform.ts';
import { fileCheckpointPath, readCheckpoint, targetOf, writeCheckpoint, type FileCheckpoint } from './checkpoint.ts';
import type { Layout } from './layout.ts';
import { fromBadRow, QuarantineWriter } from './quarantine.ts';
import { openReader, type BadRow, type FileFormat, type FileReader, type ReaderOptions } from './reader.ts';
import { BarCounter, FileSource, type Mark } from './source.ts';

export interface FileReplayOptions {
  file: string;
  read: Omit<ReaderOptions, 'file'>;
  /** Event-time pace: gaps are divided by this; Infinity replays at full speed. */
  speed: number;
  /** Ignore the checkpoint and replay from the first row. */
  restart: boolean;
  config: Config;
  logger: Logger;
  /** Aborting ends the run gracefully: what was published is flushed and checkpointed. */
  signal?: AbortSignal;
  onProgress?: (p: FileReplayProgress) => void;
  /** Sees each batch of malformed rows as they are quarantined (the CLI prints the first ones). */
  onBad?: (rows: readonly BadRow[]) => void;
  metrics?: Metrics;
  /** How often the checkpoint is written while rows flow, ms (default 1000). */
  checkpointEveryMs?: number;
}

export interface FileReplayProgress {
  layout: Layout;
  /** Rows read so far, counted from the start of the file. */
  rows: number;
  /** Rows in the file: exact for Parquet, an estimate for text files, 0 when unknown. */
  total: number;
  /** Where this run started (rows of an earlier, interrupted run). */
  startRow: number;
  /** Ticks published, or bars stored, in this run. */
  stored: number;
  bad: number;
  elapsedMs: number;
}

export interface FileReplaySummary {
  file: string;
  format: FileFormat | null;
  layout: Layout | null;
  /** `pipeline`: ticks through an in-process pipeline; `publish`: ticks published to a shared bus; `bars`: daily bars into the store. */
  mode: 'pipeline' | 'publish' | 'bars' | null;
  status: 'complete' | 'interrupted' | 'already-replayed';
  /** Rows an earlier run had handled; this run started after them. */
  resumed_from: number;
  /** Rows handled in this run (published, stored, quarantined or skipped). */
  rows_read: number;
  ticks_published: number | null;
  /** Tick files in the pipeline mode: distinct bars the accepted ticks fell in. Daily files: bars stored. */
  bars_written: number | null;
  /** Tick files in the pipeline mode: ticks the quality checks sent to quarantine. */
  quarantined_by_checks: number | null;
  /** Malformed rows (quarantined with expectation `malformed`). */
  rejected: number;
  /** Daily files: days without any price. */
  skipped: number | null;
  latest: Array<{ symbol: string; date: string; close: number }> | null;
  elapsed_s: number;
  rows_per_s: number;
  checkpoint: string;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** The options that decide what rows become: a checkpoint continues only under the same ones. */
function fingerprint(read: Omit<ReaderOptions, 'file'>): Record<string, unknown> {
  return {
    format: read.format ?? null,
    delim: read.delim ?? null,
    map: read.map ?? {},
    layout: read.layout ?? null,
    symbol: read.symbol?.trim().toUpperCase() ?? null,
    provider: read.provider,
    currency: read.currency.toUpperCase(),
    tsFormat: read.tsFormat ?? null,
    tz: read.tz,
  };
}

/** The store is held by another process: say what to do instead of DuckDB's lock message. */
export function explainLock(e: unknown, config: Config): unknown {
  if (isTicklineError(e) && /Could not set lock|Conflicting lock/i.test(e.message)) {
    return new TicklineError(
      'TL_ERR_UNAVAILABLE',
      `the store ${redactUrl(config.store)} is in use by another process (a running Tickline server?), and loading a file into an embedded store needs it alone: stop the server, or use a shared store (Postgres) and bus (Kafka/NATS) so that the file is published to the running server`,
      { cause: e },
    );
  }
  return e;
}

function dateOf(us: number): string {
  return new Date(us / 1000).toISOString().slice(0, 10);
}

export async function replayFile(o: FileReplayOptions): Promise<FileReplaySummary> {
  const file = resolve(o.file);
  let st;
  try {
    st = statSync(file);
  } catch (cause) {
    throw new TicklineError('TL_ERR_VALIDATION', `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message}`, { cause });
  }
  const ckPath = fileCheckpointPath(o.config.dataDir, { path: file, size: st.size, mtimeMs: st.mtimeMs }, targetOf(o.config));
  const options = fingerprint(o.read);
  const prior = o.restart ? null : readCheckpoint<FileCheckpoint>(ckPath);
  if (prior?.complete) {
    return {
      file,
      format: null,
      layout: null,
      mode: null,
      status: 'already-replayed',
      resumed_from: prior.rows,
      rows_read: 0,
      ticks_published: null,
      bars_written: null,
      quarantined_by_checks: null,
      rejected: 0,
      skipped: null,
      latest: null,
      elapsed_s: 0,
      rows_per_s: 0,
      checkpoint: ckPath,
    };
  }
  if (prior && JSON.stringify(prior.options) !== JSON.stringify(options)) {
    throw new TicklineError(
      'TL_ERR_VALIDATION',
      `an interrupted replay of ${basename(file)} (${prior.rows} rows done) used other options (${show(prior.options)}): run it again with the same options to continue, or add --restart to replay the file from the start`,
    );
  }
  const now = new Date().toISOString();
  const cp: FileCheckpoint = prior ?? {
    version: 1,
    file,
    size: st.size,
    mtimeMs: st.mtimeMs,
    options,
    rows: 0,
    stored: 0,
    bad: 0,
    rejects: 0,
    skipped: 0,
    latest: [],
    complete: false,
    startedAt: now,
    updatedAt: now,
  };
  const reader = await openReader({ ...o.read, file });
  try {
    return reader.layout === 'daily' ? await replayDaily(o, reader, cp, ckPath) : await replayTicks(o, reader, cp, ckPath);
  } finally {
    await reader.close();
  }
}

/**
 * Rows the parser could not split at all are known only once the file has been read: they are reported and
 * quarantined at the end (those of an earlier, interrupted run excluded), and counted in the checkpoint.
 */
async function quarantineStructural(o: FileReplayOptions, reader: FileReader, cp: FileCheckpoint, quarantine: QuarantineWriter): Promise<number> {
  const structural = (await reader.rejects()).slice(cp.rejects);
  if (structural.length > 0) o.onBad?.(structural);
  await quarantine.write(structural.map((b) => fromBadRow(b, reader.file)));
  cp.rejects += structural.length;
  cp.bad += structural.length;
  return structural.length;
}

async function save(path: string, cp: FileCheckpoint): Promise<void> {
  cp.updatedAt = new Date().toISOString();
  await writeCheckpoint(path, cp);
}

async function replayTicks(o: FileReplayOptions, reader: FileReader, cp: FileCheckpoint, ckPath: string): Promise<FileReplaySummary> {
  const { config, logger } = o;
  const embedded = config.bus.startsWith('memory:');
  const metrics = o.metrics ?? new Metrics({ defaultMetrics: false });
  const start = { ...cp };
  const quarantine = QuarantineWriter.forConfig(config, { logger, metrics }, { symbol: reader.fixedSymbol, provider: o.read.provider, currency: o.read.currency });
  const source = new FileSource(`file:${basename(reader.file)}`, {
    reader,
    skip: cp.rows,
    batchMax: config.batchMax,
    speed: o.speed,
    onBad: (bad) => {
      o.onBad?.(bad);
      return quarantine.write(bad.map((b) => fromBadRow(b, reader.file)));
    },
  });
  const bars = embedded ? new BarCounter() : null;
  // This process only: no API, no simulated feed, probes on a free loopback port.
  const platformConfig: Config = Object.freeze({ ...config, roles: embedded ? 'ingest,process' : 'ingest', simRate: 0, port: 0, host: '127.0.0.1', auth: false, quiet: true });
  const started = performance.now();
  let platform: Platform;
  try {
    platform = await startPlatform({ config: platformConfig, logger, metrics, sources: [source], onVisible: bars ? (ticks) => bars.add(ticks) : undefined });
  } catch (e) {
    await quarantine.close().catch(() => undefined);
    throw explainLock(e, config);
  }
  const stopOnAbort = () => source.stop();
  o.signal?.addEventListener('abort', stopOnAbort, { once: true });
  if (o.signal?.aborted) source.stop();

  /** Ticks of this run the pipeline acknowledged: the bus's lag says how many are still on their way. */
  const lag = async (): Promise<number> => {
    await platform.health();
    const v = (await metrics.busLag.get()).values.find((x) => x.labels.topic === config.topic);
    return v?.value ?? 0;
  };
  const acked = async (): Promise<number> => (embedded ? Math.max(0, source.emitted - (await lag())) : source.emitted);
  const record = (m: Mark): void => {
    cp.rows = m.row;
    cp.stored = start.stored + m.ticks;
    cp.bad = start.bad + m.bad;
  };
  const progress = (): void =>
    o.onProgress?.({ layout: 'ticks', rows: source.position, total: reader.totalRows, startRow: start.rows, stored: source.emitted, bad: source.badRows, elapsedMs: performance.now() - started });

  let failure: unknown = null;
  try {
    let ended = false;
    const done = platform.sourcesDone.then(() => {
      ended = true;
    });
    const every = o.checkpointEveryMs ?? 1_000;
    let lastSave = performance.now();
    while (!ended) {
      await Promise.race([done, new Promise((r) => setTimeout(r, Math.min(250, every)))]);
      if (ended) break;
      progress();
      if (performance.now() - lastSave >= every) {
        lastSave = performance.now();
        record(source.commit(await acked()));
        await save(ckPath, cp);
      }
    }
    // Everything the source emitted is on the bus: wait until the pipeline has acknowledged it all.
    if (embedded) {
      const deadline = performance.now() + config.stopGraceMs;
      while ((await lag()) > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    record(source.commit(await acked()));
  } catch (e) {
    failure = e;
  } finally {
    o.signal?.removeEventListener('abort', stopOnAbort);
    await platform.stop();
  }
  const complete = failure === null && source.done && source.error === null && cp.rows === source.position;
  let rejects = 0;
  try {
    if (complete) {
      rejects = await quarantineStructural(o, reader, cp, quarantine);
      cp.complete = true;
    }
  } finally {
    await quarantine.close();
    await save(ckPath, cp);
  }
  progress();
  if (failure !== null) throw failure;
  if (source.error !== null) throw source.error;
  const secs = (performance.now() - started) / 1000;
  const rows = cp.rows - start.rows;
  const quarantined = embedded ? (await metrics.ticksProcessed.get()).values.filter((v) => v.labels.result === 'quarantine').reduce((a, v) => a + v.value, 0) : null;
  return {
    file: reader.file,
    format: reader.format,
    layout: 'ticks',
    mode: embedded ? 'pipeline' : 'publish',
    status: complete ? 'complete' : 'interrupted',
    resumed_from: start.rows,
    rows_read: rows,
    ticks_published: source.emitted,
    bars_written: bars?.count ?? null,
    quarantined_by_checks: quarantined,
    rejected: source.badRows + rejects,
    skipped: null,
    latest: null,
    elapsed_s: r2(secs),
    rows_per_s: secs > 0 ? Math.round(rows / secs) : 0,
    checkpoint: ckPath,
  };
}

async function openStore(config: Config, logger: Logger): Promise<Store> {
  const store = await storeRegistry.create(config.store, { dataDir: config.dataDir, logger });
  try {
    await store.init();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw explainLock(e, config);
  }
  return store;
}

async function replayDaily(o: FileReplayOptions, reader: FileReader, cp: FileCheckpoint, ckPath: string): Promise<FileReplaySummary> {
  const { config, logger } = o;
  const start = { ...cp };
  const started = performance.now();
  const store = await openStore(config, logger);
  const quarantine = QuarantineWriter.forConfig(config, { logger }, { symbol: reader.fixedSymbol, provider: o.read.provider, currency: o.read.currency });
  const latest = new Map(cp.latest.map((l) => [l.symbol, { start: l.start, close: l.close }]));
  let bars = 0;
  let bad = 0;
  let skipped = 0;
  let finished: boolean;
  let rejects = 0;
  const written: Tick[] = [];
  try {
    for await (const chunk of reader.dailyChunks(cp.rows)) {
      if (chunk.bad.length > 0) {
        o.onBad?.(chunk.bad);
        await quarantine.write(chunk.bad.map((b) => fromBadRow(b, reader.file)));
        bad += chunk.bad.length;
      }
      if (chunk.bars.length > 0) {
        await store.putBars(chunk.bars);
        bars += chunk.bars.length;
        for (const b of chunk.bars) {
          const l = latest.get(b.symbol);
          if (l === undefined || b.start >= l.start) latest.set(b.symbol, { start: b.start, close: b.close });
        }
      }
      skipped += chunk.skipped;
      cp.rows = chunk.end;
      cp.stored = start.stored + bars;
      cp.bad = start.bad + bad;
      cp.skipped = start.skipped + skipped;
      cp.latest = [...latest].map(([symbol, l]) => ({ symbol, ...l }));
      await save(ckPath, cp);
      o.onProgress?.({ layout: 'daily', rows: chunk.end, total: reader.totalRows, startRow: start.rows, stored: bars, bad, elapsedMs: performance.now() - started });
      if (o.signal?.aborted) break;
    }
    finished = !o.signal?.aborted;
    if (finished) {
      rejects = await quarantineStructural(o, reader, cp, quarantine);
      for (const [symbol, l] of latest) {
        const t = await writeLatest(store, { symbol, ts: l.start, price: l.close, provider: o.read.provider, currency: o.read.currency.toUpperCase() });
        if (t) written.push(t);
      }
      if (written.length > 0 && !config.cache.startsWith('memory:')) {
        // A shared cache (Redis) serves the latest prices of running servers: update it too. A memory
        // cache is warmed from the store when a server starts.
        const cache = await cacheRegistry.create(config.cache, { dataDir: config.dataDir, logger });
        try {
          await cache.put(written);
        } finally {
          await cache.close();
        }
      }
      cp.complete = true;
    }
  } finally {
    await quarantine.close().catch((e: unknown) => logger.error({ err: e }, 'closing the quarantine zone failed'));
    await save(ckPath, cp);
    await store.close();
  }
  const secs = (performance.now() - started) / 1000;
  const rows = cp.rows - start.rows;
  return {
    file: reader.file,
    format: reader.format,
    layout: 'daily',
    mode: 'bars',
    status: finished ? 'complete' : 'interrupted',
    resumed_from: start.rows,
    rows_read: rows,
    ticks_published: null,
    bars_written: bars,
    quarantined_by_checks: null,
    rejected: bad + rejects,
    skipped,
    latest: finished ? [...latest].map(([symbol, l]) => ({ symbol, date: dateOf(l.start), close: l.close })) : null,
    elapsed_s: r2(secs),
    rows_per_s: secs > 0 ? Math.round(rows / secs) : 0,
    checkpoint: ckPath,
  };
}

/**
 * The close of a symbol's newest day as its latest price: a tick at the day's start (UTC midnight), so
 * it never looks newer than live ticks of that day. Written without bars (the day's bar is the file's),
 * and only once: a tick of the same provider, time and price already stored is left alone.
 */
async function writeLatest(store: Store, t: { symbol: string; ts: number; price: number; provider: string; currency: string }): Promise<Tick | null> {
  const tick: Tick = { symbol: t.symbol, ts: t.ts, price: t.price, size: 0, bid: null, ask: null, currency: t.currency, provider: t.provider, seq: null, recvTs: nowMicros() };
  const page = await store.history({ symbol: t.symbol, from: t.ts, to: t.ts + 1, limit: 1000 });
  if (page.ticks.some((x) => x.provider === t.provider && x.seq === null && x.price === t.price)) return null;
  const noBars: Bar[] = [];
  await store.write({ ticks: [tick], bars: noBars });
  return tick;
}
