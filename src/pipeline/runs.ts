import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../core/log.ts';
import type { Tick } from '../core/tick.ts';
import { formatIsoMicros, nowMicros, type Micros } from '../core/time.ts';
import type { Zones } from '../ports/zones.ts';
import type { GateResult, RowFailure } from '../quality/gate.ts';
import type { Suite } from '../quality/suite.ts';

/** Where run documents live next to the zones; one folder per UTC day of the run's start. */
export const RUNS_PREFIX = 'quality/runs/';
/** The sample of failing rows a run keeps, to show in its report (the rows themselves are in quarantine). */
export const SAMPLE_MAX = 100;

export type RunKind = 'stream' | 'replay' | 'release';

export interface ExpectationTotals {
  name: string;
  type: string;
  column: string | null;
  mostly: number;
  action: 'quarantine' | 'warn';
  evaluated: number;
  failed: number;
  /** Failed share in percent, as Great Expectations reports `unexpected_percent`. */
  unexpected_percent: number;
  /** Over the whole run: (evaluated - failed) / evaluated >= mostly. */
  success: boolean;
}

export interface FailureSample {
  symbol: string;
  ts: string;
  provider: string;
  seq: number | null;
  price: number;
  expectation: string;
  observed: string | number | boolean | null;
  threshold: string;
  action: 'quarantine' | 'warn';
}

/** A validation run as stored (`quality/runs/YYYY-MM-DD/<id>.json`) and served by the API. */
export interface RunDoc {
  id: string;
  kind: RunKind;
  status: 'running' | 'closed';
  suite: string;
  suite_version: string;
  suite_file: string | null;
  instance: string;
  started_at: string;
  ended_at: string | null;
  verdict: 'PASS' | 'FAIL';
  rows: { evaluated: number; passed: number; failed: number; warned: number };
  batches: { pass: number; fail: number };
  expectations: ExpectationTotals[];
  failures_sample: FailureSample[];
  /** Event-time span of the rows this run quarantined: where to look for them in the quarantine zone. */
  quarantine_range: { from: string; to: string } | null;
  /** Free-form facts of replay and release runs (range, rows read, released, skipped…). */
  summary?: Record<string, unknown>;
}

const ID_RE = /^(\d{4})(\d{2})(\d{2})T\d{6}Z-[0-9a-f]{6}$/;

/** A run id sorts by start time: `20261121T163000Z-1a2b3c`. */
export function newRunId(atUs: Micros = nowMicros()): string {
  const iso = formatIsoMicros(atUs); // 2026-11-21T16:30:00.123456Z
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return `${compact}-${randomBytes(3).toString('hex')}`;
}

export function isRunId(id: string): boolean {
  return ID_RE.test(id);
}

/** The document key of a run id (validated: ids come from URLs). */
export function runKey(id: string): string | null {
  const m = ID_RE.exec(id);
  return m ? `${RUNS_PREFIX}${m[1]}-${m[2]}-${m[3]}/${id}.json` : null;
}

/**
 * Accumulates the gate's verdicts into validation runs, as Great Expectations records a validation
 * result per checkpoint run. In the stream a run spans `runSeconds` of one process (a run per batch
 * would mean thousands a second); replays and releases are one run each.
 *
 * The open run's document is rewritten every `saveMs` while it changes, so another process (the API
 * role) sees it live; it is closed after `runSeconds` and on `close()`. Saving is best effort: a
 * failed save is logged and retried with the next one — the rows themselves are in the zones already.
 */
export class RunRecorder {
  readonly #zones: Zones;
  readonly #logger: Logger;
  readonly #suite: Suite;
  readonly #kind: RunKind;
  readonly #runMs: number;
  readonly #instance = `${hostname()}:${process.pid}`;
  #doc: RunDoc;
  #openedAt = Date.now();
  #quarantineMin = Infinity;
  #quarantineMax = -Infinity;
  #dirty = false;
  #saving: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(opts: { zones: Zones; logger: Logger; suite: Suite; kind?: RunKind; runSeconds?: number; saveMs?: number }) {
    this.#zones = opts.zones;
    this.#logger = opts.logger;
    this.#suite = opts.suite;
    this.#kind = opts.kind ?? 'stream';
    this.#runMs = (opts.runSeconds ?? 60) * 1000;
    this.#doc = this.#fresh();
    if (this.#kind === 'stream') {
      this.#timer = setInterval(() => this.#onTimer(), Math.max(100, opts.saveMs ?? 5_000));
      this.#timer.unref();
    }
  }

  /** The id new verdicts are recorded under (quarantined rows carry it). */
  get runId(): string {
    return this.#doc.id;
  }

  /** A copy of the open run's document. */
  current(): RunDoc {
    return this.#snapshot('running');
  }

  /** Adds one batch's verdict; returns the run id it was recorded under. */
  record(r: GateResult): string {
    const d = this.#doc;
    d.rows.evaluated += r.passed.length + r.failed.length;
    d.rows.passed += r.passed.length;
    d.rows.failed += r.failed.length;
    d.rows.warned += r.warned;
    if (r.verdict === 'PASS') d.batches.pass++;
    else d.batches.fail++;
    for (let i = 0; i < r.expectations.length; i++) {
      const e = r.expectations[i]!;
      const tot = d.expectations[i];
      if (tot && tot.name === e.name) {
        tot.evaluated += e.evaluated;
        tot.failed += e.failed;
      }
    }
    for (let i = 0; i < r.failed.length; i++) {
      const t = r.failed[i]!;
      if (t.ts < this.#quarantineMin) this.#quarantineMin = t.ts;
      if (t.ts > this.#quarantineMax) this.#quarantineMax = t.ts;
      if (d.failures_sample.length < SAMPLE_MAX) this.#sample(t, r.failures[i]!);
    }
    this.#dirty = true;
    return d.id;
  }

  setSummary(summary: Record<string, unknown>): void {
    this.#doc.summary = summary;
    this.#dirty = true;
  }

  /** Closes the open run (saving it) and starts a new one. */
  async roll(): Promise<RunDoc> {
    const closed = this.#snapshot('closed');
    this.#doc = this.#fresh();
    this.#openedAt = Date.now();
    this.#quarantineMin = Infinity;
    this.#quarantineMax = -Infinity;
    this.#dirty = false;
    await this.#save(closed);
    return closed;
  }

  /** Saves the open run if it changed. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    await this.#save(this.#snapshot('running'));
  }

  /** Closes and saves the open run if it recorded anything; no more timers. */
  async close(): Promise<RunDoc | null> {
    if (this.#closed) return null;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#doc.rows.evaluated === 0 && !this.#doc.summary) {
      await this.#saving;
      return null;
    }
    return this.roll();
  }

  #onTimer(): void {
    if (this.#closed) return;
    if (Date.now() - this.#openedAt >= this.#runMs && this.#doc.rows.evaluated > 0) void this.roll();
    else void this.save();
  }

  #save(doc: RunDoc): Promise<void> {
    const key = runKey(doc.id)!;
    // Saves go one after the other, so an older snapshot never overwrites a newer one.
    this.#saving = this.#saving.then(() =>
      this.#zones.putDoc(key, `${JSON.stringify(doc, null, 1)}\n`).catch((err: unknown) => {
        this.#dirty = true;
        this.#logger.warn({ err, run: doc.id }, 'quality: could not save the validation run; retrying with the next save');
      }),
    );
    return this.#saving;
  }

  #sample(t: Tick, failures: readonly RowFailure[]): void {
    for (const f of failures) {
      if (this.#doc.failures_sample.length >= SAMPLE_MAX) return;
      this.#doc.failures_sample.push({
        symbol: t.symbol,
        ts: Number.isFinite(t.ts) ? formatIsoMicros(t.ts) : String(t.ts),
        provider: t.provider,
        seq: t.seq,
        price: t.price,
        expectation: f.expectation,
        observed: f.observed,
        threshold: f.threshold,
        action: f.action,
      });
    }
  }

  #snapshot(status: 'running' | 'closed'): RunDoc {
    const d = this.#doc;
    const expectations = d.expectations.map((e) => {
      const passedShare = e.evaluated === 0 ? 1 : (e.evaluated - e.failed) / e.evaluated;
      return {
        ...e,
        unexpected_percent: e.evaluated === 0 ? 0 : Math.round((e.failed / e.evaluated) * 1e6) / 1e4,
        success: passedShare >= e.mostly,
      };
    });
    return {
      ...d,
      status,
      ended_at: status === 'closed' ? formatIsoMicros(nowMicros()) : null,
      verdict: expectations.every((e) => e.success || e.action === 'warn') ? 'PASS' : 'FAIL',
      rows: { ...d.rows },
      batches: { ...d.batches },
      expectations,
      failures_sample: [...d.failures_sample],
      quarantine_range:
        this.#quarantineMin <= this.#quarantineMax && Number.isFinite(this.#quarantineMin)
          ? { from: formatIsoMicros(this.#quarantineMin), to: formatIsoMicros(this.#quarantineMax) }
          : null,
    };
  }

  #fresh(): RunDoc {
    const s = this.#suite;
    return {
      id: newRunId(),
      kind: this.#kind,
      status: 'running',
      suite: s.name,
      suite_version: s.version,
      suite_file: s.file,
      instance: this.#instance,
      started_at: formatIsoMicros(nowMicros()),
      ended_at: null,
      verdict: 'PASS',
      rows: { evaluated: 0, passed: 0, failed: 0, warned: 0 },
      batches: { pass: 0, fail: 0 },
      expectations: s.expectations.map((e) => ({
        name: e.name,
        type: e.type,
        column: e.column,
        mostly: e.mostly,
        action: e.action,
        evaluated: 0,
        failed: 0,
        unexpected_percent: 0,
        success: true,
      })),
      failures_sample: [],
      quarantine_range: null,
    };
  }
}
