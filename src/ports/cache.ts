import type { Tick } from '../core/tick.ts';
import type { Health } from './health.ts';

/**
 * The latest accepted tick per symbol.
 *
 * Guarantees: `put` keeps, per symbol, the tick with the newest event time it has seen (a late tick
 * never replaces a newer one); a batch is applied as one unit (one round trip for remote caches).
 * Deliberately left out: history, and durability (the store is the record; the cache is rebuilt from it).
 */
export interface Cache {
  readonly kind: string;
  put(ticks: readonly Tick[]): Promise<void>;
  get(symbol: string): Promise<Tick | undefined>;
  /** Every symbol's latest tick. */
  all(): Promise<Tick[]>;
  health(): Promise<Health>;
  close(): Promise<void>;
}
