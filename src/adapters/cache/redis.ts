import { Redis } from 'ioredis';
import { TicklineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { Tick } from '../../core/tick.ts';
import { formatIsoMicros } from '../../core/time.ts';
import type { Cache } from '../../ports/cache.ts';
import type { Health } from '../../ports/health.ts';
import type { AdapterContext } from '../registry.ts';
import { decodeMessage, decodeQuoteText, encodeQuote, newestPerSymbol, unstorable } from './redis-codec.ts';
import { backoffMs, heartbeatMs, ioredisOptions, parseRedisCacheUrl, type RedisCacheConfig } from './redis-options.ts';
import { PRUNE_LUA, PUT_LUA } from './redis-scripts.ts';

/**
 * `redis://[user][:password@]host[:port][/db]?ttl=300&prefix=&channel=tickline:latest&timeout=2000`
 * (`rediss://` for TLS): the latest quote per symbol in Redis, shared by every process that uses the
 * same URL.
 *
 * Keys (with the optional prefix) are the seed systems' own, so their clients keep working:
 * `last_price:{SYMBOL}` holds the price as a plain number, `last_quote:{SYMBOL}` the full quote as JSON
 * (`tickToJson`, ISO µs timestamps), and the set `tickline:symbols` lists the symbols so `all()` never
 * scans. With `ttl`, every key expires that many seconds after its last write.
 *
 * A put is one EVALSHA whatever the number of ticks: the batch is first reduced to its newest tick per
 * symbol, then a script compares event times and writes, expires, indexes and publishes in one atomic
 * step (see redis-scripts.ts); only batches of more than SCRIPT_SYMBOLS distinct symbols take several.
 * Watchers share one subscriber connection on `channel`; each message is the JSON array of the quotes
 * one script call changed. During an outage calls fail with TL_ERR_UNAVAILABLE after at most
 * `timeout` ms; both connections reconnect with backoff and the subscriber resubscribes by itself.
 */
export async function createRedisCache(url: URL, ctx: AdapterContext): Promise<Cache> {
  const cache = new RedisCache(parseRedisCacheUrl(url), ctx);
  try {
    await cache.connected();
  } catch (err) {
    await cache.close();
    throw err;
  }
  return cache;
}

/**
 * Most symbols one script call writes (~15 ms of Redis time). Redis runs a script alone, so a
 * market-wide snapshot in one call would stall every other client and could outlast the command timeout
 * (then the pipeline's retry would fail the same way forever); larger batches become several calls, one
 * round trip each. Each symbol is still compared and set atomically, but such a batch is no longer
 * applied all-or-nothing and its watchers get one message per call.
 */
const SCRIPT_SYMBOLS = 1_000;

// Arrays, not spread arguments: ioredis flattens them, and spreading 100k values would overflow the stack.
type ScriptCommand = (numKeys: number, keys: string[], argv: Array<string | number>) => Promise<unknown>;

interface Watcher {
  onUpdate(ticks: Tick[]): void;
}

export class RedisCache implements Cache {
  readonly kind = 'redis';
  readonly config: RedisCacheConfig;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #client: Redis;
  #sub: Redis | null = null;
  readonly #watchers = new Set<Watcher>();
  #subscribed: Promise<unknown> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #lastError: string | undefined;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #setKey: string;
  readonly #quotePattern: string;

  constructor(config: RedisCacheConfig, ctx: AdapterContext) {
    this.config = config;
    this.#logger = ctx.logger.child({ component: 'cache', url: config.display });
    this.#metrics = ctx.metrics;
    this.#setKey = `${config.prefix}tickline:symbols`;
    this.#quotePattern = `${config.prefix}last_quote:*`;
    this.#client = new Redis(ioredisOptions(config, this.#retry('command')));
    this.#track(this.#client, 'command');
    this.#client.defineCommand('tlPut', { lua: PUT_LUA });
    this.#client.defineCommand('tlPrune', { lua: PRUNE_LUA });
    // A connection whose peer vanished without a TCP close (partition, NAT timeout) only notices when a
    // command goes unanswered; an idle subscriber never sends one, so it would wait for TCP keepalive
    // (minutes) while missing every update. A PING arms socketTimeout, which tears it down and reconnects.
    this.#heartbeat = setInterval(() => this.#ping(), heartbeatMs(config.timeoutMs));
    this.#heartbeat.unref();
  }

  /** Resolves once the command connection is ready; TL_ERR_UNAVAILABLE after `connect_timeout`. */
  async connected(): Promise<void> {
    if (this.#client.status === 'ready') return;
    const ms = this.config.connectTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#client.off('ready', onReady);
        reject(this.#unavailable(`not reachable within ${ms} ms`, this.#lastError));
      }, ms);
      this.#client.once('ready', onReady);
    });
  }

  async put(ticks: readonly Tick[]): Promise<void> {
    this.#assertOpen();
    if (ticks.length === 0) return;
    const latest = newestPerSymbol(ticks);
    for (const t of latest) {
      const problem = unstorable(t);
      if (problem !== undefined) throw new TicklineError('TL_ERR_BAD_TICK', `cache ${this.config.display}: ${problem}`);
    }
    if (latest.length <= SCRIPT_SYMBOLS) {
      await this.#call(`put of ${latest.length} symbol(s)`, () => this.#putScript(latest));
      return;
    }
    // One after the other, so each call gets the whole command timeout rather than queueing behind the rest.
    for (let i = 0; i < latest.length; i += SCRIPT_SYMBOLS) {
      const chunk = latest.slice(i, i + SCRIPT_SYMBOLS);
      await this.#call(`put of symbols ${i + 1}-${i + chunk.length} of ${latest.length}`, () => this.#putScript(chunk));
    }
  }

  async get(symbol: string): Promise<Tick | undefined> {
    this.#assertOpen();
    const raw = await this.#call(`get ${symbol}`, () => this.#client.get(`${this.config.prefix}last_quote:${symbol}`));
    if (raw === null) return undefined;
    return this.#decodeStored(symbol, raw);
  }

  async all(): Promise<Tick[]> {
    this.#assertOpen();
    // One command for the set and every quote: SORT … GET # GET last_quote:* pairs each member with its value.
    const rows = await this.#call('all', () => this.#client.call('SORT', this.#setKey, 'BY', 'nosort', 'GET', '#', 'GET', this.#quotePattern));
    if (!Array.isArray(rows)) throw this.#unavailable('all', 'SORT answered with something other than a list');
    const out: Tick[] = [];
    const expired: string[] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) {
      const symbol = String(rows[i]);
      const raw: unknown = rows[i + 1];
      if (raw === null || raw === undefined) {
        expired.push(symbol);
        continue;
      }
      const t = this.#decodeStored(symbol, String(raw));
      if (t) out.push(t);
    }
    if (expired.length > 0) this.#prune(expired);
    return out.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }

  async watch(onUpdate: (ticks: Tick[]) => void): Promise<() => Promise<void>> {
    this.#assertOpen();
    const sub = this.#subscriber();
    const w: Watcher = { onUpdate };
    this.#watchers.add(w);
    if (this.#watchers.size === 1) this.#subscribed = sub.subscribe(this.config.channel);
    try {
      await this.#call(`subscribe ${this.config.channel}`, () => this.#subscribed!);
    } catch (err) {
      this.#unwatch(w);
      throw err;
    }
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      this.#unwatch(w);
    };
  }

  async health(): Promise<Health> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    const down = (role: string, conn: Redis): Health => ({
      ok: false,
      detail: `${role} connection ${conn.status}${this.#lastError ? `: ${this.#lastError}` : ''}`,
    });
    if (this.#client.status !== 'ready') return down('command', this.#client);
    if (this.#sub && this.#watchers.size > 0 && this.#sub.status !== 'ready') return down('subscriber', this.#sub);
    try {
      await this.#call('ping', () => this.#client.ping());
      return { ok: true, detail: 'connected' };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#watchers.clear();
    const conns = this.#sub ? [this.#client, this.#sub] : [this.#client];
    this.#closing = Promise.all(conns.map((c) => this.#quit(c))).then(() => undefined);
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', `cache ${this.config.display} is closed`);
  }

  #script(name: 'tlPut' | 'tlPrune'): ScriptCommand {
    // defineCommand adds these at run time: EVALSHA, falling back to EVAL on NOSCRIPT (e.g. after SCRIPT FLUSH).
    return (this.#client as unknown as Record<string, ScriptCommand>)[name]!.bind(this.#client);
  }

  #putScript(latest: readonly Tick[]): Promise<unknown> {
    const keys: string[] = [this.#setKey];
    const argv: Array<string | number> = [this.config.ttlSeconds, this.config.channel];
    const p = this.config.prefix;
    for (const t of latest) {
      keys.push(`${p}last_price:${t.symbol}`, `${p}last_quote:${t.symbol}`);
      argv.push(t.symbol, formatIsoMicros(t.ts), String(t.price), encodeQuote(t));
    }
    return this.#script('tlPut')(keys.length, keys, argv);
  }

  /** Runs one Redis call, turning every failure into a TicklineError that names the URL and the call. */
  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', `cache ${this.config.display} is closed (${what})`, { cause: err });
      throw this.#unavailable(`${what} failed`, err instanceof Error ? err.message : String(err), err);
    }
  }

  #unavailable(what: string, reason: string | undefined, cause?: unknown): TicklineError {
    const msg = `cache ${this.config.display}: ${what}${reason ? `: ${reason}` : ''}`;
    return new TicklineError('TL_ERR_UNAVAILABLE', msg, cause === undefined ? undefined : { cause });
  }

  #decodeStored(symbol: string, raw: string): Tick | undefined {
    const t = decodeQuoteText(raw);
    const problem = typeof t === 'string' ? t : t.symbol !== symbol ? `holds symbol ${t.symbol}` : undefined;
    if (problem === undefined) return t as Tick;
    // Another writer (or a corrupt value) owns this key; the next put for the symbol replaces it.
    this.#logger.warn({ symbol, problem }, `ignoring unreadable ${this.config.prefix}last_quote:${symbol}`);
    return undefined;
  }

  #prune(symbols: string[]): void {
    const keys = [this.#setKey, ...symbols.map((s) => `${this.config.prefix}last_quote:${s}`)];
    this.#script('tlPrune')(keys.length, keys, symbols).catch((err: unknown) => {
      this.#logger.debug({ err }, 'pruning expired symbols failed; the next all() retries');
    });
  }

  #ping(): void {
    for (const conn of [this.#client, this.#sub]) {
      if (conn?.status === 'ready') conn.ping().catch(() => undefined);
    }
  }

  #subscriber(): Redis {
    if (this.#sub) return this.#sub;
    const sub = this.#client.duplicate({ connectionName: `${this.config.name}:sub`, retryStrategy: this.#retry('subscriber') });
    this.#track(sub, 'subscriber');
    sub.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    this.#sub = sub;
    return sub;
  }

  #unwatch(w: Watcher): void {
    if (!this.#watchers.delete(w) || this.#watchers.size > 0 || this.#closed || !this.#sub) return;
    this.#subscribed = null;
    this.#sub.unsubscribe(this.config.channel).catch((err: unknown) => {
      this.#logger.debug({ err }, 'unsubscribe failed; the connection is dropped at close');
    });
  }

  #onMessage(channel: string, message: string): void {
    if (channel !== this.config.channel || this.#watchers.size === 0) return;
    const { ticks, problems } = decodeMessage(message);
    if (problems.length > 0) {
      this.#logger.warn({ channel, problems: problems.slice(0, 5), count: problems.length }, 'ignored malformed quotes on the cache channel');
    }
    if (ticks.length === 0) return;
    for (const w of [...this.#watchers]) {
      try {
        w.onUpdate(ticks);
      } catch (err) {
        // A failing watcher must not take the subscriber connection (or the other watchers) down with it.
        this.#logger.error({ err }, 'cache watcher threw');
      }
    }
  }

  #retry(role: string): (attempt: number) => number | null {
    return (attempt) => {
      if (this.#closed) return null;
      const delay = backoffMs(attempt);
      this.#logger.warn({ role, attempt, delayMs: delay, err: this.#lastError }, `redis ${role} connection down; reconnecting in ${delay} ms`);
      return delay;
    };
  }

  #track(conn: Redis, role: string): void {
    let everReady = false;
    conn.on('error', (err: Error) => {
      this.#lastError = err.message;
      this.#logger.debug({ role, err: err.message }, 'redis connection error');
    });
    conn.on('ready', () => {
      if (everReady) {
        this.#metrics?.reconnects.inc({ dependency: 'cache' });
        this.#logger.info({ role }, `redis ${role} connection re-established`);
      }
      everReady = true;
      this.#lastError = undefined;
    });
  }

  async #quit(conn: Redis): Promise<void> {
    if (conn.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.config.timeoutMs);
      });
      try {
        await Promise.race([conn.quit(), timeout]);
      } catch {
        // Already gone: disconnect below is all that is left to do.
      } finally {
        clearTimeout(timer);
      }
    }
    conn.disconnect();
  }
}
