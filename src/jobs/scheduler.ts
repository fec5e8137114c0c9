/**
 * Runs polling jobs in the ingest role: every `tickMs` it claims the jobs that are due (the store makes
 * each run go to exactly one scheduler, however many replicas poll it), fetches their quotes, publishes
 * the ticks, and records the outcome on the job — a failing job reports its last error and keeps its
 * schedule; it never dies silently.
 */
import type { Logger } from '../core/log.ts';
import type { Tick } from '../core/tick.ts';
import type { SourceStats } from '../ports/source.ts';
import type { ProviderHub } from '../sources/hub.ts';
import { ChangedQuotes } from '../sources/providers/index.ts';
import type { PollJob } from './model.ts';
import type { JobStore } from './store.ts';

export interface SchedulerOptions {
  store: JobStore;
  hub: ProviderHub;
  publish: (ticks: Tick[], source: string) => Promise<void>;
  logger: Logger;
  /** How often due jobs are looked for (default 500 ms). */
  tickMs?: number;
  /** Most runs at once (default 8); a run never overlaps the next run of the same job. */
  concurrency?: number;
  now?: () => number;
}

export class PollScheduler {
  readonly #o: Required<Omit<SchedulerOptions, 'now'>> & { now: () => number };
  readonly #running = new Map<string, Promise<void>>();
  readonly #seen = new Map<string, { job: PollJob; emitted: number; lastError: string | null; rate: number }>();
  /** Per job, the last quote published per symbol: an unchanged quote (a closed market) is not sent again. */
  readonly #last = new Map<string, ChangedQuotes>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #abort = new AbortController();
  #loop: Promise<void> = Promise.resolve();

  constructor(opts: SchedulerOptions) {
    this.#o = { tickMs: 500, concurrency: 8, now: Date.now, ...opts };
  }

  start(): void {
    const tick = async (): Promise<void> => {
      if (this.#stopped) return;
      try {
        await this.runDue();
      } catch (err) {
        this.#o.logger.warn({ err }, 'poll jobs: looking for due jobs failed; retrying');
      }
      if (!this.#stopped) this.#timer = setTimeout(() => (this.#loop = tick()), this.#o.tickMs);
    };
    this.#loop = tick();
  }

  /** Claims and starts the due jobs (not waiting for them); resolves with the ids started. */
  async runDue(): Promise<string[]> {
    const free = this.#o.concurrency - this.#running.size;
    if (free <= 0) return [];
    const due = await this.#o.store.claimDue(this.#o.now(), free);
    const started: string[] = [];
    for (const job of due) {
      // The previous run of this job still going (a slow provider): this run is skipped, not stacked.
      if (this.#running.has(job.id)) continue;
      const run = this.#run(job).finally(() => this.#running.delete(job.id));
      this.#running.set(job.id, run);
      started.push(job.id);
    }
    return started;
  }

  async #run(job: PollJob): Promise<void> {
    const started = this.#o.now();
    let ticks = 0;
    let error: string | null = null;
    try {
      const provider = this.#o.hub.quotes(job.provider);
      const batch = await provider.quotes(job.symbols, this.#abort.signal);
      for (const r of batch.rejected) this.#o.hub.onRejected(r);
      const last = this.#last.get(job.id) ?? new ChangedQuotes();
      this.#last.set(job.id, last);
      const fresh = last.changed(batch.items);
      if (fresh.length > 0) await this.#o.publish(fresh, `poll:${job.id}`);
      last.mark(fresh);
      ticks = fresh.length;
      if (batch.items.length === 0 && batch.rejected.length > 0) error = `every record was rejected: ${batch.rejected[0]!.reason}`;
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      error = err instanceof Error ? err.message : String(err);
      this.#o.logger.warn({ job: job.id, provider: job.provider, err: error }, 'poll job run failed');
    }
    const at = this.#o.now();
    const prev = this.#seen.get(job.id);
    const seconds = Math.max(job.intervalMs, at - started) / 1000;
    this.#seen.set(job.id, { job, emitted: (prev?.emitted ?? 0) + ticks, lastError: error, rate: ticks / seconds });
    await this.#o.store.report(job.id, { at, ok: error === null, ticks, error }).catch((err: unknown) => this.#o.logger.warn({ err, job: job.id }, 'poll jobs: recording a run failed'));
  }

  /** The jobs this scheduler ran, as sources for /v1/sources and the dashboard. */
  stats(): SourceStats[] {
    return [...this.#seen.values()].map((s) => ({
      name: `poll:${s.job.id} ${s.job.provider} ${s.job.symbols.join(',')}`,
      emitted: s.emitted,
      rate: Math.round(s.rate * 100) / 100,
      running: !this.#stopped,
      ...(s.lastError === null ? {} : { lastError: s.lastError }),
    }));
  }

  /** Forgets a deleted job's statistics. */
  forget(id: string): void {
    this.#seen.delete(id);
    this.#last.delete(id);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#loop;
    await Promise.allSettled([...this.#running.values()]);
  }
}
