import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { SimSource } from '../../src/sources/sim.ts';
import { serviceUrl } from '../support/services.ts';
import { spawnRole, stopRole, type RoleProcess } from './deployments.ts';
import { tempDir, until } from './helpers.ts';

/**
 * Fault tests, bounded in time, 127.0.0.1 only: a simulated feed publishes a known number of ticks
 * through Kafka into Postgres (and Redis) while things break. At the end every published tick is in the
 * store exactly once, checked by count, by identity and by a checksum of the prices the seeded feed made.
 */

const PG = serviceUrl('POSTGRES');
const REDIS = serviceUrl('REDIS');
const KAFKA = serviceUrl('KAFKA');
const unset = (['KAFKA', 'POSTGRES', 'REDIS'] as const).filter((n) => !serviceUrl(n)).map((n) => `TICKLINE_TEST_${n}`);
const skip = unset.length > 0 ? `${unset.join(', ')} not set: start the services and export them to run the fault tests` : false;

const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'BTC-USD', 'ETH-USD'];
const RATE = 1_500; // per symbol: 12,000 ticks/s in all
const SEED = 7;
const repo = new URL('../../', import.meta.url);

/** The prices the seeded feed publishes, summed per symbol (cents, to stay exact). */
function expectedChecksum(n: number): Map<string, number> {
  const sim = new SimSource({ symbols: SYMBOLS, rate: RATE, seed: SEED, badFraction: 0, batchMax: 8192, intervalMs: 1 });
  const sums = new Map<string, number>();
  for (const t of sim.generate(n, 0, 1)) sums.set(t.symbol, (sums.get(t.symbol) ?? 0) + Math.round(t.price * 100));
  return sums;
}

async function storeState(c: pg.Client, schema: string) {
  const r = await c.query<{ n: string; ids: string; symbol: string; cents: string }>(
    `SELECT symbol, count(*) AS n, count(DISTINCT (provider, symbol, ts, seq)) AS ids, sum(round(price * 100)) AS cents
       FROM ${schema}.ticks GROUP BY symbol`,
  );
  const total = r.rows.reduce((a, x) => a + Number(x.n), 0);
  const distinct = r.rows.reduce((a, x) => a + Number(x.ids), 0);
  return { total, distinct, cents: new Map(r.rows.map((x) => [x.symbol, Number(x.cents)])) };
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'inherit', timeout: 180_000, cwd: repo });
}

function restartPostgres(): void {
  const version = readdirSync('/etc/postgresql')[0]!;
  run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart']);
}

function restartRedis(): void {
  try {
    run('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'shutdown', 'nosave']);
  } catch {
    // redis-cli reports the closed connection of a successful shutdown as an error.
  }
  run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no', '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log']);
}

describe('faults: Kafka → Postgres + Redis', { skip }, () => {
  const schemas: string[] = [];
  const procs: RoleProcess[] = [];
  const tmps: Array<{ remove(): void }> = [];
  let db: pg.Client | undefined;

  after(async () => {
    for (const p of procs) await stopRole(p, 'SIGKILL');
    if (db) {
      for (const s of schemas) await db.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
      await db.end();
    }
    for (const t of tmps) t.remove();
  });

  async function setup(n: number) {
    const id = randomBytes(4).toString('hex');
    const schema = `fault_${id}`;
    schemas.push(schema);
    const tmp = tempDir('tickline-fault-');
    tmps.push(tmp);
    if (!db) {
      db = new pg.Client({ connectionString: PG });
      await db.connect();
    }
    const env = {
      // A killed member leaves the group after the session timeout: keep it short so the restart is quick.
      TICKLINE_BUS: `${KAFKA}${KAFKA!.includes('?') ? '&' : '?'}sessionTimeoutMs=6000&heartbeatMs=1000`,
      TICKLINE_STORE: `${PG}${PG!.includes('?') ? '&' : '?'}schema=${schema}`,
      TICKLINE_CACHE: `${REDIS}${REDIS!.includes('?') ? '&' : '?'}prefix=${schema}:`,
      TICKLINE_ZONES: `file://${join(tmp.dir, 'zones')}`,
      TICKLINE_DATA_DIR: tmp.dir,
      TICKLINE_TOPIC: `fault.${id}`,
      TICKLINE_SIM_SEED: String(SEED),
      TICKLINE_SYMBOLS: SYMBOLS.join(','),
    };
    const ingestEnv = { ...env, TICKLINE_SIM_RATE: String(RATE), TICKLINE_SIM_LIMIT: String(n) };
    return { schema, env, ingestEnv };
  }

  async function settle(schema: string, n: number) {
    await until(async () => (await storeState(db!, schema)).total >= n, 120_000, `${n} ticks in the store`);
    await new Promise((r) => setTimeout(r, 1_000)); // anything beyond n would be a duplicate: give it time to show
    const s = await storeState(db!, schema);
    assert.equal(s.total, n, 'every published tick is stored');
    assert.equal(s.distinct, n, 'no tick is stored twice');
    assert.deepEqual(Object.fromEntries([...s.cents].sort()), Object.fromEntries([...expectedChecksum(n)].sort()), 'prices match the seeded feed');
  }

  test('kill -9 of the process role mid-stream: every tick stored exactly once after a restart', async () => {
    const n = 60_000;
    const { schema, env, ingestEnv } = await setup(n);
    let proc = await spawnRole('process', env);
    procs.push(proc);
    const ingest = await spawnRole('ingest', ingestEnv);
    procs.push(ingest);
    await until(async () => (await storeState(db!, schema).catch(() => ({ total: 0 }))).total > 5_000, 60_000, 'the first ticks stored');
    proc.child.kill('SIGKILL');
    await proc.exited;
    const partial = (await storeState(db!, schema)).total;
    assert.ok(partial < n, `killed mid-stream (${partial} of ${n} stored)`);
    proc = await spawnRole('process', env);
    procs.push(proc);
    await settle(schema, n);
    assert.equal(await stopRole(ingest), 0);
    assert.equal(await stopRole(proc), 0);
  });

  test('a store that stays broken does not hold SIGTERM forever: the stop gives up after its grace period', async () => {
    const n = 200_000;
    const { schema, env, ingestEnv } = await setup(n);
    const proc = await spawnRole('process', { ...env, TICKLINE_STOP_GRACE_MS: '2000' });
    procs.push(proc);
    const ingest = await spawnRole('ingest', ingestEnv);
    procs.push(ingest);
    await until(async () => (await storeState(db!, schema).catch(() => ({ total: 0 }))).total > 1_000, 60_000, 'the first ticks stored');
    // The store's tables vanish for good: every write now fails and is retried.
    await db!.query(`DROP SCHEMA ${schema} CASCADE`);
    await until(async () => /store write failed/.test(proc.output()), 30_000, 'a failing store write');
    const t0 = Date.now();
    const code = await Promise.race([stopRole(proc), new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))]);
    assert.notEqual(code, 'still running', `the process role did not exit within 20 s of SIGTERM:\n${proc.output().slice(-2000)}`);
    assert.ok(Date.now() - t0 >= 1_500, 'it retried for its grace period first');
    assert.match(proc.output(), /giving up on unwritten batches/);
    await stopRole(ingest, 'SIGKILL');
  });

  test('Redis, Postgres and the Kafka broker restart during a run: the pipeline resumes and nothing is lost', async () => {
    const n = 150_000;
    const { schema, env, ingestEnv } = await setup(n);
    const proc = await spawnRole('process', env);
    procs.push(proc);
    const ingest = await spawnRole('ingest', ingestEnv);
    procs.push(ingest);
    await until(async () => (await storeState(db!, schema).catch(() => ({ total: 0 }))).total > 5_000, 60_000, 'the first ticks stored');
    restartRedis();
    await new Promise((r) => setTimeout(r, 1_500));
    await db!.end().catch(() => undefined);
    db = undefined;
    restartPostgres();
    db = new pg.Client({ connectionString: PG });
    await until(async () => db!.connect().then(() => true, () => false), 30_000, 'postgres back');
    await new Promise((r) => setTimeout(r, 1_500));
    run('bash', ['deploy/kafka/kafka.sh', 'restart']);
    await settle(schema, n);
    // The latest price reached Redis again after its restart.
    const health = (await (await fetch(`${proc.url}/ready`)).json()) as { ready: boolean };
    assert.equal(health.ready, true, 'every dependency is usable again');
    assert.equal(await stopRole(ingest), 0);
    assert.equal(await stopRole(proc), 0);
  });
});
