/**
 * `<path>.lock` holding the owner's process id: keeps a second process (or a second opener in this
 * process) from using a single-writer file that the first one keeps in memory and rewrites. A lock left by
 * a process that no longer runs is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { TicklineError } from './errors.ts';

const held = new Set<string>();

/** Takes the lock of `path` for this process; `what` names the store in errors ("auth store"). */
export async function takeLock(path: string, what: string): Promise<void> {
  if (held.has(path)) throw new TicklineError('TL_ERR_STORE', `${what}: ${path} is already open in this process`);
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lock, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      held.add(path);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TicklineError('TL_ERR_STORE', `${what}: cannot create ${lock}: ${(e as Error).message}`, { cause: e });
      }
    }
    const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) {
      throw new TicklineError('TL_ERR_STORE', `${what}: ${path} is in use by process ${pid} (delete ${lock} if that process is not Tickline)`);
    }
    await unlink(lock).catch(() => {});
  }
  throw new TicklineError('TL_ERR_STORE', `${what}: cannot take ${lock}: another process keeps creating it`);
}

export async function releaseLock(path: string): Promise<void> {
  held.delete(path);
  await unlink(`${path}.lock`).catch(() => {});
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
