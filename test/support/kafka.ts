import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Admin, Producer } from '@platformatic/kafka';

/** `kafka://a:9092,b:9092?…` → the bootstrap list (`host:port`, default port 9092). */
export function kafkaBrokers(url: string): string[] {
  const authority = /^kafka:\/\/([^/?#]*)/i.exec(url)?.[1];
  if (!authority) throw new Error(`not a kafka:// URL: ${url}`);
  return authority.split(',').filter(Boolean).map((h) => (/:\d+$/.test(h) ? h : `${h}:9092`));
}

/** An admin client for test set-up and clean-up (close it when done). */
export function kafkaAdmin(url: string): Admin {
  return new Admin({ clientId: 'tickline-test-admin', bootstrapBrokers: kafkaBrokers(url), retries: 3, retryDelay: 200 });
}

/** A topic name no other test or run uses. */
export function uniqueTopic(prefix = 'tltest'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export async function createTopic(url: string, topic: string, partitions = 8): Promise<void> {
  const admin = kafkaAdmin(url);
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** Deletes topics (and consumer groups), ignoring ones already gone: clean-up must not fail a test. */
export async function deleteTopics(url: string, topics: string[], groups: string[] = []): Promise<void> {
  const admin = kafkaAdmin(url);
  try {
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** Produces raw records (for poison-message tests): value bytes as given, no Tickline encoding. */
export async function produceRaw(url: string, topic: string, records: Array<{ partition: number; value: Buffer; headers?: Record<string, string> }>): Promise<void> {
  const producer = new Producer({ clientId: 'tickline-test-raw', bootstrapBrokers: kafkaBrokers(url), retries: 3 });
  try {
    await producer.send({
      messages: records.map((r) => ({
        topic,
        partition: r.partition,
        value: r.value,
        headers: new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
      })),
    });
  } finally {
    await producer.close();
  }
}

const SCRIPT = fileURLToPath(new URL('../../deploy/kafka/kafka.sh', import.meta.url));

/** Runs `deploy/kafka/kafka.sh <cmd>` for the broker behind `url` (its port). For fault tests. */
export function kafkaScript(url: string, cmd: 'start' | 'stop' | 'restart' | 'status'): string {
  const port = kafkaBrokers(url)[0]!.split(':').at(-1)!;
  return execFileSync('bash', [SCRIPT, cmd], { encoding: 'utf8', env: { ...process.env, KAFKA_PORT: port }, timeout: 180_000 });
}
