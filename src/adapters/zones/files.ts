import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, open, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { writeFileAtomic } from '../../core/atomic-file.ts';
import { PENDING_SUFFIX } from './layout.ts';

/** Local file steps shared by the writers, sealing, recovery and the local store. */

export async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `body` to `tmp`, syncs it and renames it to `target`, so `target` is never seen half-written. */
export function writeFileSynced(tmp: string, body: Buffer | string, target: string): Promise<void> {
  return writeFileAtomic(target, body, { tmp });
}

/** Compresses `src` into `dest` as one complete gzip stream and syncs it. */
export async function gzipFile(src: string, dest: string): Promise<void> {
  const out = await open(dest, 'w');
  await pipeline(createReadStream(src), createGzip(), out.createWriteStream());
  await syncFile(dest);
}

/** Cuts a file back to its last complete line (after the last '\n') and syncs it; returns the bytes kept. */
export async function truncateToLastLine(path: string): Promise<number> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const keep = await endOfLastLine(fh, size);
    if (keep < size) await fh.truncate(keep);
    if (keep > 0) await fh.sync();
    return keep;
  } finally {
    await fh.close();
  }
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

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Removes the directory `root/prefix` and its parents below `root` while they are empty. */
export async function pruneDirs(root: string, prefix: string): Promise<void> {
  const parts = prefix.split('/').filter(Boolean);
  for (let n = parts.length; n > 0; n--) {
    try {
      await rmdir(join(root, ...parts.slice(0, n)));
    } catch {
      return; // not empty (a writer may be staging there) or gone: either way, stop climbing.
    }
  }
}

export function isMissing(e: unknown): boolean {
  const err = e as { code?: string; name?: string };
  return err.code === 'ENOENT' || err.name === 'NoSuchKey' || err.name === 'NotFound';
}

/**
 * Produces `part` from the staged file `src` via a hidden `.pending` file beside it, then removes
 * `src`. The rename comes first, so after a crash either the part exists (and `src` is a leftover)
 * or it does not (and `src` is converted again).
 */
export async function convertBeside(src: string, part: string, produce: (dest: string) => Promise<void>): Promise<void> {
  const pending = join(dirname(part), `.${basename(part)}${PENDING_SUFFIX}`);
  try {
    await produce(pending);
    await rename(pending, part);
  } catch (e) {
    await unlinkIfExists(pending);
    throw e;
  }
  await unlink(src);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
