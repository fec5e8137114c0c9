import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { TicklineError, show } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { ZoneName } from '../../ports/zones.ts';
import { partitionPrefix, type IdSource, type PartFormat } from './layout.ts';

/** A retired writer's file: complete (every line whole), synced and closed, ready to become a part. */
export interface StagedFile {
  readonly zone: ZoneName;
  readonly dataset: string;
  /** Hour index: event time in µs / HOUR_US. */
  readonly hour: number;
  /** Local directory of the partition. */
  readonly dir: string;
  /** The hidden in-progress file. */
  readonly path: string;
  /** Name of the part it becomes, e.g. `part-<id>.parquet`. */
  readonly partName: string;
}

export interface WriterPoolOptions {
  /** Local directory the partition directories are created under. */
  root: string;
  /** A writer is retired once it holds at least this many bytes. */
  rollBytes: number;
  /** Most writers open at once; the least recently used one is retired beyond that. */
  maxOpen: number;
  format(zone: ZoneName): PartFormat;
  /** Wall-clock time (ms) by which a writer for `hour` of `zone`, opened at `openedAt` (ms), is retired. */
  dueAt(zone: ZoneName, hour: number, openedAt: number): number;
  /** How often writers past their due time are looked for, in ms. */
  checkEveryMs: number;
  /** Turns a retired writer's file into a part. A rejection is reported by `rollAll` and `lastError`. */
  seal(file: StagedFile): Promise<void>;
  ids: IdSource;
  logger?: Logger | undefined;
}

/** One open partition file. Everything touching its handle runs on `chain`, so writes never interleave. */
interface Writer {
  readonly key: string;
  readonly file: StagedFile;
  readonly dueAt: number;
  fh: FileHandle | null;
  /** Bytes handed to the writer so far (roll decisions are taken when a write is queued). */
  queued: number;
  /** Bytes the OS has confirmed; the next write goes there, and a failed write is cut back to it. */
  written: number;
  lastUsed: number;
  chain: Promise<void>;
  error: TicklineError | null;
  retiring: Promise<Error | null> | null;
}

const noop = (): void => {};

/**
 * The append side of the zones: one writer per (zone, dataset, hour) appends JSON lines to a hidden
 * `.part-<id>.<format>.inprogress` file in the partition directory. `write` resolves once the OS has
 * the bytes, so a process crash loses nothing that was acknowledged (recovery cuts a torn last line).
 * A writer is retired when it reaches `rollBytes`, its due time, or is the least recently used one
 * beyond `maxOpen`; retiring syncs and closes the file and hands it to `seal`.
 */
export class WriterPool {
  readonly #o: WriterPoolOptions;
  readonly #writers = new Map<string, Writer>();
  readonly #pending = new Set<Promise<Error | null>>();
  readonly #dirs = new Set<string>();
  readonly #timer: ReturnType<typeof setInterval>;
  #useCounter = 0;
  #lastError: Error | null = null;

  constructor(options: WriterPoolOptions) {
    this.#o = options;
    this.#timer = setInterval(() => this.#retireDue(Date.now()), options.checkEveryMs);
    this.#timer.unref();
  }

  /** Writers currently open. */
  get size(): number {
    return this.#writers.size;
  }

  /** The last write or seal failure, cleared by the next successful write. */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /** Queues `buf` (whole lines) for the partition; resolves when the OS has it. Calls keep their order. */
  write(zone: ZoneName, dataset: string, hour: number, buf: Buffer, now: number): Promise<void> {
    const w = this.#writerFor(zone, dataset, hour, now);
    w.queued += buf.length;
    const p = w.chain.then(() => this.#writeNow(w, buf));
    w.chain = p.catch(noop);
    if (w.queued >= this.#o.rollBytes) this.#retire(w);
    return p;
  }

  /** Retires the writer of one partition, if open, and waits for its seal. Never rejects. */
  retire(zone: ZoneName, dataset: string, hour: number): Promise<Error | null> {
    const w = this.#writers.get(`${zone}/${dataset}/${hour}`);
    return w ? this.#retire(w) : Promise.resolve(null);
  }

  /** Retires every writer and waits for every seal in flight; rejects with the first failure. */
  async rollAll(): Promise<void> {
    for (const w of [...this.#writers.values()]) this.#retire(w);
    const results = await Promise.all([...this.#pending]);
    const error = results.find((e) => e !== null);
    if (error) throw error;
  }

  /** Stops the due-time timer (writers still open are left to `rollAll`). */
  stop(): void {
    clearInterval(this.#timer);
  }

  #writerFor(zone: ZoneName, dataset: string, hour: number, now: number): Writer {
    const key = `${zone}/${dataset}/${hour}`;
    let w = this.#writers.get(key);
    if (w !== undefined && now >= w.dueAt) {
      this.#retire(w);
      w = undefined;
    }
    if (w === undefined) {
      if (this.#writers.size >= this.#o.maxOpen) this.#retireLeastRecent();
      const dir = join(this.#o.root, partitionPrefix(zone, dataset, hour));
      const partName = `part-${this.#o.ids.next()}.${this.#o.format(zone)}`;
      w = {
        key,
        file: { zone, dataset, hour, dir, path: join(dir, `.${partName}.inprogress`), partName },
        dueAt: this.#o.dueAt(zone, hour, now),
        fh: null,
        queued: 0,
        written: 0,
        lastUsed: 0,
        chain: Promise.resolve(),
        error: null,
        retiring: null,
      };
      w.chain = this.#openFile(w);
      this.#writers.set(key, w);
    }
    w.lastUsed = ++this.#useCounter;
    return w;
  }

  async #openFile(w: Writer): Promise<void> {
    const { dir, path } = w.file;
    try {
      if (!this.#dirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.#dirs.add(dir);
      }
      try {
        w.fh = await open(path, 'wx');
      } catch (e) {
        // Retention may have removed a partition directory we created earlier.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await mkdir(dir, { recursive: true });
        w.fh = await open(path, 'wx');
      }
    } catch (cause) {
      this.#dirs.delete(dir);
      this.#fail(w, new TicklineError('TL_ERR_ZONE', `zones: cannot create ${show(path)}: ${errText(cause)}`, { cause }));
    }
  }

  async #writeNow(w: Writer, buf: Buffer): Promise<void> {
    if (w.error) throw w.error;
    try {
      let off = 0;
      // Positional writes: a short write is continued, and a failed one can be cut back to `written`.
      while (off < buf.length) {
        const { bytesWritten } = await w.fh!.write(buf, off, buf.length - off, w.written + off);
        off += bytesWritten;
      }
      w.written += buf.length;
      this.#lastError = null;
    } catch (cause) {
      throw this.#fail(w, new TicklineError('TL_ERR_ZONE', `zones: write to ${show(w.file.path)} failed: ${errText(cause)}`, { cause }));
    }
  }

  /** A writer that failed once takes no more writes; what it holds up to `written` is still sealed. */
  #fail(w: Writer, error: TicklineError): TicklineError {
    if (!w.error) {
      w.error = error;
      this.#lastError = error;
      this.#o.logger?.error({ err: error }, 'zone write failed');
      this.#retire(w);
    }
    return w.error;
  }

  #retireLeastRecent(): void {
    let oldest: Writer | undefined;
    for (const w of this.#writers.values()) {
      if (oldest === undefined || w.lastUsed < oldest.lastUsed) oldest = w;
    }
    if (oldest) this.#retire(oldest);
  }

  #retireDue(now: number): void {
    for (const w of this.#writers.values()) {
      if (now >= w.dueAt) this.#retire(w);
    }
  }

  /** Takes the writer out of service and, after its queued writes, seals its file. Never rejects. */
  #retire(w: Writer): Promise<Error | null> {
    if (w.retiring) return w.retiring;
    if (this.#writers.get(w.key) === w) this.#writers.delete(w.key);
    const p = w.chain.then(() => this.#close(w)).then(
      () => null,
      (e: unknown) => {
        const error = e instanceof TicklineError ? e : new TicklineError('TL_ERR_ZONE', `zones: cannot publish ${show(w.file.path)}: ${errText(e)}`, { cause: e });
        this.#lastError = error;
        this.#o.logger?.error({ err: error }, 'zone roll failed');
        return error;
      },
    );
    w.retiring = p;
    this.#pending.add(p);
    void p.then(() => this.#pending.delete(p));
    return p;
  }

  async #close(w: Writer): Promise<void> {
    const fh = w.fh;
    if (fh === null) return;
    w.fh = null;
    try {
      if (w.error) await fh.truncate(w.written);
      if (w.written > 0) await fh.sync();
    } finally {
      await fh.close();
    }
    if (w.written === 0) await unlink(w.file.path);
    else await this.#o.seal(w.file);
  }
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
