/** Polling jobs: a provider's quotes for some symbols, fetched once per interval by the ingest role. */

/** A job as stored. Times are epoch milliseconds. */
export interface PollJob {
  id: string;
  provider: string;
  symbols: string[];
  intervalMs: number;
  createdAt: number;
  createdBy: string;
  /** When the job is next due; a scheduler claims a run by moving this forward (see JobStore.claimDue). */
  nextRunAt: number;
  lastRunAt: number | null;
  lastSuccessAt: number | null;
  /** The error of the last run when it failed (never holds a key), else null. */
  lastError: string | null;
  runs: number;
  failures: number;
  /** Failed runs in a row: 0 after a success. */
  consecutiveFailures: number;
  /** Ticks published over the job's life. */
  ticks: number;
}

/** What a finished run reports. */
export interface RunResult {
  at: number;
  ok: boolean;
  ticks: number;
  error: string | null;
}

/** The job as the API shows it (snake_case, ISO times, interval in seconds as the seed API had it). */
export function jobJson(j: PollJob) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: j.id,
    provider: j.provider,
    symbols: j.symbols,
    interval: j.intervalMs / 1000,
    status: j.consecutiveFailures > 0 ? ('failing' as const) : j.runs === 0 ? ('scheduled' as const) : ('ok' as const),
    created_at: iso(j.createdAt)!,
    created_by: j.createdBy,
    next_run_at: iso(j.nextRunAt)!,
    last_run_at: iso(j.lastRunAt),
    last_success_at: iso(j.lastSuccessAt),
    last_error: j.lastError,
    runs: j.runs,
    failures: j.failures,
    ticks: j.ticks,
  };
}
