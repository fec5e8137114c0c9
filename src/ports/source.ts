import type { Tick } from '../core/tick.ts';

/**
 * Hands a batch to the pipeline. Resolves when the bus has accepted it; a source must await it
 * before producing more, which is how a slow sink slows the source instead of losing data.
 */
export type Emit = (ticks: Tick[]) => Promise<void>;

export interface SourceStats {
  name: string;
  emitted: number;
  /** Updates per second over the last few seconds. */
  rate: number;
  running: boolean;
  lastError?: string;
}

/** A feed of ticks. Runs until `signal` aborts or the feed ends, then resolves. */
export interface Source {
  readonly name: string;
  run(emit: Emit, signal: AbortSignal): Promise<void>;
  stats(): SourceStats;
}
