import { TicklineError, show } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { parseTick, type Tick } from '../core/tick.ts';
import { formatIsoMicros, parseIsoMicros, type Micros } from '../core/time.ts';
import type { Cache } from '../ports/cache.ts';
import type { Store } from '../ports/store.ts';
import type { Zones } from '../ports/zones.ts';
import { Gate } from '../quality/gate.ts';
import type { Suite } from '../quality/suite.ts';
import { aggregateBatch } from './bars.ts';
import { RunRecorder, RUNS_PREFIX, runKey, type RunDoc } from './runs.ts';

const HOUR_US = 3_600_000_000;
const DAY_US = 24 * HOUR_US;
const CHUNK = 8_192;
/** Where each release records the identities it released, so a row is released once. */
export const RELEASES_PREFIX = 'quality/releases/';
const TICK_FIELDS = ['symbol', 'ts', 'price', 'size', 'bid', 'ask', 'currency', 'provider', 'seq', 'received_at'] as const;

export interface QuarantineFilter {
  symbol?: string;
  expectation?: string;
  /** Rows quarantined by this validation run. */
  run?: string;
  /** Event-time range [from, to); defaults to the run's span, else 24 h back to 24 h ahead (future-dated rows included). */
  from?: Micros;
  to?: Micros;
  limit?: number;
}

export type QuarantineRow = Record<string, unknown> & { released_by: string | null };

/** Progress of a long operation: `done` of `total` units (`unit` says which), and rows seen so far. */
export interface Progress {
  phase: string;
  unit: 'hours' | 'rows';
  done: number;
  total: number;
  rows: number;
}
export type OnProgress = (p: Progress) => void;

export interface ReleaseSummary {
  run: string;
  candidates: number;
  already_released: number;
  released: number;
  still_failing: number;
  stored: number;
  malformed: number;
}

export interface ReplaySummary {
  run: string;
  from: string;
  to: string;
  hours: number;
  rows_read: number;
  malformed: number;
  passed: number;
  failed: number;
  stored: number;
  curated_hours: number;
}

export interface QualityServiceDeps {
  zones: Zones;
  store: Store;
  cache: Cache | null;
  suite: Suite;
  logger: Logger;
  /** The open run of this process's process stage, shown before its first save. */
  liveRun?: () => RunDoc | null;
  dataset?: string;
}

function identity(r: Readonly<Record<string, unknown>>): string {
  return `${String(r.provider)}|${String(r.symbol)}|${String(r.ts)}|${String(r.seq)}`;
}

function tickIdentity(t: Tick): string {
  return identity({ provider: t.provider, symbol: t.symbol, ts: formatIsoMicros(t.ts), seq: t.seq });
}

/** Deterministic order for replays: event time, then symbol, provider and sequence. */
function byTime(a: Tick, b: Tick): number {
  return a.ts - b.ts || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0) || (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0) || (a.seq ?? -1) - (b.seq ?? -1);
}

/** A zone row back to a tick: only the tick's own fields (zone rows carry annotations beside them). */
function rowToTick(row: Record<string, unknown>, i: number): Tick | null {
  const rec: Record<string, unknown> = {};
  for (const k of TICK_FIELDS) if (row[k] !== undefined) rec[k] = row[k];
  const t = parseTick(rec, i, { provider: 'unknown', currency: 'USD' });
  return Array.isArray(t) ? null : t;
}

/**
 * Validation runs, the quarantine browser, release and replay: everything the API and CLI offer on top
 * of the zones and the store.
 *
 * Idempotence: replay rewrites each curated hour whole (the same raw rows give a byte-identical file);
 * rows go to the store only when their identity (provider, symbol, event time, sequence) is not there
 * yet, so bars only count new rows; a released row is recorded and never released twice.
 */
export class QualityService {
  readonly #d: QualityServiceDeps;
  readonly #dataset: string;

  constructor(deps: QualityServiceDeps) {
    this.#d = deps;
    this.#dataset = deps.dataset ?? 'ticks';
  }

  get suite(): Suite {
    return this.#d.suite;
  }

  /** Newest first. */
  async listRuns(limit: number): Promise<RunDoc[]> {
    const keys = await this.#d.zones.listDocs(RUNS_PREFIX);
    const ids = keys
      .map((k) => k.slice(k.lastIndexOf('/') + 1).replace(/\.json$/, ''))
      .sort()
      .reverse();
    const live = this.#d.liveRun?.() ?? null;
    const out: RunDoc[] = [];
    if (live && live.rows.evaluated > 0 && !ids.includes(live.id)) out.push(live);
    for (const id of ids.slice(0, Math.max(0, limit - out.length))) {
      const doc = await this.getRun(id);
      if (doc) out.push(doc);
    }
    return out;
  }

  async getRun(id: string): Promise<RunDoc | null> {
    const key = runKey(id);
    if (!key) return null;
    // This process's open run is fresher than its last save.
    const live = this.#d.liveRun?.() ?? null;
    if (live && live.id === id) return live;
    const text = await this.#d.zones.getDoc(key);
    if (text === null) return null;
    return JSON.parse(text) as RunDoc;
  }

  /** Quarantined rows matching the filter, oldest first, each with the release that took it out (if any). */
  async quarantine(filter: QuarantineFilter): Promise<{ rows: QuarantineRow[]; truncated: boolean; from: string; to: string }> {
    const limit = filter.limit ?? 100;
    const { from, to } = await this.#range(filter);
    const released = await this.#released();
    const rows: QuarantineRow[] = [];
    let truncated = false;
    outer: for await (const batch of this.#d.zones.read('quarantine', this.#dataset, { from, to })) {
      for (const row of batch) {
        if (!matches(row, filter)) continue;
        if (rows.length >= limit) {
          truncated = true;
          break outer;
        }
        rows.push({ ...row, released_by: released.get(identity(row)) ?? null });
      }
    }
    return { rows, truncated, from: formatIsoMicros(from), to: formatIsoMicros(to) };
  }

  /**
   * Re-validates quarantined rows (of a run, or matching a filter) against the current suite, on a fresh
   * gate in event-time order, and releases those that pass now: store (new identities only, with their
   * bars), curated zone and latest cache. Recorded as a `release` run.
   */
  async release(filter: QuarantineFilter, onProgress: OnProgress = () => {}): Promise<ReleaseSummary> {
    const d = this.#d;
    const { from, to } = await this.#range(filter);
    const released = await this.#released();
    const candidates: Tick[] = [];
    let malformed = 0;
    let already = 0;
    let seen = 0;
    for await (const batch of d.zones.read('quarantine', this.#dataset, { from, to })) {
      for (const row of batch) {
        if (!matches(row, filter)) continue;
        seen++;
        if (released.has(identity(row))) {
          already++;
          continue;
        }
        const t = rowToTick(row, seen);
        if (t === null) malformed++;
        else candidates.push(t);
      }
      onProgress({ phase: 'reading quarantine', unit: 'rows', done: seen, total: 0, rows: seen });
    }
    // One row can sit in quarantine twice (redelivered before its batch was acknowledged): release it once.
    const unique = new Map<string, Tick>();
    for (const t of candidates) unique.set(tickIdentity(t), t);
    const ticks = [...unique.values()].sort(byTime);

    const recorder = new RunRecorder({ zones: d.zones, logger: d.logger, suite: d.suite, kind: 'release' });
    const gate = new Gate(d.suite);
    const passed: Tick[] = [];
    let failed = 0;
    let stored = 0;
    for (let i = 0; i < ticks.length; i += CHUNK) {
      const r = gate.evaluate(ticks.slice(i, i + CHUNK));
      recorder.record(r);
      failed += r.failed.length;
      if (r.passed.length > 0) {
        stored += await writeNew(d.store, r.passed);
        await d.zones.append('curated', this.#dataset, r.passed);
        await d.cache?.put(aggregateBatch(r.passed).latest);
        passed.push(...r.passed);
      }
      onProgress({ phase: 'releasing', unit: 'rows', done: Math.min(i + CHUNK, ticks.length), total: ticks.length, rows: Math.min(i + CHUNK, ticks.length) });
    }
    await d.zones.flush();
    const summary: ReleaseSummary = {
      run: recorder.runId,
      candidates: seen,
      already_released: already,
      released: passed.length,
      still_failing: failed,
      stored,
      malformed,
    };
    recorder.setSummary({ ...summary, filter: describeFilter(filter), from: formatIsoMicros(from), to: formatIsoMicros(to) });
    // The identities first: a crash after this and before the run document leaves the rows released once.
    await d.zones.putDoc(`${RELEASES_PREFIX}${recorder.runId}.json`, JSON.stringify({ run: recorder.runId, identities: passed.map(tickIdentity) }));
    await recorder.close();
    d.logger.info({ ...summary }, 'quality: quarantine release finished');
    return summary;
  }

  /**
   * Runs raw rows of whole event-time hours through the normalizer and the current suite again (fresh
   * gate, deterministic order) and rebuilds, per hour, the curated file, the missing store rows and
   * their bars. Running it twice changes nothing. Failing rows are counted and sampled in the replay's
   * run; the quarantine zone is not appended to again.
   */
  async replay(range: { from: Micros; to: Micros }, onProgress: OnProgress = () => {}): Promise<ReplaySummary> {
    const d = this.#d;
    if (!(range.to > range.from)) throw new TicklineError('TL_ERR_VALIDATION', `replay: to (${formatIsoMicros(range.to)}) must be after from (${formatIsoMicros(range.from)})`);
    const from = Math.floor(range.from / HOUR_US) * HOUR_US;
    const to = Math.ceil(range.to / HOUR_US) * HOUR_US;
    const hours = (to - from) / HOUR_US;
    if (hours > 24 * 366) throw new TicklineError('TL_ERR_VALIDATION', `replay: ${hours} hours is more than a year at once; split the range`);
    const recorder = new RunRecorder({ zones: d.zones, logger: d.logger, suite: d.suite, kind: 'replay' });
    const gate = new Gate(d.suite);
    const s: ReplaySummary = { run: recorder.runId, from: formatIsoMicros(from), to: formatIsoMicros(to), hours, rows_read: 0, malformed: 0, passed: 0, failed: 0, stored: 0, curated_hours: 0 };
    for (let h = 0; h < hours; h++) {
      const start = from + h * HOUR_US;
      const ticks: Tick[] = [];
      for await (const batch of d.zones.read('raw', this.#dataset, { from: start, to: start + HOUR_US })) {
        for (const row of batch) {
          s.rows_read++;
          const t = rowToTick(row, s.rows_read);
          if (t === null) s.malformed++;
          else ticks.push(t);
        }
      }
      ticks.sort(byTime);
      const passed: Tick[] = [];
      for (let i = 0; i < ticks.length; i += CHUNK) {
        const r = gate.evaluate(ticks.slice(i, i + CHUNK));
        recorder.record(r);
        s.failed += r.failed.length;
        for (const t of r.passed) passed.push(t);
      }
      s.passed += passed.length;
      if (ticks.length > 0) {
        await d.zones.replaceHour(this.#dataset, start, passed);
        s.curated_hours++;
        for (let i = 0; i < passed.length; i += CHUNK) s.stored += await writeNew(d.store, passed.slice(i, i + CHUNK));
      }
      onProgress({ phase: 'replaying', unit: 'hours', done: h + 1, total: hours, rows: s.rows_read });
    }
    recorder.setSummary({ ...s });
    await recorder.close();
    d.logger.info({ ...s }, 'quality: replay finished');
    return s;
  }

  async #range(filter: QuarantineFilter): Promise<{ from: Micros; to: Micros }> {
    let from = filter.from;
    let to = filter.to;
    if (filter.run !== undefined && (from === undefined || to === undefined)) {
      const run = await this.getRun(filter.run);
      if (!run) throw new TicklineError('TL_ERR_NOT_FOUND', `no validation run ${show(filter.run)}`);
      if (run.quarantine_range) {
        from ??= parseIsoMicros(run.quarantine_range.from)!;
        to ??= parseIsoMicros(run.quarantine_range.to)! + 1;
      }
    }
    to ??= Date.now() * 1000 + DAY_US;
    from ??= to - 2 * DAY_US;
    if (!(to > from)) throw new TicklineError('TL_ERR_VALIDATION', `to (${formatIsoMicros(to)}) must be after from (${formatIsoMicros(from)})`);
    return { from, to };
  }

  /** Identity → id of the release that took the row out of quarantine. */
  async #released(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const key of await this.#d.zones.listDocs(RELEASES_PREFIX)) {
      const text = await this.#d.zones.getDoc(key);
      if (text === null) continue;
      const doc = JSON.parse(text) as { run: string; identities: string[] };
      for (const id of doc.identities) out.set(id, doc.run);
    }
    return out;
  }
}

function matches(row: Record<string, unknown>, f: QuarantineFilter): boolean {
  if (f.symbol !== undefined && row.symbol !== f.symbol) return false;
  if (f.run !== undefined && row.run_id !== f.run) return false;
  if (f.expectation !== undefined) {
    const failed = typeof row.failed === 'string' ? row.failed.split(',') : [row.expectation ?? row.reason];
    if (!failed.includes(f.expectation)) return false;
  }
  return true;
}

function describeFilter(f: QuarantineFilter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.run !== undefined) out.run = f.run;
  if (f.symbol !== undefined) out.symbol = f.symbol;
  if (f.expectation !== undefined) out.expectation = f.expectation;
  if (f.from !== undefined) out.from = formatIsoMicros(f.from);
  if (f.to !== undefined) out.to = formatIsoMicros(f.to);
  return out;
}

/**
 * Writes the ticks whose identity the store does not hold yet, with the bars of exactly those; returns
 * how many were new. An idempotent store skips known identities itself; for the others the known ones
 * are looked up per symbol over the batch's time span first.
 */
export async function writeNew(store: Store, ticks: readonly Tick[]): Promise<number> {
  if (ticks.length === 0) return 0;
  let fresh: Tick[] = [...ticks];
  if (!store.idempotent) {
    const known = new Set<string>();
    const bySymbol = new Map<string, { min: Micros; max: Micros }>();
    for (const t of ticks) {
      const s = bySymbol.get(t.symbol);
      if (!s) bySymbol.set(t.symbol, { min: t.ts, max: t.ts });
      else {
        if (t.ts < s.min) s.min = t.ts;
        if (t.ts > s.max) s.max = t.ts;
      }
    }
    for (const [symbol, span] of bySymbol) {
      let cursor: string | undefined;
      do {
        const page = await store.history({ symbol, from: span.min, to: span.max + 1, limit: 10_000, ...(cursor ? { cursor } : {}) });
        for (const t of page.ticks) known.add(tickIdentity(t));
        cursor = page.next ?? undefined;
      } while (cursor);
    }
    // Also drop repeats inside the batch itself.
    fresh = [];
    for (const t of ticks) {
      const id = tickIdentity(t);
      if (known.has(id)) continue;
      known.add(id);
      fresh.push(t);
    }
  }
  if (fresh.length === 0) return 0;
  await store.write({ ticks: fresh, bars: aggregateBatch(fresh).bars });
  return fresh.length;
}
