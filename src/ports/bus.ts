import type { Tick } from '../core/tick.ts';
import type { Health } from './health.ts';

/** Called with one batch; the batch is acknowledged only when the returned promise resolves. */
export type BatchHandler = (ticks: Tick[]) => Promise<void>;

export interface SubscribeOptions {
  /** Consumer group: replicas with the same group share the topic's partitions. */
  group: string;
  /**
   * How many delivered batches may be in the handler at once. Acknowledgements are still made in
   * delivery order, so a later batch finishing first never commits past an earlier one.
   */
  maxInFlight?: number;
}

export interface Subscription {
  /** Stops delivering, waits for in-flight handlers, acknowledges what finished. */
  stop(): Promise<void>;
}

/**
 * The bus between the ingest and process stages.
 *
 * Guarantees every adapter gives:
 * - **Per-symbol order**: ticks are keyed by symbol; two ticks of one symbol published in order are
 *   delivered in order (across batches too). No order is promised across symbols.
 * - **At-least-once delivery**: a batch is acknowledged only after its handler resolved; a handler
 *   that rejects, or a consumer that dies, gets the batch again (possibly regrouped). Sinks are
 *   idempotent so the effect is exactly once.
 * - **Backpressure, never silent loss**: `publish` resolves when the bus has accepted the batch
 *   (durably, for durable buses) and waits while the bus is full. It rejects only on a real failure.
 *
 * Deliberately left out: cross-symbol ordering, message-level TTL, and exactly-once transactions;
 * the in-memory adapter is not durable across process exits (in-flight batches are flushed on a
 * graceful shutdown, lost on a crash).
 */
export interface Bus {
  readonly kind: string;
  publish(topic: string, ticks: readonly Tick[]): Promise<void>;
  subscribe(topic: string, handler: BatchHandler, options: SubscribeOptions): Promise<Subscription>;
  /** Ticks published but not yet acknowledged by any group (0 when unknown). */
  lag(topic: string): number;
  health(): Promise<Health>;
  /** Flushes what was accepted and releases connections. Idempotent. */
  close(): Promise<void>;
}
