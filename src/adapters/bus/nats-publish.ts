import { JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers, nuid } from '@nats-io/transport-node';
import { TicklineError } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import { BUS_CONTENT_TYPE, encodeTicks } from './codec.ts';
import type { TopicStream } from './nats-stream.ts';
import { partitionOf } from './partition.ts';

export interface PublisherDeps {
  js: JetStreamClient;
  /** The server's max_payload (bytes); messages are split to stay under it. */
  maxPayload: number;
  /** How long one publish may wait through an outage. */
  timeoutMs: number;
  connected(): boolean;
  /** Resolves true once connected, or false after `ms`. */
  waitConnected(ms: number): Promise<boolean>;
  /** Nobody answered for the topic's subjects: the stream may have been deleted; find or create it again. */
  restream(topic: string): Promise<unknown>;
}

/** Messages of one publish call awaiting their JetStream acks at once (different partitions). */
const CONCURRENCY = 16;
/** Room left under max_payload for headers (content type, message id) and protocol framing. */
const HEADER_ROOM = 4096;
const PARTITION_CACHE_MAX = 100_000;

/** Errors where waiting and sending the same message again (same Nats-Msg-Id) can succeed. */
function retryable(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.status === 503 || err.status === 408;
  const name = (err as Error | undefined)?.name;
  return name === 'TimeoutError' || name === 'RequestError' || name === 'NoRespondersError' || name === 'JetStreamNotEnabled' || name === 'ConnectionError';
}

/** Splits a partition's ticks into encoded messages that each fit under `limit` bytes, in order. */
export function encodeChunks(ticks: readonly Tick[], limit: number): Uint8Array[] {
  const data = encodeTicks(ticks);
  if (data.byteLength <= limit || ticks.length === 1) return [data];
  const parts = Math.ceil(data.byteLength / limit) + 1;
  const per = Math.ceil(ticks.length / parts);
  const out: Uint8Array[] = [];
  for (let i = 0; i < ticks.length; i += per) out.push(...encodeChunks(ticks.slice(i, i + per), limit));
  return out;
}

/**
 * Sends a batch as one message per partition touched and resolves when JetStream acknowledged every
 * one (stored, replicated per the stream). Each message keeps one Nats-Msg-Id across its retries, so a
 * publish whose ack was lost in a disconnect and is sent again is stored once (duplicate window 2 min).
 * Chunks of one partition go one after the other, so a failure never stores a later chunk without the
 * earlier one; partitions go in parallel.
 */
export class NatsPublisher {
  readonly #d: PublisherDeps;
  readonly #partitionOf = new Map<string, number>();
  #cachedFor = 0;

  constructor(deps: PublisherDeps) {
    this.#d = deps;
  }

  async publish(topic: string, stream: TopicStream, ticks: readonly Tick[]): Promise<void> {
    const n = stream.partitions;
    if (n !== this.#cachedFor || this.#partitionOf.size > PARTITION_CACHE_MAX) {
      this.#partitionOf.clear();
      this.#cachedFor = n;
    }
    const groups: Array<Tick[] | undefined> = new Array(n);
    for (const t of ticks) {
      let p = this.#partitionOf.get(t.symbol);
      if (p === undefined) {
        p = partitionOf(t.symbol, n);
        this.#partitionOf.set(t.symbol, p);
      }
      (groups[p] ??= []).push(t);
    }
    const limit = Math.max(1024, this.#d.maxPayload - HEADER_ROOM);
    const jobs: Array<{ subject: string; chunks: Uint8Array[] }> = [];
    for (let p = 0; p < n; p++) {
      const g = groups[p];
      if (g) jobs.push({ subject: `${topic}.${p}`, chunks: encodeChunks(g, limit) });
    }
    const deadline = Date.now() + this.#d.timeoutMs;
    let next = 0;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        try {
          for (const chunk of job.chunks) await this.#send(topic, job.subject, chunk, deadline);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, jobs.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  async #send(topic: string, subject: string, data: Uint8Array, deadline: number): Promise<void> {
    const h = headers();
    h.set('content-type', BUS_CONTENT_TYPE);
    const msgID = nuid.next();
    let lastErr: unknown;
    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const why = lastErr ? (lastErr as Error).message : 'disconnected';
        throw new TicklineError('TL_ERR_UNAVAILABLE', `nats bus: publish to ${subject} not acknowledged within ${this.#d.timeoutMs} ms (${why})`, { cause: lastErr });
      }
      if (!this.#d.connected()) {
        await this.#d.waitConnected(left);
        continue;
      }
      try {
        await this.#d.js.publish(subject, data, { msgID, headers: h, timeout: Math.min(left, 5_000) });
        return;
      } catch (err) {
        lastErr = err;
        if (!retryable(err)) {
          throw new TicklineError('TL_ERR_UNAVAILABLE', `nats bus: publish to ${subject} failed: ${(err as Error).message}`, { cause: err });
        }
        const name = (err as Error).name;
        if ((name === 'JetStreamNotEnabled' || name === 'NoRespondersError') && this.#d.connected()) {
          await this.#d.restream(topic).catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 2_000, Math.max(0, deadline - Date.now()))));
      }
    }
  }
}
