import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { describe } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createNatsBus } from '../../src/adapters/bus/nats.ts';
import { streamNameFor } from '../../src/adapters/bus/nats-config.ts';
import { silentLogger } from '../../src/core/log.ts';
import type { Bus } from '../../src/ports/bus.ts';
import { serviceUrl, skipUnless } from '../support/services.ts';
import { busConformance } from './bus.suite.ts';

const base = serviceUrl('NATS');

/** Drops a test topic's stream (its consumers go with it); lease keys expire by themselves. */
async function dropStream(topic: string): Promise<void> {
  const nc = await connect({ servers: new URL(base!).host });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(streamNameFor(topic, {})).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

describe('nats bus', { skip: skipUnless('NATS') }, () => {
  const run = randomBytes(4).toString('hex');
  let n = 0;
  busConformance(
    'nats',
    async () => {
      const topic = `tltest.conf${run}.t${++n}`;
      const url = new URL(`${base}?maxAge=1h`);
      const ctx = { dataDir: tmpdir(), logger: silentLogger(), batchMax: 512 };
      const bus = await createNatsBus(url, ctx);
      const peers: Bus[] = [];
      return {
        bus,
        topic,
        // A second, independent connection: what another replica of the process would have.
        peer: async () => {
          const p = await createNatsBus(url, ctx);
          peers.push(p);
          return p;
        },
        cleanup: async () => {
          await bus.close();
          await Promise.all(peers.map((p) => p.close()));
          await dropStream(topic);
        },
      };
    },
    { sharedGroups: true },
  );
});
