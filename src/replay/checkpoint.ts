/**
 * Checkpoints of file replays and backfills: small JSON documents under `<dataDir>/replay/` and
 * `<dataDir>/backfill/`, replaced atomically (written aside, synced, renamed), so an interrupted run
 * continues where the last one stopped and a finished one is not repeated.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactUrl } from '../adapters/registry.ts';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { show, TicklineError } from '../core/errors.ts';

export interface FileCheckpoint {
  version: 1;
  file: string;
  size: number;
  mtimeMs: number;
  /** The options that decide what the rows become; a different set cannot continue this checkpoint. */
  options: Record<string, unknown>;
  /** Rows (positions of the reader, see reader.ts) handled for good: published and acknowledged, or quarantined. */
  rows: number;
  /** Ticks published (tick files) or bars stored (daily files) so far. */
  stored: number;
  /** Rows quarantined as malformed so far, and of them the CSV lines the parser rejected. */
  bad: number;
  rejects: number;
  /** Daily files: days without prices that were skipped. */
  skipped: number;
  /** Daily files: each symbol's newest bar so far, whose close becomes its latest price when the file is done. */
  latest: Array<{ symbol: string; start: number; close: number }>;
  complete: boolean;
  startedAt: string;
  updatedAt: string;
}

export interface BackfillCheckpoint {
  version: 1;
  provider: string;
  from: string;
  to: string;
  /** Symbols fully loaded, with what each gave. */
  done: Record<string, { bars: number; rejected: number; at: string }>;
  updatedAt: string;
}

/** The target a run writes to, without credentials: a checkpoint belongs to one file and one target. */
export function targetOf(config: { store: string; bus: string }): string {
  return `${redactUrl(config.store)}|${redactUrl(config.bus)}`;
}

function hash(parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

export function fileCheckpointPath(dataDir: string, file: { path: string; size: number; mtimeMs: number }, target: string): string {
  return join(dataDir, 'replay', `${hash([file.path, file.size, file.mtimeMs, target])}.json`);
}

export function backfillCheckpointPath(dataDir: string, key: { provider: string; from: string; to: string }, target: string): string {
  return join(dataDir, 'backfill', `${hash([key.provider, key.from, key.to, target])}.json`);
}

/** The checkpoint at `path`, or null when there is none. A damaged one is an error naming the file (delete it, or --restart). */
export function readCheckpoint<T>(path: string): T | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TicklineError('TL_ERR_VALIDATION', `cannot read the checkpoint ${path}: ${(e as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as { version?: unknown };
    if (doc.version !== 1) throw new Error(`unknown version ${show(doc.version)}`);
    return doc as T;
  } catch (e) {
    throw new TicklineError('TL_ERR_VALIDATION', `the checkpoint ${path} is damaged (${(e as Error).message}); run with --restart to start over`);
  }
}

let seq = 0;

export async function writeCheckpoint(path: string, doc: object): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`, { tmp: `${path}.${process.pid}.${++seq}.tmp` });
}
