import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { describe } from 'node:test';
import { createKafkaBus } from '../../src/adapters/bus/kafka.ts';
import { silentLogger } from '../../src/core/log.ts';
import type { Bus } from '../../src/ports/bus.ts';
import { deleteTopics } from '../support/kafka.ts';
import { serviceUrl, skipUnless } from '../support/services.ts';
import { busConformance } from './bus.suite.ts';

const base = serviceUrl('KAFKA');
/** Fast group changes for tests: a member notices a rebalance within a heartbeat (see docs/buses.md). */
const PARAMS = 'partitions=8&sessionTimeoutMs=6000&heartbeatMs=200&rebalanceTimeoutMs=10000&retryMs=20&lagIntervalMs=1000';

describe('kafka bus', { skip: skipUnless('KAFKA') }, () => {
  const run = randomBytes(4).toString('hex');
  let n = 0;
  busConformance(
    'kafka',
    async () => {
      const topic = `tltest-conf-${run}-t${++n}`;
      // The suite's group names are fixed (g1, shared…): a per-run prefix keeps parallel runs apart.
      const url = new URL(`${base}${base!.includes('?') ? '&' : '?'}${PARAMS}&groupPrefix=tltest-${run}-`);
      const ctx = { dataDir: tmpdir(), logger: silentLogger(), batchMax: 512 };
      const bus = await createKafkaBus(url, ctx);
      const peers: Bus[] = [];
      return {
        bus,
        topic,
        // A second, independent client: what another replica of the process would have.
        peer: async () => {
          const p = await createKafkaBus(url, ctx);
          peers.push(p);
          return p;
        },
        cleanup: async () => {
          await bus.close();
          await Promise.all(peers.map((p) => p.close()));
          await deleteTopics(base!, [topic], ['g1', 'g2', 'g3', 'g4', 'shared'].map((g) => `tltest-${run}-${g}`));
        },
      };
    },
    { sharedGroups: true },
  );
});
