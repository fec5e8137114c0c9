import { TicklineError } from '../../core/errors.ts';
import { redactUrl, urlHosts } from '../registry.ts';
import { murmur2 } from './partition.ts';

/**
 * Settings of a `nats://` bus, from its URL:
 *
 *   nats://[user:pass@]host:port[,host2:port]?stream=NAME&partitions=16&maxAge=7d&replicas=1
 *
 * | parameter        | default            | meaning                                                              |
 * |------------------|--------------------|----------------------------------------------------------------------|
 * | `stream`         | per topic          | one JetStream stream for every topic; default `TICKLINE_<TOPIC>`     |
 * | `partitions`     | 16                 | subjects `<topic>.0` … `<topic>.<n-1>`; fixed once the stream exists |
 * | `maxAge`         | 7d                 | retention (limits policy): older messages are dropped, read or not   |
 * | `replicas`       | 1                  | stream replicas (a clustered server is needed above 1)               |
 * | `storage`        | file               | `file` or `memory`                                                   |
 * | `maxAckPending`  | 64                 | messages handed out and not yet acknowledged, per partition          |
 * | `ackWait`        | 30s                | a message not acknowledged (nor kept alive) by then is redelivered   |
 * | `publishTimeout` | 30s                | how long a publish waits through an outage before TL_ERR_UNAVAILABLE |
 * | `connectTimeout` | 30s                | how long startup retries the first connection                        |
 * | `leaseBucket`    | `tickline_leases`  | the key-value bucket where group members claim partitions            |
 * | `leaseTtl`       | 10s                | a dead member's partitions are taken over after this (bucket-wide, set when the bucket is created) |
 *
 * A username without a password is sent as a token. Durations take `ms`, `s`, `m`, `h` or `d`.
 */
export interface NatsBusConfig {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  stream?: string;
  partitions: number;
  maxAgeMs: number;
  replicas: number;
  storage: 'file' | 'memory';
  maxAckPending: number;
  ackWaitMs: number;
  publishTimeoutMs: number;
  connectTimeoutMs: number;
  leaseBucket: string;
  leaseTtlMs: number;
  /** For logs and errors: the URL without its password. */
  display: string;
}

const KNOWN = new Set([
  'hosts', 'stream', 'partitions', 'maxAge', 'replicas', 'storage', 'maxAckPending', 'ackWait',
  'publishTimeout', 'connectTimeout', 'leaseBucket', 'leaseTtl',
]);

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `7d`, `30s`, `1500ms`, or a bare number of milliseconds. */
export function parseDuration(name: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new TicklineError('TL_ERR_CONFIG', `nats bus: ${name}=${JSON.stringify(value)} is not a duration like 30s, 5m or 7d`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

function intParam(url: URL, name: string, def: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TicklineError('TL_ERR_CONFIG', `nats bus: ${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function durationParam(url: URL, name: string, def: string, minMs: number): number {
  const ms = parseDuration(name, url.searchParams.get(name) ?? def);
  if (ms < minMs) throw new TicklineError('TL_ERR_CONFIG', `nats bus: ${name} must be at least ${minMs} ms`);
  return ms;
}

export function parseNatsUrl(url: URL): NatsBusConfig {
  const display = redactUrl(url.href);
  for (const key of url.searchParams.keys()) {
    if (!KNOWN.has(key)) {
      throw new TicklineError('TL_ERR_CONFIG', `nats bus: unknown parameter "${key}" in ${display}; known: ${[...KNOWN].filter((k) => k !== 'hosts').join(', ')}`);
    }
  }
  const servers = urlHosts(url).map((h) => h.trim()).filter(Boolean);
  if (servers.length === 0) throw new TicklineError('TL_ERR_CONFIG', `nats bus: no server in ${display}`);
  const stream = url.searchParams.get('stream') ?? undefined;
  if (stream !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(stream)) {
    throw new TicklineError('TL_ERR_CONFIG', `nats bus: stream=${JSON.stringify(stream)} must be 1-64 letters, digits, "_" or "-"`);
  }
  const leaseBucket = url.searchParams.get('leaseBucket') ?? 'tickline_leases';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(leaseBucket)) {
    throw new TicklineError('TL_ERR_CONFIG', `nats bus: leaseBucket=${JSON.stringify(leaseBucket)} must be 1-64 letters, digits, "_" or "-"`);
  }
  const storage = url.searchParams.get('storage') ?? 'file';
  if (storage !== 'file' && storage !== 'memory') {
    throw new TicklineError('TL_ERR_CONFIG', `nats bus: storage=${JSON.stringify(storage)} must be "file" or "memory"`);
  }
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  const pass = url.password ? decodeURIComponent(url.password) : undefined;
  const cfg: NatsBusConfig = {
    servers,
    ...(user !== undefined && pass !== undefined ? { user, pass } : user !== undefined ? { token: user } : {}),
    ...(stream !== undefined ? { stream } : {}),
    partitions: intParam(url, 'partitions', 16, 1, 1024),
    maxAgeMs: durationParam(url, 'maxAge', '7d', 1000),
    replicas: intParam(url, 'replicas', 1, 1, 5),
    storage,
    maxAckPending: intParam(url, 'maxAckPending', 64, 1, 10_000),
    ackWaitMs: durationParam(url, 'ackWait', '30s', 1000),
    publishTimeoutMs: durationParam(url, 'publishTimeout', '30s', 100),
    connectTimeoutMs: durationParam(url, 'connectTimeout', '30s', 100),
    leaseBucket,
    leaseTtlMs: durationParam(url, 'leaseTtl', '10s', 1000),
    display,
  };
  return cfg;
}

const TOPIC_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Topics become subject prefixes: dot-separated tokens without wildcards or spaces. */
export function checkTopic(topic: string): void {
  if (topic.length > 200 || !TOPIC_RE.test(topic)) {
    throw new TicklineError('TL_ERR_CONFIG', `nats bus: topic ${JSON.stringify(topic)} must be dot-separated tokens of letters, digits, "_" or "-" (at most 200 characters)`);
  }
}

export function streamNameFor(topic: string, cfg: Pick<NatsBusConfig, 'stream'>): string {
  return cfg.stream ?? `TICKLINE_${topic.toUpperCase().replace(/[^A-Z0-9_-]/g, '_')}`.slice(0, 200);
}

/**
 * A name part safe in a consumer name and as one subject token. Anything outside `[A-Za-z0-9_-]` is
 * replaced, and then a hash of the original is appended so `a.b` and `a_b` stay distinct.
 */
export function nameToken(s: string): string {
  const safe = s.replace(/[^A-Za-z0-9_-]/g, '_');
  if (safe === s && s.length > 0 && s.length <= 48) return s;
  const h = (murmur2(new TextEncoder().encode(s)) >>> 0).toString(36);
  return `${safe.slice(0, 40)}-${h}`;
}

/** The stream's description records the partition count, so every process of a topic agrees on it. */
export function describePartitions(n: number): string {
  return `tickline bus; partitions=${n}`;
}

export function partitionsFromDescription(desc: string | undefined): number | undefined {
  const m = /partitions=(\d+)/.exec(desc ?? '');
  return m ? Number(m[1]) : undefined;
}
