/**
 * The NATS bus "ceiling": how fast JetStream itself moves exactly these ticks, encoded as the adapter
 * encodes them (codec v1) in 8192-tick batches, published with pipelined acks into a fresh file
 * stream and read back by an unacknowledged pull consumer, timed from the first publish to the last
 * message received. Encoding happens before the clock starts: this is the transport's rate.
 *
 * Run directly to compare the nats:// adapter (publish → handler, partitioned, acked in order) with
 * the ceiling on the same ticks:
 *   ./node_modules/.bin/node bench/nats-ceiling.ts [url=nats://127.0.0.1:4222] [ticks=1000000] [batch=8192] [inFlight=4]
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { encodeTicks } from '../src/adapters/bus/codec.ts';
import { createNatsBus } from '../src/adapters/bus/nats.ts';
import { streamNameFor } from '../src/adapters/bus/nats-config.ts';
import { silentLogger } from '../src/core/log.ts';
import type { Tick } from '../src/core/tick.ts';
import { makeTicks } from './fixtures.ts';

const CEILING_BATCH = 8192;

/** Ticks per second JetStream sustains for publishing and consuming `ticks` (stream setup excluded). */
export async function natsCeiling(url: string, ticks: Tick[]): Promise<number> {
  const u = new URL(url);
  const nc = await connect({ servers: u.host });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const name = `TL_CEILING_${randomBytes(4).toString('hex')}`;
  try {
    await jsm.streams.add({ name, subjects: [`${name}.*`], storage: StorageType.File });
    const payloads: Uint8Array[] = [];
    for (let off = 0; off < ticks.length; off += CEILING_BATCH) payloads.push(encodeTicks(ticks.slice(off, off + CEILING_BATCH)));
    await jsm.consumers.add(name, { durable_name: 'ceiling', ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const consumer = await js.consumers.get(name, 'ceiling');

    const t0 = performance.now();
    const received = (async () => {
      let n = 0;
      const messages = await consumer.consume({ max_bytes: 64 * 1024 * 1024 });
      for await (const _m of messages) {
        if (++n === payloads.length) break;
      }
    })();
    const inflight = new Set<Promise<unknown>>();
    for (const p of payloads) {
      const ack: Promise<unknown> = js.publish(`${name}.0`, p).then(() => inflight.delete(ack));
      inflight.add(ack);
      if (inflight.size >= 64) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    await received;
    return ticks.length / ((performance.now() - t0) / 1000);
  } finally {
    await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
  }
}


/** publish → handler through the adapter, `inFlight` publishes at once; ticks per second. */
export async function natsAdapterRate(url: string, ticks: Tick[], batch = 8192, inFlight = 4): Promise<number> {
  const topic = `tlbench.${randomBytes(4).toString('hex')}`;
  const bus = await createNatsBus(new URL(url), { dataDir: tmpdir(), logger: silentLogger(), batchMax: 8192 });
  try {
    let got = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    // The process stage's own setting (src/roles/platform.ts).
    const sub = await bus.subscribe(topic, async (b) => {
      got += b.length;
      if (got >= ticks.length) done();
    }, { group: 'bench', maxInFlight: 1024 });
    const t0 = performance.now();
    const running = new Set<Promise<void>>();
    for (let off = 0; off < ticks.length; off += batch) {
      const p: Promise<void> = bus.publish(topic, ticks.slice(off, off + batch)).then(() => void running.delete(p));
      running.add(p);
      if (running.size >= inFlight) await Promise.race(running);
    }
    await Promise.all(running);
    await all;
    const rate = ticks.length / ((performance.now() - t0) / 1000);
    await sub.stop();
    return rate;
  } finally {
    await bus.close();
    const nc = await connect({ servers: new URL(url).host });
    await (await jetstreamManager(nc)).streams.delete(streamNameFor(topic, {})).catch(() => undefined);
    await nc.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function compare(): Promise<void> {
  const [url = process.env.TICKLINE_TEST_NATS ?? 'nats://127.0.0.1:4222', nRaw, batchRaw, inFlightRaw, roundsRaw] = process.argv.slice(2);
  const n = Number(nRaw ?? 1_000_000);
  const batch = Number(batchRaw ?? 8192);
  const inFlight = Number(inFlightRaw ?? 4);
  const rounds = Number(roundsRaw ?? 3);
  const ticks = makeTicks(n);
  // Alternate the two so drift on a shared machine (disk, the server's other clients) hits both alike.
  const ceilings: number[] = [];
  const rates: number[] = [];
  let cpuCores = 0;
  for (let r = 0; r < rounds; r++) {
    ceilings.push(await natsCeiling(url, ticks));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    rates.push(await natsAdapterRate(url, ticks, batch, inFlight));
    const cpu = process.cpuUsage(cpu0);
    cpuCores += (cpu.user + cpu.system) / 1e6 / ((performance.now() - t0) / 1000) / rounds;
  }
  const ceiling = median(ceilings);
  const rate = median(rates);
  console.log(
    JSON.stringify({
      ticks: n,
      batch,
      inFlight,
      rounds,
      ceiling_ticks_per_s: Math.round(ceiling),
      adapter_ticks_per_s: Math.round(rate),
      ratio: Math.round((rate / ceiling) * 100) / 100,
      ceiling_runs: ceilings.map(Math.round),
      adapter_runs: rates.map(Math.round),
      adapter_process_cpu_cores: Math.round(cpuCores * 100) / 100,
    }),
  );
}

if (import.meta.main) await compare();
