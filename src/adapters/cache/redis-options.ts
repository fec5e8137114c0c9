import type { RedisOptions } from 'ioredis';
import { show, TicklineError } from '../../core/errors.ts';
import { redactUrl } from '../registry.ts';

/** What a `redis://` cache URL says, validated. */
export interface RedisCacheConfig {
  /** The URL with its password hidden, for messages and logs. */
  display: string;
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: boolean;
  /** Seconds every written key lives; 0 = no expiry. */
  ttlSeconds: number;
  /** Prepended to every key (not to the channel), so several deployments can share one Redis. */
  prefix: string;
  channel: string;
  /** Bound on one command, including time spent waiting for a reconnect, in ms. */
  timeoutMs: number;
  /** How long `createRedisCache` waits for the first connection, in ms. */
  connectTimeoutMs: number;
  /** `CLIENT SETNAME` of the command connection; the subscriber gets `<name>:sub`. */
  name: string;
}

export const DEFAULT_CHANNEL = 'tickline:latest';
const DEFAULT_TIMEOUT_MS = 2_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const PARAMS = ['ttl', 'prefix', 'channel', 'timeout', 'connect_timeout', 'name'] as const;

function bad(display: string, message: string): TicklineError {
  return new TicklineError('TL_ERR_CONFIG', `cache ${display}: ${message}`);
}

function intParam(url: URL, display: string, key: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw bad(display, `${key} must be an integer from ${min} to ${max}, got ${show(raw)}`);
  }
  return n;
}

/**
 * Reads `redis://[user][:password@]host[:port][/db]?ttl=300&prefix=&channel=tickline:latest&timeout=2000`
 * (`rediss://` for TLS). Unknown parameters are refused so a typo does not silently change nothing.
 */
export function parseRedisCacheUrl(url: URL): RedisCacheConfig {
  const display = redactUrl(url.href);
  for (const key of url.searchParams.keys()) {
    if (key === 'hosts') throw bad(display, 'several hosts are not supported (Redis Cluster and Sentinel are not implemented)');
    if (!(PARAMS as readonly string[]).includes(key)) {
      throw bad(display, `unknown parameter ${show(key)}; allowed: ${PARAMS.join(', ')}`);
    }
  }
  if (!url.hostname) throw bad(display, 'a host is required, e.g. redis://127.0.0.1:6379');
  const port = url.port === '' ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\/+/, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) throw bad(display, `the path must be a database number, got ${show(url.pathname)}`);
  const prefix = url.searchParams.get('prefix') ?? '';
  // `all()` reads quotes with SORT … GET <prefix>last_quote:*, where `*` and `->` in the pattern are special.
  if (prefix.includes('*') || prefix.includes('->')) throw bad(display, `prefix must not contain "*" or "->", got ${show(prefix)}`);
  const channel = url.searchParams.get('channel') ?? DEFAULT_CHANNEL;
  if (channel === '') throw bad(display, 'channel must not be empty');
  const name = url.searchParams.get('name') ?? 'tickline-cache';
  if (!/^[\w.:-]{1,100}$/.test(name)) throw bad(display, `name may only hold letters, digits and . _ : -, got ${show(name)}`);
  return {
    display,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: path === '' ? 0 : Number(path),
    tls: url.protocol === 'rediss:',
    ttlSeconds: intParam(url, display, 'ttl', 0, 0, 10 * 365 * 86_400),
    prefix,
    channel,
    timeoutMs: intParam(url, display, 'timeout', DEFAULT_TIMEOUT_MS, 1, 600_000),
    connectTimeoutMs: intParam(url, display, 'connect_timeout', DEFAULT_CONNECT_TIMEOUT_MS, 1, 600_000),
    name,
  };
}

/** Reconnect delay: 50 ms doubling to 5 s, with jitter so many clients do not reconnect in step. */
export function backoffMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt - 1, 20), 5_000) + Math.floor(Math.random() * 100);
}

/** How often idle connections are pinged: twice the command timeout, within 1-10 s. */
export function heartbeatMs(timeoutMs: number): number {
  return Math.min(10_000, Math.max(1_000, 2 * timeoutMs));
}

/**
 * The ioredis options for the command connection. During an outage commands wait in the offline queue
 * (so a put issued while a dropped connection is being re-established still lands), but never longer
 * than `timeoutMs`: `commandTimeout` rejects them, `socketTimeout` tears down a connection that stopped
 * answering (no TCP close, e.g. a network partition) so the reconnect starts, and `maxRetriesPerRequest`
 * flushes the queue every other failed attempt so a long outage does not pile commands up. Writes are
 * idempotent and monotonic (see redis-scripts.ts), so a timed-out put that ioredis still sends later
 * can never regress a newer quote.
 */
export function ioredisOptions(c: RedisCacheConfig, retryStrategy: (attempt: number) => number | null): RedisOptions {
  return {
    host: c.host,
    port: c.port,
    username: c.username,
    password: c.password,
    db: c.db,
    tls: c.tls ? { servername: c.host } : undefined,
    connectionName: c.name,
    connectTimeout: Math.max(c.timeoutMs, 1_000),
    commandTimeout: c.timeoutMs,
    socketTimeout: c.timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    autoResubscribe: true,
    retryStrategy,
    lazyConnect: false,
  };
}
