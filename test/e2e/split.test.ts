import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { streamNameFor } from '../../src/adapters/bus/nats-config.ts';
import { serviceUrl } from '../support/services.ts';
import { splitDeployment } from './deployments.ts';
import { platformSuite } from './platform.suite.ts';

/**
 * The same end-to-end suite as the embedded one, with ingest, process and api as three processes over
 * real engines: once over Kafka, once over NATS JetStream, both with Postgres and Redis.
 */

const PG = serviceUrl('POSTGRES');
const REDIS = serviceUrl('REDIS');
const schemas: string[] = [];
const topics: string[] = [];

function missing(...names: Array<'KAFKA' | 'NATS' | 'POSTGRES' | 'REDIS'>): string | false {
  const unset = names.filter((n) => !serviceUrl(n)).map((n) => `TICKLINE_TEST_${n}`);
  return unset.length > 0 ? `${unset.join(', ')} not set: start the services and export them to run this suite` : false;
}

function isolated(bus: string) {
  const id = randomBytes(4).toString('hex');
  const schema = `e2e_${id}`;
  schemas.push(schema);
  return splitDeployment({
    bus,
    store: `${PG}${PG!.includes('?') ? '&' : '?'}schema=${schema}`,
    cache: `${REDIS}${REDIS!.includes('?') ? '&' : '?'}prefix=e2e_${id}:&channel=e2e_${id}`,
    env: { TICKLINE_TOPIC: `e2e.${id}` },
  }).then((d) => {
    topics.push(`e2e.${id}`);
    return d;
  });
}

after(async () => {
  // JetStream keeps streams (and their consumers) until deleted.
  const nats = serviceUrl('NATS');
  if (nats && topics.length > 0) {
    const nc = await connect({ servers: nats.replace(/^nats:\/\//, '') });
    const jsm = await jetstreamManager(nc);
    for (const t of topics) await jsm.streams.delete(streamNameFor(t, {})).catch(() => undefined);
    await nc.close();
  }
  if (!PG || schemas.length === 0) return;
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await c.end();
});

platformSuite('split into ingest, process, api over Kafka + Postgres + Redis', async () => isolated(serviceUrl('KAFKA')!), {
  skip: missing('KAFKA', 'POSTGRES', 'REDIS'),
});

platformSuite('split into ingest, process, api over NATS JetStream + Postgres + Redis', async () => isolated(serviceUrl('NATS')!), {
  skip: missing('NATS', 'POSTGRES', 'REDIS'),
});
