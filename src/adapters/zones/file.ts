import { resolve } from 'node:path';
import type { StagedZonesOptions } from './options.ts';
import { StagedZones } from './staged.ts';
import { LocalStore } from './store.ts';

export { DEFAULT_COMPACT_AT, DEFAULT_CURATED_GRACE_MS, DEFAULT_MAX_OPEN, DEFAULT_ROLL_BYTES, DEFAULT_ROLL_MS } from './options.ts';

export type FileZonesOptions = StagedZonesOptions;

/**
 * `file://` zones: Hive-partitioned files under a local directory, which is also the staging
 * directory. Each (zone, dataset, hour) gets one writer appending to a hidden
 * `.part-<id>.<format>.inprogress` file in the partition directory; rolling seals it into
 * `part-<id>.jsonl` (a rename), `part-<id>.jsonl.gz` or `part-<id>.parquet` beside it, which is when
 * readers see it. `<id>` starts with the µs creation time, so file names sort in the order they were
 * started.
 *
 * One process owns a zones directory: startup recovery treats every hidden file in it as a crash leftover.
 */
export class FileZones extends StagedZones {
  readonly root: string;

  private constructor(root: string, options: FileZonesOptions) {
    super('file', root, new LocalStore(root), options);
    this.root = root;
  }

  /** Creates the root and recovers what a crashed run left behind before accepting writes. */
  static async open(root: string, options: FileZonesOptions = {}): Promise<FileZones> {
    const zones = new FileZones(resolve(root), options);
    await zones.start();
    return zones;
  }
}

/** Builds `file://` zones rooted at `dir` (recovering crash leftovers first). */
export function createFileZones(dir: string, options: FileZonesOptions = {}): Promise<FileZones> {
  return FileZones.open(dir, options);
}
