import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';

/** The Kafka protocol error ids found anywhere in an error from @platformatic/kafka (nested errors, causes). */
export function kafkaErrorIds(err: unknown): Set<string> {
  const ids = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): void => {
    if (!e || typeof e !== 'object' || seen.has(e) || depth > 8) return;
    seen.add(e);
    const o = e as { apiId?: unknown; errors?: unknown; cause?: unknown };
    if (typeof o.apiId === 'string') ids.add(o.apiId);
    if (Array.isArray(o.errors)) for (const x of o.errors) walk(x, depth + 1);
    walk(o.cause, depth + 1);
  };
  walk(err, 0);
  return ids;
}

/** Errors no retry can fix: the request itself is wrong or not allowed. */
const PERMANENT = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'INVALID_REQUIRED_ACKS',
  'POLICY_VIOLATION',
]);

export function isPermanent(err: unknown): boolean {
  for (const id of kafkaErrorIds(err)) if (PERMANENT.has(id)) return true;
  return false;
}

/** Errors after which an idempotent producer's sequence numbers cannot be trusted any more. */
const PRODUCER_STATE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'DUPLICATE_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

export function breaksProducerState(err: unknown): boolean {
  for (const id of kafkaErrorIds(err)) if (PRODUCER_STATE.has(id)) return true;
  return false;
}

/** One line for a log or a health detail: the library nests the real reason a few levels deep. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): void => {
    if (!e || typeof e !== 'object' || seen.has(e) || depth > 6 || parts.length >= 3) return;
    seen.add(e);
    const o = e as { message?: unknown; errors?: unknown; cause?: unknown; apiId?: unknown };
    const msg = typeof o.apiId === 'string' ? o.apiId : typeof o.message === 'string' ? o.message : '';
    const nested = Array.isArray(o.errors) && o.errors.length > 0;
    // Wrapper messages ("produce failed 3 times.") say less than what they wrap.
    if (msg && !nested && !parts.includes(msg)) parts.push(msg);
    if (nested) walk((o.errors as unknown[]).at(-1), depth + 1);
    walk(o.cause, depth + 1);
    if (nested && parts.length === 0 && msg) parts.push(msg);
  };
  walk(err, 0);
  return parts.join(': ') || String(err);
}

/** Exponential backoff with jitter: attempt 1 → ~base, doubling up to `max`. */
export function backoff(attempt: number, base = 100, max = 5_000): number {
  const d = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(d * (0.75 + Math.random() * 0.5));
}

/** A wake-up signal: `wait(ms)` resolves on the next `notify()` or after `ms`, whichever comes first. */
export class Signal {
  #waiters: Array<() => void> = [];

  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#waiters.push(done);
    });
  }

  notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** Resolves with the promise's value, or rejects with `onTimeout()` after `ms`. The promise is not cancelled. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Whether the broker is usable, as seen by the parts of one bus (producer, each consumer). A part that
 * fails marks itself down; its next success marks it up again, which counts one reconnect.
 */
export class Liveness {
  readonly #down = new Map<string, { since: number; detail: string; attempts: number }>();
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;

  constructor(logger: Logger, metrics: Metrics | undefined) {
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** Records a failure of `part`; logs every attempt at warn level. Returns the attempt number. */
  down(part: string, err: unknown, action: string): number {
    const detail = describeError(err);
    const cur = this.#down.get(part);
    const attempts = (cur?.attempts ?? 0) + 1;
    this.#down.set(part, { since: cur?.since ?? Date.now(), detail, attempts });
    this.#logger.warn({ part, attempt: attempts, err: detail }, `kafka bus: ${part} failed (${detail}); ${action}`);
    return attempts;
  }

  up(part: string): void {
    const cur = this.#down.get(part);
    if (!cur) return;
    this.#down.delete(part);
    this.#metrics?.reconnects.inc({ dependency: 'bus' });
    this.#logger.info({ part, downMs: Date.now() - cur.since, attempts: cur.attempts }, `kafka bus: ${part} recovered`);
  }

  forget(part: string): void {
    this.#down.delete(part);
  }

  /** The first part that is down, as a health detail, or undefined when all are up. */
  problem(): string | undefined {
    for (const [part, d] of this.#down) return `${part} failing for ${Math.round((Date.now() - d.since) / 1000)}s: ${d.detail}`;
    return undefined;
  }
}
