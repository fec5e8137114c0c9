import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, copyFile, mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Health } from '../../ports/health.ts';
import { pruneDirs, unlinkIfExists, writeFileSynced } from './files.ts';
import { errText } from './writers.ts';

/**
 * Where visible zone files live: a local directory (`file://`) or a bucket (`s3://`). Keys are
 * `/`-separated paths relative to the zones root, e.g. `raw/ticks/date=2024-01-02/hour=03/part-….jsonl`.
 * Names starting with a dot are never listed: they are the staging side's hidden files.
 */
export interface ZoneStore {
  /** For messages: the directory, or `s3://bucket/prefix`. */
  readonly where: string;
  /** The local file that is `key` when the store is a local directory; null when objects must be fetched. */
  localPath(key: string): string | null;
  /**
   * Keys of the files under `prefix` (which ends with "/"), at any depth, that sort after `after` and
   * before `before` when those are given, in pages. Keys of one directory come together; pages are
   * not globally sorted.
   */
  listKeys(prefix: string, after?: string, before?: string): AsyncGenerator<string[]>;
  /** Names of the directories directly under `prefix` (which ends with "/"). */
  childDirs(prefix: string): Promise<string[]>;
  /**
   * Makes a complete local file visible as `key`, all at once, replacing any object of that key; the
   * local file is gone afterwards. A failure leaves the local file in place and nothing half-visible.
   */
  publish(localPath: string, key: string): Promise<void>;
  /** Deletes objects; missing ones are not an error. */
  remove(keys: readonly string[]): Promise<void>;
  /** Removes the directory of `prefix` and its parents up to the root while they are empty (local only). */
  prune(prefix: string): Promise<void>;
  openRead(key: string): Promise<Readable>;
  /** Copies an object to a local file. */
  download(key: string, localPath: string): Promise<void>;
  /** Writes a small object atomically: readers see the old body or the new one, never a mix. */
  put(key: string, body: Buffer): Promise<void>;
  /** A small object's body, or null when it does not exist. */
  get(key: string): Promise<Buffer | null>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

/**
 * A local directory. It is also the staging directory of `file://` zones, so a staged file that is
 * sealed under its final name is published already (`publish` is then a no-op); anything else moves
 * in by rename, which is atomic within one filesystem.
 */
export class LocalStore implements ZoneStore {
  readonly root: string;
  readonly where: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.where = this.root;
  }

  localPath(key: string): string {
    return join(this.root, key);
  }

  /**
   * Walks the directories depth first, skipping every directory whose keys all fall outside the
   * bounds: a directory `d` holds exactly the keys from `d/` up to (not including) `d0`, as "0"
   * follows "/". So a range read of a long history opens only the partitions it needs.
   */
  async *listKeys(prefix: string, after?: string, before?: string): AsyncGenerator<string[]> {
    const dirs = [prefix.replace(/\/$/, '')];
    while (dirs.length > 0) {
      const dir = dirs.pop()!;
      const files: string[] = [];
      const below: string[] = [];
      for (const e of await readdirOrEmpty(join(this.root, dir))) {
        if (e.name.startsWith('.')) continue;
        const key = dir === '' ? e.name : `${dir}/${e.name}`;
        if (e.isDirectory()) {
          if ((after === undefined || `${key}0` > after) && (before === undefined || `${key}/` < before)) below.push(key);
        } else if (e.isFile() && (after === undefined || key > after) && (before === undefined || key < before)) {
          files.push(key);
        }
      }
      if (files.length > 0) yield files.sort();
      // Popped from the end: push in reverse to visit in name order.
      dirs.push(...below.sort().reverse());
    }
  }

  async childDirs(prefix: string): Promise<string[]> {
    return (await readdirOrEmpty(join(this.root, prefix))).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  }

  async publish(localPath: string, key: string): Promise<void> {
    const target = this.localPath(key);
    if (resolve(localPath) === target) return;
    try {
      await rename(localPath, target);
    } catch (e) {
      // Retention may have removed the partition directory meanwhile.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(dirname(target), { recursive: true });
      await rename(localPath, target);
    }
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (const key of keys) await unlinkIfExists(this.localPath(key));
  }

  prune(prefix: string): Promise<void> {
    return pruneDirs(this.root, prefix);
  }

  async openRead(key: string): Promise<Readable> {
    const fh = await open(this.localPath(key), 'r');
    return fh.createReadStream();
  }

  async download(key: string, localPath: string): Promise<void> {
    await copyFile(this.localPath(key), localPath);
  }

  async put(key: string, body: Buffer): Promise<void> {
    const target = this.localPath(key);
    await mkdir(dirname(target), { recursive: true });
    await writeFileSynced(join(dirname(target), `.${randomBytes(6).toString('hex')}.pending`), body, target);
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.localPath(key));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw e;
    }
  }

  async health(): Promise<Health> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, fsConstants.W_OK);
    } catch (e) {
      return { ok: false, detail: `${this.root} is not writable: ${errText(e)}` };
    }
    return { ok: true, detail: this.root };
  }

  async close(): Promise<void> {}
}

async function readdirOrEmpty(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}
