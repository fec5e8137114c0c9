import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { millis, nanos } from '@nats-io/transport-node';
import { TicklineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { describePartitions, partitionsFromDescription, streamNameFor } from './nats-config.ts';
import type { NatsBusConfig } from './nats-config.ts';

/** The stream carrying a topic, and the topic's partition count (as recorded on the stream). */
export interface TopicStream {
  name: string;
  partitions: number;
}

/** Publishes retried within this window after a timeout are dropped by the server as duplicates. */
const DUPLICATE_WINDOW_MS = 120_000;

/**
 * Finds or creates the stream of a topic (subjects `<topic>.*`). When `stream=` names one stream for
 * every topic, a new topic's subjects are added to it. The partition count is written in the stream's
 * description when it is created, and a process configured with another count is refused: two counts
 * on one topic would send a symbol to two partitions and break its order.
 */
export async function ensureStream(jsm: JetStreamManager, topic: string, cfg: NatsBusConfig, logger: Logger): Promise<TopicStream> {
  const name = streamNameFor(topic, cfg);
  const subject = `${topic}.*`;
  let si: StreamInfo | undefined;
  try {
    si = await jsm.streams.info(name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
  }
  if (!si) {
    try {
      await jsm.streams.add({
        name,
        subjects: [subject],
        description: describePartitions(cfg.partitions),
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_age: nanos(cfg.maxAgeMs),
        num_replicas: cfg.replicas,
        storage: cfg.storage === 'memory' ? StorageType.Memory : StorageType.File,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      });
      logger.info({ stream: name, subject, partitions: cfg.partitions, maxAgeMs: cfg.maxAgeMs }, 'nats bus: stream created');
      return { name, partitions: cfg.partitions };
    } catch (err) {
      // Created meanwhile by another process: fall through to checking it.
      si = await jsm.streams.info(name).catch(() => undefined);
      if (!si) {
        throw new TicklineError('TL_ERR_CONFIG', `nats bus: cannot create stream ${name} for subjects ${subject}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  const recorded = partitionsFromDescription(si.config.description);
  if (recorded !== undefined && recorded !== cfg.partitions) {
    throw new TicklineError(
      'TL_ERR_CONFIG',
      `nats bus: stream ${name} was created with partitions=${recorded} but this process is configured with partitions=${cfg.partitions}; a topic's partition count is fixed, use partitions=${recorded}`,
    );
  }
  const subjects = si.config.subjects ?? [];
  if (recorded === undefined || !subjects.includes(subject)) {
    // A stream made by hand (adopted: record our count) or shared by several topics (add this one).
    await jsm.streams.update(name, {
      ...si.config,
      subjects: subjects.includes(subject) ? subjects : [...subjects, subject],
      description: recorded === undefined ? describePartitions(cfg.partitions) : si.config.description,
    }).catch((err: unknown) => {
      throw new TicklineError('TL_ERR_CONFIG', `nats bus: cannot add subjects ${subject} to stream ${name}: ${(err as Error).message}`, { cause: err });
    });
  }
  if (millis(si.config.max_age) !== cfg.maxAgeMs) {
    logger.warn({ stream: name, maxAgeMs: millis(si.config.max_age), configured: cfg.maxAgeMs }, 'nats bus: stream exists with another maxAge; left as it is');
  }
  return { name, partitions: cfg.partitions };
}
