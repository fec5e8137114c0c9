/**
 * `file://<path>.json`: the polling jobs of one embedded process, as one JSON document, rewritten
 * atomically on every change and locked against a second process (as the file auth store).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { redactUrl, urlPath } from '../adapters/registry.ts';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { show, TicklineError } from '../core/errors.ts';
import { releaseLock, takeLock } from '../core/lock-file.ts';
import type { PollJob, RunResult } from './model.ts';
import { applyResult, nextDue, type JobStore } from './store.ts';

const FORMAT = 'tickline-poll-jobs';

export async function openFileJobStore(url: URL): Promise<FileJobStore> {
  const path = resolve(urlPath(url));
  if (!path.endsWith('.json') || url.search !== '') {
    throw new TicklineError('TL_ERR_BAD_URL', `poll-job store: expected file://<path>.json without parameters, got ${show(redactUrl(url.href))}`);
  }
  await mkdir(dirname(path), { recursive: true });
  await takeLock(path, 'poll-job store');
  try {
    let jobs: PollJob[] = [];
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (text !== null) {
      const doc = JSON.parse(text) as { format?: string; jobs?: PollJob[] };
      if (doc.format !== FORMAT || !Array.isArray(doc.jobs)) throw new TicklineError('TL_ERR_STORE', `poll-job store: ${path} is not a ${FORMAT} document`);
      jobs = doc.jobs;
    }
    return new FileJobStore(path, jobs);
  } catch (err) {
    await releaseLock(path);
    throw err instanceof TicklineError ? err : new TicklineError('TL_ERR_STORE', `poll-job store: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export class FileJobStore implements JobStore {
  readonly kind = 'file';
  readonly path: string;
  #jobs: Map<string, PollJob>;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(path: string, jobs: PollJob[]) {
    this.path = path;
    this.#jobs = new Map(jobs.map((j) => [j.id, j]));
  }

  /** Applies a change to a copy, writes it, and only then makes it current; changes run one at a time. */
  #change<T>(fn: (jobs: Map<string, PollJob>) => T): Promise<T> {
    const run = this.#queue.then(async () => {
      if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', 'poll-job store is closed');
      const next = new Map(this.#jobs);
      const out = fn(next);
      await writeFileAtomic(this.path, JSON.stringify({ format: FORMAT, version: 1, jobs: [...next.values()] }), {
        tmp: `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
        mode: 0o600,
        exclusive: true,
        syncDir: true,
      });
      this.#jobs = next;
      return out;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async create(job: PollJob): Promise<void> {
    await this.#change((jobs) => {
      if (jobs.has(job.id)) throw new TicklineError('TL_ERR_VALIDATION', `poll job ${job.id} exists already`);
      jobs.set(job.id, job);
    });
  }

  async list(): Promise<PollJob[]> {
    return [...this.#jobs.values()].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<PollJob | null> {
    return this.#jobs.get(id) ?? null;
  }

  async remove(id: string): Promise<boolean> {
    if (!this.#jobs.has(id)) return false;
    return this.#change((jobs) => jobs.delete(id));
  }

  async claimDue(now: number, limit: number): Promise<PollJob[]> {
    if (![...this.#jobs.values()].some((j) => j.nextRunAt <= now)) return [];
    return this.#change((jobs) => {
      const due = [...jobs.values()].filter((j) => j.nextRunAt <= now).sort((a, b) => a.nextRunAt - b.nextRunAt).slice(0, limit);
      return due.map((j) => {
        const claimed = { ...j, nextRunAt: nextDue(j.nextRunAt, j.intervalMs, now) };
        jobs.set(j.id, claimed);
        return claimed;
      });
    });
  }

  async report(id: string, result: RunResult): Promise<void> {
    if (!this.#jobs.has(id)) return;
    await this.#change((jobs) => {
      const j = jobs.get(id);
      if (j) jobs.set(id, applyResult(j, result));
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue;
    this.#closed = true;
    await releaseLock(this.path);
  }
}
