import { TicklineError } from '../../core/errors.ts';
import { redactUrl, urlHosts } from '../registry.ts';

/**
 * Settings of a `kafka://` bus, from its URL:
 *
 *   kafka://host:port[,host2:port]?partitions=8&retentionMs=604800000&replication=1&clientId=tickline
 *
 * | parameter            | default     | meaning                                                                  |
 * |----------------------|-------------|--------------------------------------------------------------------------|
 * | `partitions`         | 8           | partitions of a topic Tickline creates (an existing topic keeps its own) |
 * | `retentionMs`        | 604800000   | `retention.ms` of a created topic: 7 days, read or not                   |
 * | `replication`        | 1           | replication factor of a created topic                                    |
 * | `clientId`           | tickline    | Kafka client id (broker logs, quotas)                                    |
 * | `groupPrefix`        | (none)      | prepended to every consumer group name (isolates deployments or tests)   |
 * | `sessionTimeoutMs`   | 30000       | a consumer silent this long is dropped from its group                    |
 * | `heartbeatMs`        | 1000        | group heartbeat; also how fast a member notices a rebalance              |
 * | `rebalanceTimeoutMs` | 30000       | how long the coordinator waits for members to rejoin                     |
 * | `publishTimeoutMs`   | 30000       | how long a publish waits through an outage before TL_ERR_UNAVAILABLE     |
 * | `requestTimeoutMs`   | 15000       | one request to a broker                                                  |
 * | `connectTimeoutMs`   | 3000        | one connection attempt                                                   |
 * | `maxMessageBytes`    | 900000      | encoded sub-batches are split below this (broker limit is ~1 MB)         |
 * | `fetchMaxWaitMs`     | 500         | long-poll of one fetch                                                   |
 * | `retryMs`            | 200         | first delay before a rejected batch is handed to the handler again       |
 * | `closeDrainMs`       | 10000       | how long `close()` waits for local consumers to catch up                 |
 * | `lagIntervalMs`      | 5000        | how often consumer lag is measured                                       |
 * | `joinTimeoutMs`      | 30000       | how long `subscribe` waits for its first group assignment                |
 */
export interface KafkaBusConfig {
  brokers: string[];
  partitions: number;
  retentionMs: number;
  replication: number;
  clientId: string;
  groupPrefix: string;
  sessionTimeoutMs: number;
  heartbeatMs: number;
  rebalanceTimeoutMs: number;
  publishTimeoutMs: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  maxMessageBytes: number;
  fetchMaxWaitMs: number;
  retryMs: number;
  closeDrainMs: number;
  lagIntervalMs: number;
  joinTimeoutMs: number;
  /** For logs and errors. */
  display: string;
}

type NumKey = Exclude<keyof KafkaBusConfig, 'brokers' | 'clientId' | 'groupPrefix' | 'display'>;

const NUMBERS: Record<NumKey, { def: number; min: number; max: number }> = {
  partitions: { def: 8, min: 1, max: 10_000 },
  retentionMs: { def: 7 * 86_400_000, min: 60_000, max: Number.MAX_SAFE_INTEGER },
  replication: { def: 1, min: 1, max: 32 },
  sessionTimeoutMs: { def: 30_000, min: 1_000, max: 1_800_000 },
  heartbeatMs: { def: 1_000, min: 50, max: 60_000 },
  rebalanceTimeoutMs: { def: 30_000, min: 1_000, max: 1_800_000 },
  publishTimeoutMs: { def: 30_000, min: 100, max: 3_600_000 },
  requestTimeoutMs: { def: 15_000, min: 500, max: 600_000 },
  connectTimeoutMs: { def: 3_000, min: 100, max: 600_000 },
  maxMessageBytes: { def: 900_000, min: 16_384, max: 100_000_000 },
  fetchMaxWaitMs: { def: 500, min: 10, max: 30_000 },
  retryMs: { def: 200, min: 1, max: 60_000 },
  closeDrainMs: { def: 10_000, min: 0, max: 600_000 },
  lagIntervalMs: { def: 5_000, min: 100, max: 3_600_000 },
  joinTimeoutMs: { def: 30_000, min: 100, max: 3_600_000 },
};

const KNOWN = new Set(['hosts', 'clientId', 'groupPrefix', ...Object.keys(NUMBERS)]);

export function parseKafkaUrl(url: URL): KafkaBusConfig {
  const display = redactUrl(url.href);
  if (url.username || url.password) {
    throw new TicklineError('TL_ERR_CONFIG', `kafka bus: credentials in ${display} are not supported (SASL/TLS is not implemented); use a PLAINTEXT listener`);
  }
  for (const key of url.searchParams.keys()) {
    if (!KNOWN.has(key)) {
      throw new TicklineError('TL_ERR_CONFIG', `kafka bus: unknown parameter "${key}" in ${display}; known: ${[...KNOWN].filter((k) => k !== 'hosts').join(', ')}`);
    }
  }
  const brokers = urlHosts(url).map((h) => (/:\d+$/.test(h) ? h : `${h}:9092`));
  if (brokers.length === 0 || brokers.some((h) => h.startsWith(':'))) {
    throw new TicklineError('TL_ERR_CONFIG', `kafka bus: ${display} names no broker (kafka://host:port)`);
  }
  const nums = {} as Record<NumKey, number>;
  for (const [name, spec] of Object.entries(NUMBERS) as Array<[NumKey, { def: number; min: number; max: number }]>) {
    const raw = url.searchParams.get(name);
    if (raw === null) {
      nums[name] = spec.def;
      continue;
    }
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < spec.min || n > spec.max) {
      throw new TicklineError('TL_ERR_CONFIG', `kafka bus: ${name}=${JSON.stringify(raw)} must be an integer from ${spec.min} to ${spec.max}`);
    }
    nums[name] = n;
  }
  if (nums.heartbeatMs * 3 > nums.sessionTimeoutMs) {
    throw new TicklineError('TL_ERR_CONFIG', `kafka bus: heartbeatMs=${nums.heartbeatMs} must be at most a third of sessionTimeoutMs=${nums.sessionTimeoutMs}`);
  }
  const clientId = url.searchParams.get('clientId') ?? 'tickline';
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(clientId)) {
    throw new TicklineError('TL_ERR_CONFIG', `kafka bus: clientId=${JSON.stringify(clientId)} may only use letters, digits, ".", "_" and "-"`);
  }
  const groupPrefix = url.searchParams.get('groupPrefix') ?? '';
  if (!/^[A-Za-z0-9._-]{0,100}$/.test(groupPrefix)) {
    throw new TicklineError('TL_ERR_CONFIG', `kafka bus: groupPrefix=${JSON.stringify(groupPrefix)} may only use letters, digits, ".", "_" and "-"`);
  }
  return { brokers, clientId, groupPrefix, display, ...nums };
}

/** Kafka's own rule for topic names; checked before any request so the error names the bad value. */
export function checkTopicName(topic: string): void {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') {
    throw new TicklineError('TL_ERR_CONFIG', `kafka bus: topic ${JSON.stringify(topic)} is not a valid Kafka topic name (1-249 of A-Z a-z 0-9 . _ -)`);
  }
}
