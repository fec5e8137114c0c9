import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TicklineError, show } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { tickToJsonLine, type Tick } from '../../core/tick.ts';
import { nowMicros, partitionOf } from '../../core/time.ts';
import type { Health } from '../../ports/health.ts';
import { ZONE_NAMES, type ZoneAnnotation, type ZoneName, type Zones } from '../../ports/zones.ts';

export interface FileZonesOptions {
  /** A partition file is rolled (made visible) once it holds at least this many bytes. Default 64 MiB. */
  rollBytes?: number;
  /** A partition file is rolled once it is this old, in ms. Default 60 s. */
  rollMs?: number;
  /** Most partition files open at once; the least recently used one is rolled beyond that. Default 64. */
  maxOpen?: number;
  logger?: Logger;
}

export const DEFAULT_ROLL_BYTES = 64 * 1024 * 1024;
export const DEFAULT_ROLL_MS = 60_000;
export const DEFAULT_MAX_OPEN = 64;

const HOUR_US = 3_600_000_000;
const DATASET_RE = /^[a-z0-9_-]+$/;
const FINAL_RE = /^part-[^/\\]+\.jsonl$/;
const INPROGRESS_RE = /^\.(part-[^/\\]+\.jsonl)\.inprogress$/;
const TICK_KEYS = new Set(['symbol', 'ts', 'price', 'size', 'bid', 'ask', 'currency', 'provider', 'seq', 'received_at']);
const noop = (): void => {};
const EMPTY = Buffer.alloc(0);

/** One open partition file. Everything touching its handle runs on `chain`, so writes never interleave. */
interface Writer {
  readonly key: string;
  readonly tmpPath: string;
  readonly finalPath: string;
  readonly openedAt: number;
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

/**
 * `file://` zones: Hive-partitioned JSONL under a local directory.
 *
 * Each (zone, dataset, hour) gets one open writer that appends to a hidden `.part-<id>.jsonl.inprogress`
 * file; rolling fsyncs it and renames it to `part-<id>.jsonl`, which is when readers see it. `<id>` starts
 * with the µs creation time, so file names sort in the order they were started.
 *
 * One process owns a zones directory: startup recovery treats every in-progress file as a crash leftover.
 */
export class FileZones implements Zones {
  readonly kind = 'file';
  readonly root: string;
  readonly #rollBytes: number;
  readonly #rollMs: number;
  readonly #maxOpen: number;
  readonly #logger: Logger | undefined;
  readonly #writers = new Map<string, Writer>();
  readonly #pending = new Set<Promise<Error | null>>();
  readonly #dirs = new Set<string>();
  readonly #instance = randomBytes(4).toString('hex');
  readonly #timer: ReturnType<typeof setInterval>;
  #lastIdUs = 0;
  #useCounter = 0;
  #closing: Promise<void> | null = null;
  #lastError: Error | null = null;
  // Quarantine batches mostly reuse one annotation object per reason; skip re-serialising it within a batch.
  #lastAnnotation: ZoneAnnotation | null = null;
  #lastSuffix = '';

  private constructor(root: string, options: FileZonesOptions) {
    this.root = resolve(root);
    this.#rollBytes = positiveInt(options.rollBytes, DEFAULT_ROLL_BYTES, 'rollBytes');
    this.#rollMs = positiveInt(options.rollMs, DEFAULT_ROLL_MS, 'rollMs');
    this.#maxOpen = positiveInt(options.maxOpen, DEFAULT_MAX_OPEN, 'maxOpen');
    this.#logger = options.logger;
    const every = Math.min(Math.max(Math.floor(this.#rollMs / 4), 10), 5_000);
    this.#timer = setInterval(() => this.#rollAged(Date.now()), every);
    this.#timer.unref();
  }

  /** Creates the root and recovers in-progress files a crashed run left behind before accepting writes. */
  static async open(root: string, options: FileZonesOptions = {}): Promise<FileZones> {
    const zones = new FileZones(root, options);
    try {
      await mkdir(zones.root, { recursive: true });
      await zones.#recover();
    } catch (cause) {
      await zones.close().catch(noop);
      throw cause instanceof TicklineError
        ? cause
        : new TicklineError('TL_ERR_ZONE', `zones: cannot open ${show(zones.root)}: ${errText(cause)}`, { cause });
    }
    return zones;
  }

  async append(zone: ZoneName, dataset: string, ticks: readonly Tick[], annotations?: readonly ZoneAnnotation[]): Promise<void> {
    // Everything up to the queueing of writes is synchronous, so concurrent calls keep their call order.
    if (this.#closing) throw new TicklineError('TL_ERR_CLOSED', `zones: append to ${zone}/${dataset} after close`);
    checkZone(zone);
    checkDataset(dataset);
    if (annotations !== undefined && annotations.length !== ticks.length) {
      throw new TicklineError(
        'TL_ERR_ZONE',
        `zones: ${annotations.length} annotations for ${ticks.length} ticks in ${zone}/${dataset}; pass one per tick`,
      );
    }
    const n = ticks.length;
    if (n === 0) return;
    this.#lastAnnotation = null;

    // Group by hour and encode straight into one Buffer per hour: no per-tick allocation besides the
    // line string, and no rope of small strings to flatten and re-encode. A batch rarely spans more
    // than one or two hours, so a linear lookup in tiny arrays beats a Map.
    const hours: number[] = [];
    const bufs: Buffer[] = [];
    const ends: number[] = [];
    let lastHour = NaN;
    let slot = -1;
    let buf: Buffer = EMPTY;
    let end = 0;
    for (let i = 0; i < n; i++) {
      const t = ticks[i]!;
      const hour = Math.floor(t.ts / HOUR_US);
      if (hour !== lastHour && !Number.isFinite(hour)) {
        throw new TicklineError('TL_ERR_ZONE', `zones: tick ${i} of ${zone}/${dataset} has event time ${String(t.ts)}, not a µs timestamp`);
      }
      let line: string;
      try {
        line = annotations === undefined ? tickToJsonLine(t) : tickToJsonLine(t, this.#suffix(annotations[i], i));
      } catch (cause) {
        if (cause instanceof TicklineError) throw cause;
        throw new TicklineError('TL_ERR_ZONE', `zones: tick ${i} of ${zone}/${dataset} cannot be serialised: ${errText(cause)}`, { cause });
      }
      if (hour !== lastHour) {
        if (slot >= 0) {
          bufs[slot] = buf;
          ends[slot] = end;
        }
        slot = hours.indexOf(hour);
        if (slot < 0) {
          slot = hours.length;
          hours.push(hour);
          // Sized for the rest of the batch at about this line's length; lines of one feed differ by a few bytes, so regrowing is rare.
          bufs.push(Buffer.allocUnsafe((n - i) * (line.length + 8)));
          ends.push(0);
        }
        buf = bufs[slot]!;
        end = ends[slot]!;
        lastHour = hour;
      }
      // UTF-8 needs at most 3 bytes per UTF-16 unit.
      if (end + line.length * 3 + 1 > buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, end + line.length * 3 + 1));
        buf.copy(grown, 0, 0, end);
        buf = grown;
      }
      end += buf.write(line, end);
      buf[end++] = 0x0a;
    }
    bufs[slot] = buf;
    ends[slot] = end;

    const now = Date.now();
    if (hours.length === 1) return this.#write(this.#writerFor(zone, dataset, hours[0]!, now), buf.subarray(0, end));
    const writes: Promise<void>[] = [];
    for (let j = 0; j < hours.length; j++) {
      writes.push(this.#write(this.#writerFor(zone, dataset, hours[j]!, now), bufs[j]!.subarray(0, ends[j]!)));
    }
    await Promise.all(writes);
  }

  async flush(): Promise<void> {
    if (this.#closing) return this.#closing;
    return this.#rollAll();
  }

  async list(zone: ZoneName, dataset?: string): Promise<string[]> {
    checkZone(zone);
    if (dataset !== undefined) checkDataset(dataset);
    const prefix = dataset === undefined ? zone : `${zone}/${dataset}`;
    let entries: string[];
    try {
      entries = await readdir(join(this.root, prefix), { recursive: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new TicklineError('TL_ERR_ZONE', `zones: cannot list ${show(join(this.root, prefix))}: ${errText(e)}`, { cause: e });
    }
    const out: string[] = [];
    for (const entry of entries) {
      const rel = entry.split('\\').join('/');
      const base = rel.slice(rel.lastIndexOf('/') + 1);
      if (FINAL_RE.test(base)) out.push(`${prefix}/${rel}`);
    }
    return out.sort();
  }

  async health(): Promise<Health> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, fsConstants.W_OK);
    } catch (e) {
      return { ok: false, detail: `${this.root} is not writable: ${errText(e)}` };
    }
    if (this.#lastError) return { ok: false, detail: this.#lastError.message };
    return { ok: true, detail: `${this.root}, ${this.#writers.size} open` };
  }

  close(): Promise<void> {
    if (!this.#closing) {
      clearInterval(this.#timer);
      this.#closing = this.#rollAll();
    }
    return this.#closing;
  }

  #suffix(a: ZoneAnnotation | undefined, index: number): string {
    if (a === undefined || a === null) return '';
    if (a === this.#lastAnnotation) return this.#lastSuffix;
    let s = '';
    for (const key of Object.keys(a)) {
      if (TICK_KEYS.has(key)) {
        throw new TicklineError('TL_ERR_ZONE', `zones: annotation ${index} uses key ${show(key)}, which is a tick field`);
      }
      const v = a[key];
      s += `,${JSON.stringify(key)}:${v === undefined ? 'null' : JSON.stringify(v)}`;
    }
    this.#lastAnnotation = a;
    this.#lastSuffix = s;
    return s;
  }

  #writerFor(zone: ZoneName, dataset: string, hour: number, now: number): Writer {
    const key = `${zone}/${dataset}/${hour}`;
    let w = this.#writers.get(key);
    if (w !== undefined && now - w.openedAt >= this.#rollMs) {
      this.#retire(w);
      w = undefined;
    }
    if (w === undefined) {
      if (this.#writers.size >= this.#maxOpen) this.#retireLeastRecent();
      const { date, hour: hh } = partitionOf(hour * HOUR_US);
      const dir = join(this.root, zone, dataset, `date=${date}`, `hour=${hh}`);
      const id = this.#nextId();
      w = {
        key,
        tmpPath: join(dir, `.part-${id}.jsonl.inprogress`),
        finalPath: join(dir, `part-${id}.jsonl`),
        openedAt: now,
        fh: null,
        queued: 0,
        written: 0,
        lastUsed: 0,
        chain: Promise.resolve(),
        error: null,
        retiring: null,
      };
      w.chain = this.#openFile(w, dir);
      this.#writers.set(key, w);
    }
    w.lastUsed = ++this.#useCounter;
    return w;
  }

  /** Creation time in µs, strictly increasing within the process, plus a per-instance random tag. */
  #nextId(): string {
    const us = Math.max(nowMicros(), this.#lastIdUs + 1);
    this.#lastIdUs = us;
    return `${String(us).padStart(17, '0')}-${this.#instance}`;
  }

  async #openFile(w: Writer, dir: string): Promise<void> {
    try {
      if (!this.#dirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.#dirs.add(dir);
      }
      try {
        w.fh = await open(w.tmpPath, 'wx');
      } catch (e) {
        // Retention may have removed a partition directory we created earlier.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await mkdir(dir, { recursive: true });
        w.fh = await open(w.tmpPath, 'wx');
      }
    } catch (cause) {
      this.#dirs.delete(dir);
      this.#fail(w, new TicklineError('TL_ERR_ZONE', `zones: cannot create ${show(w.tmpPath)}: ${errText(cause)}`, { cause }));
    }
  }

  #write(w: Writer, buf: Buffer): Promise<void> {
    w.queued += buf.length;
    const p = w.chain.then(() => this.#writeNow(w, buf));
    w.chain = p.catch(noop);
    if (w.queued >= this.#rollBytes) this.#retire(w);
    return p;
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
      throw this.#fail(w, new TicklineError('TL_ERR_ZONE', `zones: write to ${show(w.tmpPath)} failed: ${errText(cause)}`, { cause }));
    }
  }

  /** A writer that failed once takes no more writes; what it holds up to `written` is still published. */
  #fail(w: Writer, error: TicklineError): TicklineError {
    if (!w.error) {
      w.error = error;
      this.#lastError = error;
      this.#logger?.error({ err: error }, 'zone write failed');
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

  #rollAged(now: number): void {
    for (const w of this.#writers.values()) {
      if (now - w.openedAt >= this.#rollMs) this.#retire(w);
    }
  }

  /** Takes the writer out of service and, after its queued writes, publishes its file. Never rejects. */
  #retire(w: Writer): Promise<Error | null> {
    if (w.retiring) return w.retiring;
    if (this.#writers.get(w.key) === w) this.#writers.delete(w.key);
    const p = w.chain.then(() => this.#publish(w)).then(
      () => null,
      (e: unknown) => {
        const error = new TicklineError('TL_ERR_ZONE', `zones: cannot publish ${show(w.tmpPath)}: ${errText(e)}`, { cause: e });
        this.#lastError = error;
        this.#logger?.error({ err: error }, 'zone roll failed');
        return error;
      },
    );
    w.retiring = p;
    this.#pending.add(p);
    void p.then(() => this.#pending.delete(p));
    return p;
  }

  async #publish(w: Writer): Promise<void> {
    const fh = w.fh;
    if (fh === null) return;
    w.fh = null;
    try {
      if (w.error) await fh.truncate(w.written);
      if (w.written > 0) await fh.sync();
    } finally {
      await fh.close();
    }
    if (w.written === 0) await unlink(w.tmpPath);
    else await rename(w.tmpPath, w.finalPath);
  }

  async #rollAll(): Promise<void> {
    for (const w of [...this.#writers.values()]) this.#retire(w);
    const results = await Promise.all([...this.#pending]);
    const error = results.find((e) => e !== null);
    if (error) throw error;
  }

  async #recover(): Promise<void> {
    for (const zone of ZONE_NAMES) {
      let entries: string[];
      try {
        entries = await readdir(join(this.root, zone), { recursive: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      for (const entry of entries) {
        const sepAt = Math.max(entry.lastIndexOf('/'), entry.lastIndexOf('\\'));
        const m = INPROGRESS_RE.exec(entry.slice(sepAt + 1));
        if (!m) continue;
        const dir = join(this.root, zone, entry.slice(0, Math.max(sepAt, 0)));
        const kept = await recoverFile(join(dir, entry.slice(sepAt + 1)), dir, m[1]!);
        this.#logger?.warn({ file: join(this.root, zone, entry), keptBytes: kept }, 'recovered in-progress zone file');
      }
    }
  }
}

/** Builds `file://` zones rooted at `dir` (recovering crash leftovers first). */
export function createFileZones(dir: string, options: FileZonesOptions = {}): Promise<FileZones> {
  return FileZones.open(dir, options);
}

/**
 * Cuts an in-progress file back to its last complete line and publishes it; an empty result is
 * deleted rather than published. Returns the bytes kept.
 */
async function recoverFile(path: string, dir: string, finalName: string): Promise<number> {
  const fh = await open(path, 'r+');
  let keep: number;
  try {
    const { size } = await fh.stat();
    keep = await endOfLastLine(fh, size);
    if (keep < size) await fh.truncate(keep);
    if (keep > 0) await fh.sync();
  } finally {
    await fh.close();
  }
  if (keep === 0) {
    await unlink(path);
    return 0;
  }
  let target = join(dir, finalName);
  if (await exists(target)) target = join(dir, finalName.replace(/\.jsonl$/, `-r${randomBytes(4).toString('hex')}.jsonl`));
  await rename(path, target);
  return keep;
}

/** Offset just past the last '\n', scanning back from the end so large files are not read whole. */
async function endOfLastLine(fh: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.allocUnsafe(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await fh.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function checkZone(zone: string): asserts zone is ZoneName {
  if (!(ZONE_NAMES as readonly string[]).includes(zone)) {
    throw new TicklineError('TL_ERR_ZONE', `zones: unknown zone ${show(zone)}; known: ${ZONE_NAMES.join(', ')}`);
  }
}

function checkDataset(dataset: string): void {
  if (typeof dataset !== 'string' || !DATASET_RE.test(dataset)) {
    throw new TicklineError('TL_ERR_ZONE', `zones: dataset ${show(dataset)} must match [a-z0-9_-]+`);
  }
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TicklineError('TL_ERR_CONFIG', `zones: ${name} must be a positive integer, got ${show(value)}`);
  }
  return value;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
