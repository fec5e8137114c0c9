import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TicklineError, show } from '../../core/errors.ts';
import { tickToJsonLine, type Tick } from '../../core/tick.ts';
import { formatIsoMicros } from '../../core/time.ts';
import type { PartFormat } from './layout.ts';
import { errText } from './writers.ts';

/** Rows handed over per chunk by `jsonRows`, and lines written per write by `writeTickLines`. */
const CHUNK = 1024;

/**
 * JSON lines of a `.jsonl` / `.jsonl.gz` stream with event time in `[from, to)` (±Infinity: open), in
 * chunks, in file order. The stream is destroyed when the consumer stops early.
 */
export async function* jsonRows(
  name: string,
  stream: Readable,
  format: PartFormat,
  from: number,
  to: number,
): AsyncGenerator<Array<Record<string, unknown>>> {
  // Lines hold canonical ISO timestamps (fixed width, UTC), which compare as strings in time order.
  const lo = Number.isFinite(from) ? formatIsoMicros(Math.ceil(from)) : null;
  const hi = Number.isFinite(to) ? formatIsoMicros(Math.ceil(to)) : null;
  let input: Readable = stream;
  if (format === 'jsonl.gz') {
    const gunzip = createGunzip();
    stream.on('error', (e) => gunzip.destroy(e));
    input = stream.pipe(gunzip);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let out: Array<Record<string, unknown>> = [];
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line === '') continue;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(line) as Record<string, unknown>;
      } catch (cause) {
        throw new TicklineError('TL_ERR_ZONE', `zones: line ${lineNo} of ${show(name)} is not JSON: ${errText(cause)}`, { cause });
      }
      if ((lo !== null && !((row.ts as string) >= lo)) || (hi !== null && !((row.ts as string) < hi))) continue;
      out.push(row);
      if (out.length === CHUNK) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } catch (cause) {
    if (cause instanceof TicklineError) throw cause;
    throw new TicklineError('TL_ERR_ZONE', `zones: cannot read ${show(name)}: ${errText(cause)}`, { cause });
  } finally {
    lines.close();
    input.destroy();
    stream.destroy();
  }
}

/** Writes ticks as JSON lines to a new file in bounded chunks (an hour can hold millions), then syncs it. */
export async function writeTickLines(path: string, ticks: readonly Tick[]): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    for (let i = 0; i < ticks.length; i += CHUNK) {
      let text = '';
      const end = Math.min(i + CHUNK, ticks.length);
      for (let j = i; j < end; j++) text += `${tickToJsonLine(ticks[j]!)}\n`;
      await fh.write(text);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}
