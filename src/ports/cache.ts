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
  /**
   * Calls `onUpdate` with the ticks that became the latest of their symbol, from any writer of the same
   * cache (other processes too, for shared caches), so API replicas stay live without polling. Delivery is
   * best effort: a missed update is repaired by the next one or by `get`. Returns a function that stops it.
   */
  watch(onUpdate: (ticks: Tick[]) => void): Promise<() => Promise<void>>;
  health(): Promise<Health>;
  close(): Promise<void>;
}
