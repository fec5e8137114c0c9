/**
 * Measuring another process from the outside: CPU time and resident memory from /proc (Linux), and
 * figures from its Prometheus text at /metrics. Plus the small statistics the benchmarks report.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TicklineError, show } from '../src/core/errors.ts';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on every common Linux build). */
export const CLOCK_TICKS = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

export interface ProcReading {
  /** User + system CPU time, in seconds. */
  cpuSeconds: number;
  rssMb: number;
}

/** CPU time (fields 14 and 15 of /proc/<pid>/stat) and VmRSS of a live process. */
export function readProc(pid: number): ProcReading {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    throw new TicklineError('TL_ERR_UNAVAILABLE', `process ${show(pid)}: /proc cannot be read (${(err as Error).message}); is it still running, on Linux?`);
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!Number.isFinite(ticks) || !rss) throw new TicklineError('TL_ERR_UNAVAILABLE', `process ${show(pid)}: unexpected /proc format (stat ${show(stat)})`);
  return { cpuSeconds: ticks / CLOCK_TICKS, rssMb: Number(rss[1]) / 1024 };
}

/** Busy CPU time of the whole machine (all cores, from /proc/stat), in seconds: user, nice, system, irq, softirq, steal. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) / CLOCK_TICKS;
}

/**
 * Bytes the kernel holds on one loopback TCP connection, from /proc/net/tcp and /proc/net/tcp6: the
 * sender's send queue (written, not yet acknowledged) and the receiver's receive queue (arrived, not yet
 * read). `null` when the connection is not found.
 */
export function tcpQueues(senderPort: number, receiverPort: number): { sendQueue: number; receiveQueue: number } | null {
  let sendQueue: number | null = null;
  let receiveQueue: number | null = null;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5) continue;
      const local = parseInt(f[1]!.split(':')[1]!, 16);
      const remote = parseInt(f[2]!.split(':')[1]!, 16);
      const [tx, rx] = f[4]!.split(':').map((x) => parseInt(x, 16));
      if (local === senderPort && remote === receiverPort) sendQueue = tx!;
      if (local === receiverPort && remote === senderPort) receiveQueue = rx!;
    }
  }
  return sendQueue === null || receiveQueue === null ? null : { sendQueue, receiveQueue };
}

/** Sum of every series of `name` (all label sets) in a Prometheus text exposition; null when absent. */
export function promValue(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return NaN;
  const mx = mean(xs.slice(0, n));
  const my = mean(ys.slice(0, n));
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** Samples for quantiles, bounded: a reservoir, so memory stays flat however long the run. */
export class Reservoir {
  readonly #buf: Float64Array;
  #n = 0;
  constructor(size = 100_000) {
    this.#buf = new Float64Array(size);
  }
  get count(): number {
    return this.#n;
  }
  add(v: number): void {
    if (this.#n < this.#buf.length) this.#buf[this.#n++] = v;
    else {
      const j = Math.floor(Math.random() * ++this.#n);
      if (j < this.#buf.length) this.#buf[j] = v;
    }
  }
  quantile(q: number): number {
    const m = Math.min(this.#n, this.#buf.length);
    if (m === 0) return NaN;
    const s = this.#buf.slice(0, m).sort();
    return s[Math.min(m - 1, Math.floor(q * m))]!;
  }
}

/** Peak resident memory of this process in MB, sampled every 100 ms until `stop()`. */
export function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  return {
    stop() {
      clearInterval(t);
      return Math.round(Math.max(peak, process.memoryUsage.rss()) / 1024 / 1024);
    },
  };
}
