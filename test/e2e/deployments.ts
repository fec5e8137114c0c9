import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Platform } from '../../src/roles/platform.ts';
import type { Deployment } from './platform.suite.ts';
import { start, tempDir, testConfig, until } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/tickline.js', import.meta.url));

/** Everything in this test process: the default embedded deployment. */
export async function embeddedDeployment(): Promise<Deployment> {
  const tmp = tempDir();
  const config = testConfig(tmp.dir);
  let p: Platform | undefined;
  let url = '';
  return {
    zonesDir: join(tmp.dir, 'zones'),
    apiDependencies: ['store', 'cache', 'bus', 'zones'],
    processMetricsUrls: () => [`${url}/metrics`],
    async start() {
      p = await start(config);
      url = p.url!;
      return url;
    },
    async stop() {
      await p?.stop();
      p = undefined;
    },
    async cleanup() {
      tmp.remove();
    },
  };
}

export interface RoleProcess {
  role: string;
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output(): string;
}

/** Starts `tickline start --roles <role>` as its own process; resolves with its HTTP URL from the banner. */
export async function spawnRole(role: string, env: Record<string, string>): Promise<RoleProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TICKLINE_')));
  const child = spawn(process.execPath, [BIN, 'start', '--roles', role], {
    env: { ...clean, TICKLINE_PORT: '0', TICKLINE_LOG_LEVEL: 'warn', TICKLINE_SIM_RATE: '0', TICKLINE_AUTH: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code, signal) => r(code ?? (signal ? 128 : null))));
  let dead = false;
  void exited.then(() => (dead = true));
  let url: string;
  try {
    url = await until(
      async () => {
        if (dead) throw new Error(`${role} exited during start:\n${out}`);
        return /(?:API|Probes)\s+(http:\/\/\S+?)(?:\/health)?\s/.exec(out)?.[1];
      },
      60_000,
      `${role} to start`,
    );
  } catch (err) {
    // A process that did not come up must not outlive the test (its pipes would keep the runner alive).
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}; output:\n${out}`, { cause: err });
  }
  return { role, child, url, exited, output: () => out };
}

export async function stopRole(p: RoleProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill(signal);
  return p.exited;
}

export interface SplitOptions {
  bus: string;
  store: string;
  cache: string;
  /** Extra environment for every role (e.g. a unique topic). */
  env?: Record<string, string>;
}

/** Three processes — ingest, process, api — sharing a bus, a store and a cache, as on three machines. */
export async function splitDeployment(o: SplitOptions): Promise<Deployment> {
  const tmp = tempDir('tickline-split-');
  const env = {
    TICKLINE_BUS: o.bus,
    TICKLINE_STORE: o.store,
    TICKLINE_CACHE: o.cache,
    TICKLINE_DATA_DIR: tmp.dir,
    TICKLINE_ZONES: `file://${join(tmp.dir, 'zones')}`,
    ...o.env,
  };
  let procs: RoleProcess[] = [];
  return {
    zonesDir: join(tmp.dir, 'zones'),
    apiDependencies: ['store', 'cache', 'bus'],
    processMetricsUrls: () => procs.filter((p) => p.role === 'process').map((p) => `${p.url}/metrics`),
    async start() {
      // The process role first: it creates the schema and joins the consumer group.
      const proc = await spawnRole('process', env);
      const [ingest, api] = await Promise.all([spawnRole('ingest', env), spawnRole('api', env)]);
      procs = [proc, ingest, api];
      return api.url;
    },
    async stop() {
      const order = ['api', 'ingest', 'process'];
      for (const role of order) {
        for (const p of procs.filter((x) => x.role === role)) {
          const code = await stopRole(p);
          if (code !== 0) throw new Error(`${role} exited with ${code}:\n${p.output()}`);
        }
      }
      procs = [];
    },
    async cleanup() {
      for (const p of procs) await stopRole(p, 'SIGKILL');
      tmp.remove();
    },
  };
}
