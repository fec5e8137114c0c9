import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Logger } from '../../src/core/log.ts';
import { Metrics } from '../../src/core/metrics.ts';
import type { AdapterContext } from '../../src/adapters/registry.ts';

/** Test helpers for the Redis cache suites (imported by tests only). */

export interface TestSpace {
  id: string;
  prefix: string;
  channel: string;
  name: string;
  /** The base URL with this space's prefix, channel and connection name, plus `extra` parameters. */
  url(extra?: Record<string, string>, base?: string): URL;
  /** A plain client, as a seed system or an operator would use. */
  raw(): Redis;
  cleanup(): Promise<void>;
}

export function testSpace(base: string): TestSpace {
  const id = randomBytes(4).toString('hex');
  const prefix = `tltest:${id}:`;
  const raws: Redis[] = [];
  return {
    id,
    prefix,
    channel: `tltest:${id}:latest`,
    name: `tltest-${id}`,
    url(extra = {}, over = base) {
      const u = new URL(over);
      u.searchParams.set('prefix', prefix);
      u.searchParams.set('channel', this.channel);
      u.searchParams.set('name', this.name);
      for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
      return u;
    },
    raw() {
      const r = new Redis(base, { maxRetriesPerRequest: 1 });
      raws.push(r);
      return r;
    },
    async cleanup() {
      const r = new Redis(base, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          if (keys.length > 0) await r.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        r.disconnect();
        for (const x of raws) x.disconnect();
      }
    },
  };
}

/** A logger that keeps its records, so tests can check what was logged. */
export function captureContext(): AdapterContext & { lines: Array<Record<string, unknown>>; metrics: Metrics } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger: Logger = pino({ level: 'debug' }, sink);
  return { dataDir: '.', logger, lines, metrics: new Metrics({ defaultMetrics: false }) };
}

/** The `CLIENT LIST` fields of the connection with this name. */
export async function clientNamed(raw: Redis, name: string): Promise<Record<string, string> | undefined> {
  const list = String(await raw.client('LIST'));
  for (const line of list.split('\n')) {
    const fields = Object.fromEntries(line.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    if (fields.name === name) return fields;
  }
  return undefined;
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 5_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function reconnectCount(m: Metrics): Promise<number> {
  const v = (await m.reconnects.get()).values.find((x) => x.labels.dependency === 'cache');
  return v?.value ?? 0;
}
