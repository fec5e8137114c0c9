/** Lock-out after repeated failures, per key (a username, a client address), in bounded memory. */
import { isIP } from 'node:net';

export interface FailureLimiterOptions {
  /** Failures within one window that lock the key (default 5). */
  maxFailures?: number;
  /** Length of the window, from the key's first failure (default 15 min). */
  windowMs?: number;
  /** Keys remembered at most (default 10 000); see `FailureLimiter` for what happens beyond. */
  maxKeys?: number;
  now?: () => number;
}

interface Window {
  start: number;
  failures: number;
}

/**
 * Counts failures per key in a fixed window that opens at the key's first failure. Once `maxFailures`
 * are counted the key is locked until the window closes; then it starts afresh.
 *
 * Memory is bounded by `maxKeys`. Windows are created in time order and never moved, so the Map's
 * insertion order is also expiry order: closed windows are dropped from the front, and when the map is
 * still full the window closest to its end is dropped. An attacker able to produce more than `maxKeys`
 * distinct keys within a window can therefore make the limiter forget a lock early; the default is far
 * above what one process sees from honest users in 15 minutes.
 */
export class FailureLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly maxKeys: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(options: FailureLimiterOptions = {}) {
    this.maxFailures = positive(options.maxFailures ?? 5, 'maxFailures');
    this.windowMs = positive(options.windowMs ?? 15 * 60_000, 'windowMs');
    this.maxKeys = positive(options.maxKeys ?? 10_000, 'maxKeys');
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds until `key` may try again; 0 when it is not locked. */
  retryAfterMs(key: string): number {
    const w = this.#live(key);
    if (!w || w.failures < this.maxFailures) return 0;
    return w.start + this.windowMs - this.#now();
  }

  /** Counts one failure; returns true when this failure locked the key. */
  fail(key: string): boolean {
    let w = this.#live(key);
    if (!w) {
      this.#makeRoom();
      w = { start: this.#now(), failures: 0 };
      this.#windows.set(key, w);
    }
    w.failures++;
    return w.failures === this.maxFailures;
  }

  /** Takes back one counted failure of `key` (an attempt counted in advance that succeeded). */
  forgive(key: string): void {
    const w = this.#live(key);
    if (w && w.failures > 0) w.failures--;
  }

  /** Forgets the failures of `key` (after a success). */
  reset(key: string): void {
    this.#windows.delete(key);
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.#windows.size;
  }

  #live(key: string): Window | undefined {
    const w = this.#windows.get(key);
    if (w && this.#now() >= w.start + this.windowMs) {
      this.#windows.delete(key);
      return undefined;
    }
    return w;
  }

  #makeRoom(): void {
    if (this.#windows.size < this.maxKeys) return;
    const now = this.#now();
    for (const [key, w] of this.#windows) {
      if (now < w.start + this.windowMs) break;
      this.#windows.delete(key);
    }
    if (this.#windows.size >= this.maxKeys) {
      const oldest = this.#windows.keys().next();
      if (!oldest.done) this.#windows.delete(oldest.value);
    }
  }
}

function positive(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`FailureLimiter: ${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * The limiter key of a client address. IPv6 clients usually own a whole /64, so they are counted per /64
 * (otherwise one client could rotate through 2^64 addresses); IPv4-mapped IPv6 counts as the IPv4 address.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) !== 6) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, as lower-case hex without leading zeros. */
function expandIPv6(ip: string): string[] {
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  const groups = (part: string): string[] => {
    if (part === '') return [];
    const out: string[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        // A trailing dotted IPv4 part stands for the last two groups.
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
        out.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
      } else out.push(parseInt(g, 16).toString(16));
    }
    return out;
  };
  const [head, tail] = bare.split('::') as [string, string | undefined];
  const left = groups(head);
  if (tail === undefined) return left;
  const right = groups(tail);
  return [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
}
