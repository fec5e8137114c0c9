import cliProgress from 'cli-progress';
import type { StreamProgress } from './client.ts';

/**
 * A progress bar on stderr (stdout stays clean for the result). On a terminal it redraws in place; in a
 * log or pipe it prints a line at most every few seconds instead of flooding.
 */
export function progressBar(out: { write(text: string): unknown; isTTY?: boolean } = process.stderr): { update(p: StreamProgress): void; stop(): void } {
  const tty = out.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  let lastLine = 0;
  return {
    update(p) {
      if (!tty) {
        const now = Date.now();
        if (now - lastLine < 3_000 && p.done !== p.total) return;
        lastLine = now;
        out.write(`${p.phase}: ${p.done}${p.total > 0 ? `/${p.total}` : ''} ${p.unit}, ${p.rows} rows\n`);
        return;
      }
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream: out as NodeJS.WritableStream, format: '{phase} [{bar}] {percentage}% | {value}/{total} {unit} | {rows} rows | ETA {eta_formatted}', hideCursor: true, etaBuffer: 20 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(p.total, 1), 0, { phase: p.phase, unit: p.unit, rows: 0 });
      }
      if (p.total > 0) bar.setTotal(p.total);
      bar.update(p.done, { phase: p.phase, unit: p.unit, rows: p.rows });
    },
    stop() {
      bar?.stop();
    },
  };
}
