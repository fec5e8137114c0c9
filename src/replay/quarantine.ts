/**
 * Rows of a history file (or records of a provider) that could not be used go to the quarantine zone,
 * next to the ticks the quality checks failed, with expectation `malformed` and the reason:
 * `tickline quarantine list --expectation malformed` finds them. Such a row is not a tick, so what could
 * be read is kept (symbol, event time) and the rest is null; the event time of a row whose time could
 * not be read is the time of the replay, which decides the hour partition it is filed under.
 */
import type { AdapterContext } from '../adapters/registry.ts';
import { zonesRegistry } from '../adapters/zones/index.ts';
import type { Tick } from '../core/tick.ts';
import { nowMicros, type Micros } from '../core/time.ts';
import type { ZoneAnnotation, Zones } from '../ports/zones.ts';
import type { BadRow } from './reader.ts';

export const MALFORMED = 'malformed';
const DATASET = 'ticks';
const MAX_VALUE = 1024;

/** One unusable record: where it came from, what was wrong, and what of it could be read. */
export interface Unusable {
  symbol: string | null;
  ts: Micros | null;
  /** Written as the tick's `seq`: the row (or line) number, so rows of one file stay apart. */
  seq: number | null;
  reason: string;
  /** The offending value, shown as the row's `observed` in `tickline quarantine list`. */
  observed: string | null;
  notes: Record<string, string | number | null>;
}

export function fromBadRow(b: BadRow, file: string): Unusable {
  const text = b.value === null ? null : String(b.value);
  const value = text !== null && text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
  return {
    symbol: b.symbol,
    ts: b.ts,
    seq: b.row ?? b.line,
    reason: b.message,
    observed: value,
    notes: { source_file: file, source_row: b.row, source_line: b.line, source_column: b.column },
  };
}

/** Appends unusable records to the quarantine zone; opened lazily, shared by one run. */
export class QuarantineWriter {
  readonly #open: () => Promise<Zones>;
  readonly #defaults: { symbol: string | null; provider: string; currency: string };
  #zones: Promise<Zones> | null = null;
  written = 0;

  constructor(open: () => Promise<Zones>, defaults: { symbol: string | null; provider: string; currency: string }) {
    this.#open = open;
    this.#defaults = defaults;
  }

  /** Zones opened as a non-owner: a server (or this process's pipeline) may own the directory. */
  static forConfig(config: { zones: string; dataDir: string }, ctx: Omit<AdapterContext, 'dataDir'>, defaults: { symbol: string | null; provider: string; currency: string }): QuarantineWriter {
    return new QuarantineWriter(() => zonesRegistry.create(config.zones, { ...ctx, dataDir: config.dataDir, owner: false }), defaults);
  }

  async write(rows: readonly Unusable[]): Promise<void> {
    if (rows.length === 0) return;
    this.#zones ??= this.#open();
    const zones = await this.#zones;
    const now = nowMicros();
    const ticks: Tick[] = [];
    const notes: ZoneAnnotation[] = [];
    for (const r of rows) {
      ticks.push({
        symbol: r.symbol ?? this.#defaults.symbol ?? 'UNKNOWN',
        ts: r.ts ?? now,
        price: Number.NaN,
        size: 0,
        bid: null,
        ask: null,
        currency: this.#defaults.currency,
        provider: this.#defaults.provider,
        seq: r.seq,
        recvTs: now,
      });
      notes.push({ reason: MALFORMED, expectation: MALFORMED, failed: MALFORMED, detail: r.reason, observed: r.observed, threshold: null, ...r.notes });
    }
    await zones.append('quarantine', DATASET, ticks, notes);
    this.written += rows.length;
  }

  /** Publishes what was written (complete files) and releases the zones. */
  async close(): Promise<void> {
    if (!this.#zones) return;
    const zones = await this.#zones.catch(() => null);
    this.#zones = null;
    if (zones) await zones.close();
  }
}
