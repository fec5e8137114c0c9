import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `body` to `tmp`, syncs it and renames it over `target`, so `target` is never seen half-written
 * (a reader sees the old file or the new one). `mode` applies to the new file; `syncDir` also syncs the
 * directory so the rename itself survives a power loss.
 */
export async function writeFileAtomic(target: string, body: Buffer | string, opts: { tmp: string; mode?: number; exclusive?: boolean; syncDir?: boolean }): Promise<void> {
  const fh = await open(opts.tmp, opts.exclusive ? 'wx' : 'w', opts.mode ?? 0o666);
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(opts.tmp, target);
  } catch (e) {
    await unlink(opts.tmp).catch(() => {});
    throw e;
  }
  if (opts.syncDir) {
    const dir = await open(dirname(target), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
