import { constants as fsConstants, createReadStream } from 'node:fs';
import { access, copyFile, link, mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { TicklineError, show } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { tickToJsonLine, type Tick } from '../../core/tick.ts';
import { formatIsoMicros, type Micros } from '../../core/time.ts';
import type { Health } from '../../ports/health.ts';
import { ZONE_NAMES, type ZoneAnnotation, type ZoneName, type ZoneRange, type Zones } from '../../ports/zones.ts';
import { convertBeside, exists, gzipFile, isMissing, pruneDirs, sha256File, truncateToLastLine, unlinkIfExists, writeFileSynced } from './files.ts';
import { jsonRows, writeTickLines } from './jsonl.ts';
import {
  DOCS_ROOT,
  HOUR_US,
  INPROGRESS_RE,
  IdSource,
  PART_RE,
  PENDING_SUFFIX,
  SWAP_RE,
  checkDataset,
  checkDocKey,
  checkDocPrefix,
  checkRange,
  checkZone,
  dateDirStart,
  formatOf,
  hourDirOffset,
  partitionPrefix,
} from './layout.ts';
import { KeyedLock } from './lock.ts';
import { resolveOptions, type ResolvedZonesOptions, type StagedZonesOptions } from './options.ts';
import { ParquetFiles } from './parquet.ts';
import type { ZoneStore } from './store.ts';
import { WriterPool, errText, type StagedFile } from './writers.ts';


const READ_BATCH = 8192;
/** Partition names are `date=YYYY-MM-DD`: four-digit years only. */
const MAX_PARTITION_US = Date.UTC(10000, 0, 1) * 1000;
const RETENTION_EVERY_MS = 3_600_000;
const RETRY_STRANDED_EVERY_MS = 30_000;
const MAX_RETRY_DELAY_MS = 5_000;
const MAX_DOC_BYTES = 8 * 1024 * 1024;
const TICK_KEYS = new Set(['symbol', 'ts', 'price', 'size', 'bid', 'ask', 'currency', 'provider', 'seq', 'received_at']);
const EMPTY = Buffer.alloc(0);
const noop = (): void => {};

/** "Publish `output` (staged next to this manifest as `.<output>.pending`), then delete `inputs`." */
interface SwapManifest {
  output: string | null;
  inputs: string[];
}


/** A local file standing for a visible one while it is read or merged. */
interface LocalCopy {
  path: string;
  release(): Promise<void>;
}

/**
 * Zones written through a local staging directory and published to a ZoneStore: the engine behind
 * `file://` (staging directory = the zones directory, publishing = rename) and `s3://` (staging
 * under the data directory, publishing = upload, then the local copy is removed).
 *
 * Life of a row: `append` writes it as a JSON line to a hidden in-progress file of its partition
 * (WriterPool); when that file rolls it is sealed into its part beside it — renamed (`.jsonl`),
 * compressed (`.jsonl.gz`) or converted by DuckDB (curated `.parquet`) — then published.
 *
 * Curated compaction and `replaceHour` change a partition through a swap: the new file is made
 * complete under a hidden name, a manifest naming it and the files it supersedes is written, the new
 * file is published, the old ones deleted, the manifest removed. A crash at any point is finished on
 * the next open (a manifest means "the output is complete"; without one the hidden output is
 * discarded), so rows are never lost or doubled; readers see both generations only between the
 * publish and the deletes. Work on one curated hour (sealing, compaction, replacement, retention)
 * is serialized by a per-partition lock.
 *
 * One process owns a staging directory: startup recovery treats every hidden file in it as a crash
 * leftover.
 */
export class StagedZones implements Zones {
  readonly kind: string;
  /** Local directory of in-progress and not yet published files. */
  readonly staging: string;
  protected readonly store: ZoneStore;
  readonly #o: ResolvedZonesOptions;
  readonly #logger: Logger | undefined;
  readonly #ids = new IdSource();
  readonly #tmp: string;
  readonly #writers: WriterPool;
  readonly #parquet: ParquetFiles;
  readonly #locks = new KeyedLock();
  readonly #inflight = new Set<Promise<unknown>>();
  /** Complete local files whose publish failed: local path → key and why. Retried on a timer, by flush and on open. */
  readonly #stranded = new Map<string, { key: string; error: Error }>();
  /** Staged files whose conversion into a part failed: in-progress path → file. Retried like the stranded ones. */
  readonly #unsealed = new Map<string, StagedFile>();
  /** Swap manifests that could not be finished: manifest path → partition prefix. */
  readonly #unfinished = new Map<string, string>();
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  #retrying: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  // Quarantine batches mostly reuse one annotation object per reason; skip re-serialising it within a batch.
  #lastAnnotation: ZoneAnnotation | null = null;
  #lastSuffix = '';

  protected constructor(kind: string, staging: string, store: ZoneStore, options: StagedZonesOptions) {
    this.#o = resolveOptions(options);
    this.kind = kind;
    this.staging = staging;
    this.store = store;
    this.#logger = options.logger;
    this.#tmp = join(staging, '.tmp');
    this.#parquet = new ParquetFiles({ tempDir: join(this.#tmp, 'duckdb') });
    const { rollBytes, rollMs, maxOpen, curatedGraceMs } = this.#o;
    this.#writers = new WriterPool({
      root: staging,
      rollBytes,
      maxOpen,
      ids: this.#ids,
      logger: this.#logger,
      format: (zone) => (zone === 'curated' ? 'parquet' : zone === 'raw' && this.#o.rawGzip ? 'jsonl.gz' : 'jsonl'),
      // Curated rows wait for their hour to close (plus grace for late rows), so an hour becomes one
      // file; a past hour being back-filled gets the grace period from its first row instead.
      dueAt: (zone, hour, openedAt) =>
        zone === 'curated' ? Math.max(((hour + 1) * HOUR_US) / 1000, openedAt) + curatedGraceMs : openedAt + rollMs,
      checkEveryMs: Math.min(Math.max(Math.floor(Math.min(rollMs, curatedGraceMs || rollMs) / 4), 10), 5_000),
      seal: (file) => this.#sealOrKeep(file),
    });
  }

  /** Creates the directories, finishes what a crashed run left behind and applies retention. */
  protected async start(): Promise<void> {
    try {
      await mkdir(this.staging, { recursive: true });
      // Private copies and DuckDB's spill space of a previous run are of no use now.
      if (this.#o.owner === false) {
        await mkdir(this.#tmp, { recursive: true });
      } else {
        await rm(this.#tmp, { recursive: true, force: true });
        await mkdir(this.#tmp, { recursive: true });
        await this.#recover();
      }
    } catch (cause) {
      await this.close().catch(noop);
      throw cause instanceof TicklineError
        ? cause
        : new TicklineError('TL_ERR_ZONE', `zones: cannot open ${show(this.store.where)}: ${errText(cause)}`, { cause });
    }
    if (Object.keys(this.#o.retain).length > 0) {
      await this.#retentionQuietly();
      this.#every(RETENTION_EVERY_MS, () => this.#retentionQuietly());
    }
    this.#every(RETRY_STRANDED_EVERY_MS, () => (this.#waiting() > 0 ? this.#retryStranded() : Promise.resolve()));
  }

  async append(zone: ZoneName, dataset: string, ticks: readonly Tick[], annotations?: readonly ZoneAnnotation[]): Promise<void> {
    // Everything up to the queueing of writes is synchronous, so concurrent calls keep their call order.
    if (this.#closing) throw new TicklineError('TL_ERR_CLOSED', `zones: append to ${zone}/${dataset} after close`);
    checkZone(zone);
    checkDataset(dataset);
    if (annotations !== undefined) {
      if (zone === 'curated') {
        throw new TicklineError('TL_ERR_ZONE', `zones: curated/${dataset} stores typed tick columns only; annotations go to raw or quarantine`);
      }
      if (annotations.length !== ticks.length) {
        throw new TicklineError(
          'TL_ERR_ZONE',
          `zones: ${annotations.length} annotations for ${ticks.length} ticks in ${zone}/${dataset}; pass one per tick`,
        );
      }
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
    if (hours.length === 1) return this.#writers.write(zone, dataset, hours[0]!, buf.subarray(0, end), now);
    const writes: Promise<void>[] = [];
    for (let j = 0; j < hours.length; j++) {
      writes.push(this.#writers.write(zone, dataset, hours[j]!, bufs[j]!.subarray(0, ends[j]!), now));
    }
    await Promise.all(writes);
  }

  async flush(): Promise<void> {
    if (this.#closing) return this.#closing;
    return this.#drain();
  }

  async list(zone: ZoneName, dataset?: string): Promise<string[]> {
    checkZone(zone);
    if (dataset !== undefined) checkDataset(dataset);
    const keys = await this.#keys(dataset === undefined ? `${zone}/` : `${zone}/${dataset}/`);
    return keys.filter((k) => PART_RE.test(k.slice(k.lastIndexOf('/') + 1))).sort();
  }

  async *read(zone: ZoneName, dataset: string, range: ZoneRange): AsyncGenerator<Array<Record<string, unknown>>> {
    checkZone(zone);
    checkDataset(dataset);
    const { from, to } = checkRange(range);
    let batch: Array<Record<string, unknown>> = [];
    for await (const p of this.#partitionsIn(zone, dataset, from, to)) {
      // A partition entirely inside the range needs no per-row test.
      const whole = p.start >= from && p.start + HOUR_US <= to;
      for await (const rows of this.#partitionRows(zone, p.prefix, p.names, whole ? -Infinity : from, whole ? Infinity : to)) {
        for (const row of rows) {
          batch.push(row);
          if (batch.length === READ_BATCH) {
            yield batch;
            batch = [];
          }
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  async replaceHour(dataset: string, hourUs: Micros, ticks: readonly Tick[]): Promise<void> {
    if (this.#closing) throw new TicklineError('TL_ERR_CLOSED', `zones: replaceHour of curated/${dataset} after close`);
    checkDataset(dataset);
    if (typeof hourUs !== 'number' || !Number.isSafeInteger(hourUs) || hourUs % HOUR_US !== 0) {
      throw new TicklineError('TL_ERR_ZONE', `zones: replaceHour needs hourUs at the start of an hour (a multiple of ${HOUR_US} µs), got ${show(hourUs)}`);
    }
    for (let i = 0; i < ticks.length; i++) {
      const ts = ticks[i]!.ts;
      if (!(ts >= hourUs && ts < hourUs + HOUR_US)) {
        throw new TicklineError(
          'TL_ERR_ZONE',
          `zones: replaceHour(${dataset}, ${formatIsoMicros(hourUs)}): tick ${i} has event time ${Number.isFinite(ts) ? formatIsoMicros(ts) : show(ts)}, outside that hour`,
        );
      }
    }
    const hour = hourUs / HOUR_US;
    const prefix = partitionPrefix('curated', dataset, hour);
    // Rows appended to this hour so far become a part first, so they are replaced like the others;
    // a part of this hour still waiting to be published would reappear after the replacement.
    const sealError = await this.#writers.retire('curated', dataset, hour);
    if (sealError) throw sealError;
    if (this.#waitingIn(prefix)) await this.#retryStranded();
    if (this.#waitingIn(prefix)) {
      throw new TicklineError('TL_ERR_ZONE', `zones: cannot replace ${prefix} yet: an earlier part of it is not published (see health)`);
    }
    await this.#track(this.#locks.run(prefix, () => this.#replace(prefix, ticks)));
  }

  async putDoc(key: string, body: string): Promise<void> {
    if (this.#closing) throw new TicklineError('TL_ERR_CLOSED', `zones: putDoc ${show(key)} after close`);
    checkDocKey(key);
    if (typeof body !== 'string') throw new TicklineError('TL_ERR_ZONE', `zones: document ${show(key)} must be a string, got ${show(body)}`);
    const bytes = Buffer.from(body, 'utf8');
    if (bytes.length > MAX_DOC_BYTES) {
      throw new TicklineError('TL_ERR_ZONE', `zones: document ${show(key)} is ${bytes.length} bytes; at most ${MAX_DOC_BYTES}`);
    }
    try {
      await this.store.put(`${DOCS_ROOT}/${key}`, bytes);
    } catch (cause) {
      throw new TicklineError('TL_ERR_ZONE', `zones: cannot write document ${show(key)} to ${this.store.where}: ${errText(cause)}`, { cause });
    }
  }

  async getDoc(key: string): Promise<string | null> {
    checkDocKey(key);
    try {
      const body = await this.store.get(`${DOCS_ROOT}/${key}`);
      return body === null ? null : body.toString('utf8');
    } catch (cause) {
      throw new TicklineError('TL_ERR_ZONE', `zones: cannot read document ${show(key)} from ${this.store.where}: ${errText(cause)}`, { cause });
    }
  }

  async listDocs(prefix: string): Promise<string[]> {
    checkDocPrefix(prefix);
    // List the deepest directory the prefix names; its last segment may be a partial name.
    const dir = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const keys = await this.#keys(`${DOCS_ROOT}/${dir}`);
    return keys
      .map((k) => k.slice(DOCS_ROOT.length + 1))
      .filter((k) => k.startsWith(prefix))
      .sort();
  }

  async applyRetention(nowUs: Micros): Promise<number> {
    if (typeof nowUs !== 'number' || !Number.isFinite(nowUs)) {
      throw new TicklineError('TL_ERR_ZONE', `zones: applyRetention needs the time in µs, got ${show(nowUs)}`);
    }
    return this.#track(this.#retention(nowUs));
  }

  async health(): Promise<Health> {
    const h = await this.store.health();
    if (!h.ok) return h;
    const writeError = this.#writers.lastError;
    if (writeError) return { ok: false, detail: writeError.message };
    if (this.store.localPath('') === null) {
      try {
        await access(this.staging, fsConstants.W_OK);
      } catch (e) {
        return { ok: false, detail: `staging directory ${this.staging} is not writable: ${errText(e)}` };
      }
    }
    const stranded = this.#waiting();
    if (stranded > 0) {
      const last = [...this.#stranded.values()].pop()?.error.message ?? 'a conversion or swap is unfinished';
      return { ok: false, detail: `${stranded} staged files in ${this.staging} wait to be published: ${last}` };
    }
    return { ok: true, detail: `${h.detail}, ${this.#writers.size} open` };
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#writers.stop();
      for (const t of this.#timers) clearInterval(t);
      this.#closing = this.#drain().finally(async () => {
        await this.#parquet.close();
        await this.store.close();
        await rm(this.#tmp, { recursive: true, force: true }).catch(noop);
      });
    }
    return this.#closing;
  }

  // ------------------------------------------------------------------ sealing and publishing

  /**
   * Seals a retired file; when that fails (e.g. DuckDB cannot write the Parquet file) the staged
   * file stays as it is and is retried, so its rows are never dropped.
   */
  async #sealOrKeep(f: StagedFile): Promise<void> {
    try {
      await this.#seal(f);
      this.#unsealed.delete(f.path);
    } catch (err) {
      this.#unsealed.set(f.path, f);
      this.#logger?.error({ err, file: f.path }, 'zone file not sealed; it stays staged and is retried');
    }
  }

  /** Turns a retired writer's complete file into its part and publishes it. */
  async #seal(f: StagedFile): Promise<void> {
    const prefix = partitionPrefix(f.zone, f.dataset, f.hour);
    const part = join(f.dir, f.partName);
    const key = `${prefix}/${f.partName}`;
    const format = formatOf(f.partName)!;
    if (format === 'parquet') {
      await this.#locks.run(prefix, async () => {
        await convertBeside(f.path, part, (dest) => this.#parquet.fromJsonLines([f.path], dest));
        if (await this.#publishOrStrand(part, key)) await this.#compactQuietly(prefix, f.dir);
      });
      return;
    }
    if (format === 'jsonl.gz') await convertBeside(f.path, part, (dest) => gzipFile(f.path, dest));
    else await rename(f.path, part);
    await this.#publishOrStrand(part, key);
  }

  /** Publishes with retries; on failure keeps the file staged for a later retry and returns false. */
  async #publishOrStrand(local: string, key: string): Promise<boolean> {
    try {
      await this.#publish(local, key);
      this.#stranded.delete(local);
      // Uploaded: the staging directory of the partition is left empty unless a writer is still at work there.
      if (this.store.localPath(key) === null) await pruneDirs(this.staging, key.slice(0, key.lastIndexOf('/')));
      return true;
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.#stranded.set(local, { key, error });
      this.#logger?.error({ err: error, file: local, key }, 'zone file not published; it stays staged and is retried');
      return false;
    }
  }

  async #publish(local: string, key: string): Promise<void> {
    if (this.store.localPath(key) === local) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.publish(local, key);
        return;
      } catch (cause) {
        if (attempt >= this.#o.publishAttempts) {
          throw new TicklineError('TL_ERR_ZONE', `zones: cannot publish ${show(key)} to ${this.store.where} after ${attempt} attempts: ${errText(cause)}`, { cause });
        }
        const delay = Math.min(this.#o.retryBaseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
        this.#logger?.warn({ key, attempt, delayMs: delay, err: cause }, 'zone publish failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Seals what is unsealed, publishes what is stranded and finishes unfinished swaps; one run at a time. */
  #retryStranded(): Promise<void> {
    this.#retrying ??= (async () => {
      for (const f of [...this.#unsealed.values()]) {
        if (await exists(f.path)) await this.#sealOrKeep(f);
        else this.#unsealed.delete(f.path);
      }
      for (const [local, { key }] of [...this.#stranded]) {
        const prefix = key.slice(0, key.lastIndexOf('/'));
        if (formatOf(key) !== 'parquet') {
          await this.#publishOrStrand(local, key);
          continue;
        }
        // As when it was sealed: a curated part is published, then its hour compacted, under the hour's lock.
        await this.#locks.run(prefix, async () => {
          if (await this.#publishOrStrand(local, key)) await this.#compactQuietly(prefix, join(this.staging, prefix));
        });
      }
      for (const [manifest, prefix] of [...this.#unfinished]) {
        await this.#locks.run(prefix, () => this.#finishSwap(prefix, manifest)).catch(noop);
      }
    })().finally(() => {
      this.#retrying = null;
    });
    return this.#retrying;
  }

  /** Rolls every writer, waits for everything in flight, retries what is stranded; rejects if anything is left unpublished. */
  async #drain(): Promise<void> {
    let rollError: unknown = null;
    try {
      await this.#writers.rollAll();
    } catch (e) {
      rollError = e;
    }
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await this.#retryStranded();
    const left = this.#waiting();
    if (left > 0) {
      const last = [...this.#stranded.values()].pop()?.error;
      throw new TicklineError(
        'TL_ERR_ZONE',
        `zones: ${left} files are complete in ${this.staging} but not published to ${this.store.where}${last ? `: ${last.message}` : ''}; they are retried, and published on the next open at the latest`,
        { cause: last },
      );
    }
    if (rollError) throw rollError;
  }

  /** Files complete locally that are not visible yet because a conversion, upload or swap failed. */
  #waiting(): number {
    return this.#unsealed.size + this.#stranded.size + this.#unfinished.size;
  }

  /** Whether a failed conversion, upload or swap of the partition is waiting for a retry. */
  #waitingIn(prefix: string): boolean {
    const dir = join(this.staging, prefix);
    const inDir = (path: string): boolean => join(path, '..') === dir;
    return [...this.#unsealed.keys(), ...this.#stranded.keys(), ...this.#unfinished.keys()].some(inDir);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    void p.then(noop, noop).then(() => this.#inflight.delete(p));
    return p;
  }

  #every(ms: number, fn: () => Promise<unknown>): void {
    const t = setInterval(() => {
      if (!this.#closing) void this.#track(fn()).catch(noop);
    }, ms);
    t.unref();
    this.#timers.push(t);
  }

  // ------------------------------------------------------------------ swaps: compaction and replacement

  /** Caller holds the partition lock. Merges the curated hour's Parquet parts once there are too many. */
  async #compactQuietly(prefix: string, dir: string): Promise<void> {
    // An unfinished swap of this hour may still publish its merge of these very parts.
    if ([...this.#unfinished.values()].includes(prefix)) return;
    try {
      const parts = await this.#mergeableParts(prefix, dir);
      if (parts.length <= this.#o.compactAt) return;
      const name = `part-${this.#ids.next()}.parquet`;
      const pending = join(dir, `.${name}${PENDING_SUFFIX}`);
      // On S3 the staging directory of an uploaded partition may have been pruned.
      await mkdir(dir, { recursive: true });
      const copies = await Promise.all(parts.map((p) => this.#localCopy(`${prefix}/${p}`)));
      try {
        await this.#parquet.merge(
          copies.map((c) => c.path),
          pending,
        );
      } catch (e) {
        await unlinkIfExists(pending);
        throw e;
      } finally {
        await Promise.all(copies.map((c) => c.release()));
      }
      await this.#swap(prefix, dir, name, parts);
      this.#logger?.info({ partition: prefix, merged: parts.length }, 'compacted curated hour');
    } catch (err) {
      // The parts stay as they are, which is correct, only less tidy; the next seal tries again.
      this.#logger?.warn({ err, partition: prefix }, 'curated compaction failed');
    }
  }

  /**
   * The visible Parquet parts of a curated hour that compaction may merge and then delete. On a
   * remote store a part whose staged copy is still in `dir` is left out: that copy is uploaded again
   * later (by the retry of a publish whose outcome was unknown, or on the next open after a crash
   * between the upload and the removal of the copy), and had the visible part been merged and deleted
   * meanwhile, the re-upload would bring its rows back beside the merged file. It is merged once its
   * copy is gone.
   */
  async #mergeableParts(prefix: string, dir: string): Promise<string[]> {
    const parts = (await this.#filesIn(prefix)).filter((n) => formatOf(n) === 'parquet');
    if (this.store.localPath('') !== null) return parts;
    let staged: Set<string>;
    try {
      staged = new Set(await readdir(dir));
    } catch (e) {
      if (!isMissing(e)) throw e;
      return parts;
    }
    return parts.filter((n) => !staged.has(n));
  }

  /** Caller holds the partition lock. */
  async #replace(prefix: string, ticks: readonly Tick[]): Promise<void> {
    const dir = join(this.staging, prefix);
    await mkdir(dir, { recursive: true });
    let output: string | null = null;
    if (ticks.length > 0) {
      const id = this.#ids.next();
      const lines = join(dir, `.replace-${id}.jsonl${PENDING_SUFFIX}`);
      const parquet = join(dir, `.replace-${id}.parquet${PENDING_SUFFIX}`);
      try {
        await writeTickLines(lines, ticks);
        await this.#parquet.fromJsonLines([lines], parquet);
        // Named after its bytes: the same ticks give the same name, so a repeat replaces the file by itself.
        output = `part-r${(await sha256File(parquet)).slice(0, 20)}.parquet`;
        await rename(parquet, join(dir, `.${output}${PENDING_SUFFIX}`));
      } finally {
        await unlinkIfExists(lines);
        await unlinkIfExists(parquet);
      }
    }
    const inputs = await this.#filesIn(prefix);
    await this.#swap(prefix, dir, output, inputs);
  }

  /** Caller holds the partition lock, and `output` is complete as `.<output>.pending` in `dir`. */
  async #swap(prefix: string, dir: string, output: string | null, inputs: readonly string[]): Promise<void> {
    const manifest = join(dir, `.swap-${this.#ids.next()}.json`);
    const body: SwapManifest = { output, inputs: [...inputs] };
    await writeFileSynced(`${manifest}${PENDING_SUFFIX}`, JSON.stringify(body), manifest);
    await this.#finishSwap(prefix, manifest);
  }

  /** Publishes a manifest's output if still staged, deletes its inputs, removes the manifest. Idempotent. */
  async #finishSwap(prefix: string, manifest: string): Promise<void> {
    try {
      const m = await readManifest(manifest);
      if (m.output !== null) {
        const pending = join(manifest, '..', `.${m.output}${PENDING_SUFFIX}`);
        if (await exists(pending)) await this.#publish(pending, `${prefix}/${m.output}`);
      }
      await this.store.remove(m.inputs.filter((n) => n !== m.output).map((n) => `${prefix}/${n}`));
      await unlink(manifest);
      this.#unfinished.delete(manifest);
    } catch (e) {
      this.#unfinished.set(manifest, prefix);
      throw e;
    }
  }

  // ------------------------------------------------------------------ reading

  /**
   * Visible partitions of a dataset overlapping `[from, to)`, in time order, with their part names.
   * The listing is bounded by partition keys, which sort in time order, so only the partitions in
   * range are listed.
   */
  async *#partitionsIn(zone: ZoneName, dataset: string, from: number, to: number): AsyncGenerator<{ prefix: string; start: number; names: string[] }> {
    const after = from > 0 && from < MAX_PARTITION_US ? partitionPrefix(zone, dataset, Math.floor(from / HOUR_US)) : undefined;
    const before = to > 0 && to < MAX_PARTITION_US ? partitionPrefix(zone, dataset, Math.ceil(to / HOUR_US)) : undefined;
    const partitions = new Map<string, { prefix: string; start: number; names: string[] }>();
    try {
      for await (const page of this.store.listKeys(`${zone}/${dataset}/`, after, before)) {
        for (const key of page) {
          const parts = key.split('/');
          if (parts.length !== 5 || !PART_RE.test(parts[4]!)) continue;
          const day = dateDirStart(parts[2]!);
          const offset = hourDirOffset(parts[3]!);
          if (day === undefined || offset === undefined) continue;
          const start = day + offset;
          if (start >= to || start + HOUR_US <= from) continue;
          const prefix = key.slice(0, key.lastIndexOf('/'));
          let p = partitions.get(prefix);
          if (p === undefined) partitions.set(prefix, (p = { prefix, start, names: [] }));
          p.names.push(parts[4]!);
        }
      }
    } catch (cause) {
      throw new TicklineError('TL_ERR_ZONE', `zones: cannot list ${show(`${this.store.where}/${zone}/${dataset}/`)}: ${errText(cause)}`, { cause });
    }
    for (const p of [...partitions.values()].sort((a, b) => a.start - b.start)) {
      p.names.sort();
      yield p;
    }
  }

  /** Names of the visible parts of one partition, sorted. */
  async #filesIn(prefix: string): Promise<string[]> {
    const names = (await this.#keys(`${prefix}/`)).map((k) => k.slice(prefix.length + 1)).filter((n) => PART_RE.test(n));
    return names.sort();
  }

  /** Every key under a prefix. */
  async #keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const page of this.store.listKeys(prefix)) out.push(...page);
    } catch (cause) {
      throw new TicklineError('TL_ERR_ZONE', `zones: cannot list ${show(`${this.store.where}/${prefix}`)}: ${errText(cause)}`, { cause });
    }
    return out;
  }

  async *#partitionRows(zone: ZoneName, prefix: string, names: readonly string[], from: number, to: number): AsyncGenerator<Array<Record<string, unknown>>> {
    if (zone === 'curated') {
      // Compaction or a replacement may delete these files while we read: take private copies
      // (hard links locally) under the partition lock, so the read sees one consistent generation.
      const copies = await this.#locks.run(prefix, async () =>
        Promise.all((await this.#filesIn(prefix)).map(async (n) => ({ name: n, copy: await this.#pin(`${prefix}/${n}`) }))),
      );
      try {
        for (const { name, copy } of copies) yield* this.#fileRows(name, copy.path, null, from, to);
      } finally {
        await Promise.all(copies.map(({ copy }) => copy.release()));
      }
      return;
    }
    for (const name of names) {
      let stream: Readable;
      try {
        stream = await this.store.openRead(`${prefix}/${name}`);
      } catch (e) {
        if (isMissing(e)) continue; // removed by retention since the listing
        throw new TicklineError('TL_ERR_ZONE', `zones: cannot read ${show(`${prefix}/${name}`)}: ${errText(e)}`, { cause: e });
      }
      yield* this.#fileRows(name, null, stream, from, to);
    }
  }

  #fileRows(name: string, path: string | null, stream: Readable | null, from: number, to: number): AsyncGenerator<Array<Record<string, unknown>>> {
    const format = formatOf(name)!;
    if (format === 'parquet') return this.#parquet.rows(path!, from, to);
    return jsonRows(name, stream ?? createReadStream(path!), format, from, to);
  }

  /** A private local copy of a visible file that survives its deletion: a hard link, else a copy or download. */
  async #pin(key: string): Promise<LocalCopy> {
    // Not named `*.parquet`/`*.jsonl`: a glob over the whole zones directory must not find copies.
    const path = join(this.#tmp, `${this.#ids.next()}.pin`);
    await mkdir(this.#tmp, { recursive: true });
    const local = this.store.localPath(key);
    if (local === null) await this.store.download(key, path);
    else await link(local, path).catch(() => copyFile(local, path));
    return { path, release: () => unlinkIfExists(path) };
  }

  /** A local path holding a visible file's bytes; only a remote file is downloaded. */
  async #localCopy(key: string): Promise<LocalCopy> {
    const local = this.store.localPath(key);
    return local === null ? this.#pin(key) : { path: local, release: async () => {} };
  }

  // ------------------------------------------------------------------ retention

  async #retention(nowUs: Micros): Promise<number> {
    let removed = 0;
    for (const zone of ZONE_NAMES) {
      const keep = this.#o.retain[zone];
      if (keep === undefined) continue;
      // An hour partition goes once all of it is older than the retention.
      const cutoff = nowUs - keep;
      // Hours that ended by the cutoff are those starting before the last hour boundary at or before it.
      const to = Math.floor(cutoff / HOUR_US) * HOUR_US;
      for (const dataset of await this.store.childDirs(`${zone}/`)) {
        for await (const p of this.#partitionsIn(zone, dataset, -Infinity, to)) {
          removed += await this.#locks.run(p.prefix, () => this.#dropPartition(p.prefix));
        }
      }
    }
    if (removed > 0) this.#logger?.info({ files: removed }, 'zone retention removed expired partitions');
    return removed;
  }

  async #dropPartition(prefix: string): Promise<number> {
    const files = await this.#filesIn(prefix);
    await this.store.remove(files.map((n) => `${prefix}/${n}`));
    await this.store.prune(prefix);
    if (this.store.localPath(prefix) === null) await pruneDirs(this.staging, prefix);
    return files.length;
  }

  async #retentionQuietly(): Promise<void> {
    try {
      await this.#retention(Date.now() * 1000);
    } catch (err) {
      this.#logger?.warn({ err }, 'zone retention failed; it runs again within the hour');
    }
  }

  // ------------------------------------------------------------------ recovery

  /**
   * Finishes what a crashed run left in the staging directory, in an order that keeps every row once:
   * swaps with a manifest are completed; other hidden outputs (never announced) are discarded; each
   * in-progress file is cut to its last whole line and sealed like a roll; finally (remote stores)
   * every complete part still staged is uploaded.
   */
  async #recover(): Promise<void> {
    const found = await this.#scanStaging();
    for (const manifest of found.swaps) {
      const prefix = relative(this.staging, join(manifest, '..')).split('\\').join('/');
      await this.#finishSwap(prefix, manifest).catch((err: unknown) => {
        this.#logger?.error({ err, manifest }, 'cannot finish an interrupted zone swap; it is retried');
      });
    }
    // A hidden output is garbage unless an unfinished swap still has to publish it.
    const keep = new Set<string>();
    for (const manifest of this.#unfinished.keys()) {
      const output = await swapOutput(manifest);
      if (output !== null) keep.add(join(manifest, '..', `.${output}${PENDING_SUFFIX}`));
    }
    for (const pending of found.pending) if (!keep.has(pending)) await unlinkIfExists(pending);
    for (const path of found.inProgress) await this.#recoverInProgress(path);
    if (this.store.localPath('') === null) {
      for (const path of (await this.#scanStaging()).parts) {
        await this.#publishOrStrand(path, relative(this.staging, path).split('\\').join('/'));
      }
    }
  }

  async #scanStaging(): Promise<{ swaps: string[]; pending: string[]; inProgress: string[]; parts: string[] }> {
    const out = { swaps: [] as string[], pending: [] as string[], inProgress: [] as string[], parts: [] as string[] };
    for (const top of [...ZONE_NAMES, DOCS_ROOT]) {
      let entries;
      try {
        entries = await readdir(join(this.staging, top), { recursive: true, withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      for (const e of entries) {
        if (!e.isFile()) continue;
        const path = join(e.parentPath, e.name);
        if (SWAP_RE.test(e.name)) out.swaps.push(path);
        else if (e.name.endsWith(PENDING_SUFFIX)) out.pending.push(path);
        else if (INPROGRESS_RE.test(e.name)) out.inProgress.push(path);
        else if (PART_RE.test(e.name) && top !== DOCS_ROOT) out.parts.push(path);
      }
    }
    return out;
  }

  async #recoverInProgress(path: string): Promise<void> {
    const file = this.#stagedFileAt(path);
    if (file === null) {
      this.#logger?.warn({ file: path }, 'in-progress file outside the zone layout left alone');
      return;
    }
    const kept = await truncateToLastLine(path);
    this.#logger?.warn({ file: path, keptBytes: kept }, 'recovered in-progress zone file');
    if (kept === 0) return unlink(path);
    const part = join(file.dir, file.partName);
    if (await exists(part)) {
      if (formatOf(file.partName) !== 'jsonl') {
        // A conversion is complete once its part exists; the crash came before the source was removed.
        return unlink(path);
      }
      // A plain part is only ever made by renaming its in-progress file: a same-named part is
      // another file, which must not be overwritten.
      const renamed = file.partName.replace(/\.jsonl$/, `-r${this.#ids.next().slice(-8)}.jsonl`);
      return this.#seal({ ...file, partName: renamed });
    }
    return this.#seal(file);
  }

  /** The staged-file description of an in-progress path, or null when it is not inside a partition directory. */
  #stagedFileAt(path: string): StagedFile | null {
    const rel = relative(this.staging, path).split('\\').join('/').split('/');
    const m = INPROGRESS_RE.exec(rel[rel.length - 1] ?? '');
    if (rel.length !== 5 || !m) return null;
    const [zone, dataset, d, h] = rel as [ZoneName, string, string, string];
    const day = dateDirStart(d);
    const offset = hourDirOffset(h);
    if (!(ZONE_NAMES as readonly string[]).includes(zone) || day === undefined || offset === undefined) return null;
    return { zone, dataset, hour: (day + offset) / HOUR_US, dir: join(path, '..'), path, partName: m[1]! };
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
}

async function readManifest(path: string): Promise<SwapManifest> {
  return JSON.parse(await readFile(path, 'utf8')) as SwapManifest;
}

async function swapOutput(manifest: string): Promise<string | null> {
  try {
    return (await readManifest(manifest)).output;
  } catch {
    return null;
  }
}
