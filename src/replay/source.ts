import { setTimeout as sleep } from 'node:timers/promises';
import { INTERVALS, INTERVAL_MICROS } from '../core/bar.ts';
import type { Tick } from '../core/tick.ts';
import type { Emit, Source, SourceStats } from '../ports/source.ts';
import type { BadRow, FileReader } from './reader.ts';

export interface FileSourceOptions {
  reader: FileReader;
  /** Rows already handled by an earlier run (the checkpoint): reading starts after them. */
  skip: number;
  /** Largest batch handed to `emit`. */
  batchMax: number;
  /** Pace: event-time gaps divided by this (1 = original pace, 10 = ten times faster); Infinity = as fast as the pipeline accepts. */
  speed: number;
  /** Takes malformed rows, in row order, after the ticks before them; resolves once they are written. */
  onBad(bad: BadRow[]): Promise<void>;
}

/** A position of the replay: after `ticks` ticks emitted and `bad` rows quarantined, every row before `row` is handled. */
export interface Mark {
  ticks: number;
  bad: number;
  row: number;
}

/**
 * A `Source` over a tick file: emits its ticks in file order, in batches of at most `batchMax`, at full
 * speed or at the original pace × `speed` (the event-time gap between two ticks, divided by `speed`, is
 * waited before the later one; ticks going back in time are not waited for).
 *
 * `emit` resolves when the bus accepted a batch. Every emitted batch leaves a `Mark`; `commit(acked)`
 * turns a count of acknowledged ticks into the file position that is safe to checkpoint. The source
 * never throws into the platform: a failure ends it and is kept in `error`.
 */
export class FileSource implements Source {
  readonly name: string;
  readonly #o: FileSourceOptions;
  readonly #stop = new AbortController();
  readonly #marks: Mark[] = [];
  #committed: Mark;
  #running = false;
  #started = 0;
  /** Ticks accepted by the bus in this run. */
  emitted = 0;
  /** Rows quarantined as malformed in this run. */
  badRows = 0;
  /** The reader's position: rows consumed from the file (counting from its start). */
  position: number;
  /** True once the whole file was read and emitted. */
  done = false;
  error: unknown = null;

  constructor(name: string, options: FileSourceOptions) {
    this.name = name;
    this.#o = options;
    this.position = options.skip;
    this.#committed = { ticks: 0, bad: 0, row: options.skip };
  }

  /** Ends the run after the batch in flight; what was emitted stays emitted. */
  stop(): void {
    this.#stop.abort();
  }

  /** The newest mark whose ticks are all acknowledged (`acked` ticks of this run). */
  commit(acked: number): Mark {
    while (this.#marks.length > 0 && this.#marks[0]!.ticks <= acked) this.#committed = this.#marks.shift()!;
    return this.#committed;
  }

  async run(emit: Emit, signal: AbortSignal): Promise<void> {
    const sig = AbortSignal.any([signal, this.#stop.signal]);
    const { reader, batchMax, speed } = this.#o;
    const paced = Number.isFinite(speed);
    let base: { ts: number; at: number } | null = null;
    this.#running = true;
    this.#started = performance.now();
    try {
      outer: for await (const chunk of reader.tickChunks(this.#o.skip)) {
        if (sig.aborted) break;
        const { ticks, rowOf, bad } = chunk;
        // Malformed rows are written in row order with the ticks around them, so that a mark never
        // covers a row that was not handled and a resumed run never writes one twice.
        let b = 0;
        const badBefore = async (row: number): Promise<void> => {
          let k = b;
          while (k < bad.length && bad[k]!.row! < row) k++;
          if (k === b) return;
          await this.#o.onBad(bad.slice(b, k));
          this.badRows += k - b;
          b = k;
        };
        let i = 0;
        while (i < ticks.length) {
          if (sig.aborted) break outer;
          let j = Math.min(i + batchMax, ticks.length);
          if (paced) {
            base ??= { ts: ticks[i]!.ts, at: performance.now() };
            const now = performance.now();
            j = i;
            while (j < ticks.length && j - i < batchMax && due(base, ticks[j]!, speed) <= now) j++;
            if (j === i) {
              try {
                await sleep(Math.max(1, due(base, ticks[i]!, speed) - now), undefined, { signal: sig });
              } catch {
                break outer; // stopped while waiting
              }
              continue;
            }
          }
          await emit(ticks.slice(i, j));
          this.emitted += j - i;
          // Every row before the next tick's row is handled once the malformed ones among them are written.
          const next = j < ticks.length ? rowOf[j]! : chunk.end + 1;
          await badBefore(next);
          this.#marks.push({ ticks: this.emitted, bad: this.badRows, row: next - 1 });
          this.position = next - 1;
          i = j;
        }
        if (ticks.length === 0) {
          await badBefore(Infinity);
          this.#marks.push({ ticks: this.emitted, bad: this.badRows, row: chunk.end });
        }
        this.position = chunk.end;
      }
      if (!sig.aborted) this.done = true;
    } catch (e) {
      // A stop that interrupted a publish is not a failure of the file.
      if (!sig.aborted) this.error = e;
    } finally {
      this.#running = false;
    }
  }

  stats(): SourceStats {
    const secs = (performance.now() - this.#started) / 1000;
    const s: SourceStats = { name: this.name, emitted: this.emitted, rate: secs > 0 ? Math.round(this.emitted / secs) : 0, running: this.#running };
    if (this.error !== null) s.lastError = this.error instanceof Error ? this.error.message : String(this.error);
    return s;
  }
}

function due(base: { ts: number; at: number }, t: Tick, speed: number): number {
  return base.at + (t.ts - base.ts) / 1000 / speed;
}

/** Buckets remembered per symbol and interval below the newest one, for rows that go back in time. */
const WINDOW = 4096;

/**
 * Counts the distinct bars (symbol, interval, bucket) that ticks fall in, as they pass. Exact while a
 * symbol's ticks go back in time by less than 4,096 buckets of an interval; beyond that a bucket seen
 * long before may be counted again.
 */
export class BarCounter {
  readonly #per = new Map<string, Array<{ max: number; seen: Set<number> }>>();
  count = 0;

  add(ticks: readonly Tick[]): void {
    for (const t of ticks) {
      let s = this.#per.get(t.symbol);
      if (s === undefined) {
        s = INTERVALS.map(() => ({ max: -Infinity, seen: new Set<number>() }));
        this.#per.set(t.symbol, s);
      }
      for (let k = 0; k < INTERVALS.length; k++) {
        const w = INTERVAL_MICROS[INTERVALS[k]!];
        const b = Math.floor(t.ts / w);
        const st = s[k]!;
        if (b === st.max) continue;
        if (b > st.max) {
          st.max = b;
        } else if (st.seen.has(b)) {
          continue;
        }
        st.seen.add(b);
        this.count++;
        if (st.seen.size > 2 * WINDOW) {
          for (const x of st.seen) if (x < st.max - WINDOW) st.seen.delete(x);
        }
      }
    }
  }
}
