import type { PollJob, RunResult } from './model.ts';

/**
 * Where polling jobs live, so they survive restarts and are shared by every ingest replica.
 *
 * The one concurrency rule: `claimDue` moves each due job's `nextRunAt` forward by one interval (or to
 * `now` when it fell behind) in the same atomic step that selects it, so among any number of schedulers
 * polling the same store exactly one gets each run.
 */
export interface JobStore {
  readonly kind: string;
  create(job: PollJob): Promise<void>;
  list(): Promise<PollJob[]>;
  get(id: string): Promise<PollJob | null>;
  /** True when the job existed. */
  remove(id: string): Promise<boolean>;
  /** The jobs due at `now` (nextRunAt ≤ now), each claimed for this run (returned with its new nextRunAt); at most `limit`. */
  claimDue(now: number, limit: number): Promise<PollJob[]>;
  /** Records a run's outcome (a job removed meanwhile is ignored). */
  report(id: string, result: RunResult): Promise<void>;
  close(): Promise<void>;
}

/** The next due time after a run claimed at `now` of a job due at `due`: one interval on, never in the past. */
export function nextDue(due: number, intervalMs: number, now: number): number {
  const next = due + intervalMs;
  return next > now ? next : now + intervalMs;
}

export function applyResult(j: PollJob, r: RunResult): PollJob {
  return {
    ...j,
    lastRunAt: r.at,
    runs: j.runs + 1,
    ticks: j.ticks + r.ticks,
    ...(r.ok
      ? { lastSuccessAt: r.at, lastError: null, consecutiveFailures: 0 }
      : { lastError: r.error, failures: j.failures + 1, consecutiveFailures: j.consecutiveFailures + 1 }),
  };
}
