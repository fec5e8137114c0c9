import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { SPEC } from '../../src/config/schema.ts';
import { parseRoles } from '../../src/roles/roles.ts';

/** No Docker engine runs here: the deployment files are checked for structure and for agreement with the code. */

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');
const ENV_NAMES = new Set(Object.values(SPEC).map((s) => s.env));
const SECRET_FILES = new Set(Object.values(SPEC).filter((s) => s.secret).map((s) => `${s.env}_FILE`));

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  image?: string;
  build?: string;
  ports?: string[];
}

test('docker-compose.yml runs the three roles over Kafka, Postgres and Redis with known settings only', () => {
  const doc = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; secrets: Record<string, { file: string }> };
  const services = doc.services;
  for (const s of ['ingest', 'process', 'api', 'kafka', 'postgres', 'redis']) assert.ok(services[s], `service ${s}`);
  const roles = new Set<string>();
  for (const name of ['ingest', 'process', 'api']) {
    const svc = services[name]!;
    assert.equal(svc.command?.[0], 'start');
    const i = svc.command!.indexOf('--roles');
    assert.ok(i > 0, `${name} names its roles`);
    for (const r of parseRoles(svc.command![i + 1]!)) roles.add(r);
    for (const key of Object.keys(svc.environment ?? {})) {
      if (!key.startsWith('TICKLINE_')) continue;
      assert.ok(ENV_NAMES.has(key) || SECRET_FILES.has(key), `${name}: ${key} is not a Tickline setting`);
    }
    const env = svc.environment!;
    assert.match(env.TICKLINE_BUS!, /^kafka:\/\/kafka:9092/);
    assert.match(env.TICKLINE_CACHE!, /^redis:\/\/redis:6379/);
    assert.ok(env.TICKLINE_STORE_FILE, 'the store URL (with its password) comes from a secret file');
    assert.ok(svc.secrets?.includes('tickline_store_url'));
    // Replicas share zones through the bucket, never through one local directory.
    assert.match(env.TICKLINE_ZONES!, /^s3:\/\/tickline\/zones\?endpoint=http:\/\/minio:9000/);
    assert.ok(svc.secrets?.includes('s3_credentials'), `${name} reads its S3 credentials from a secret file`);
  }
  assert.ok(services.minio && services['minio-bucket'], 'an S3-compatible store and its bucket');
  assert.deepEqual([...roles].sort(), ['api', 'ingest', 'process']);
  assert.ok(services.api!.ports?.some((p) => p.endsWith(':8000')));
  for (const s of Object.values(doc.secrets)) assert.ok(read(s.file.replace(/^\.\//, '')).length > 0);
  assert.doesNotMatch(read('docker-compose.yml'), /PASSWORD:\s*\S/, 'no inline passwords');
});

test('the Dockerfile is multi-stage, Node 24, non-root, and starts the tickline binary', () => {
  const df = read('Dockerfile');
  const froms = [...df.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
  assert.ok(froms.length >= 2, 'multi-stage');
  assert.ok(froms.every((f) => f.startsWith('node:24')), froms.join(', '));
  const user = /^USER\s+(\S+)/m.exec(df)?.[1];
  assert.ok(user && user !== 'root' && user !== '0', 'runs as a non-root user');
  assert.match(df, /^EXPOSE 8000$/m);
  assert.match(df, /ENTRYPOINT \["node", "bin\/tickline\.js"\]/);
  assert.match(df, /npm ci/);
  // Every path the image copies exists in the repository.
  for (const m of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const p of m[1]!.split(/\s+/)) assert.ok(existsSync(new URL(p, root)), `COPY source ${p}`);
  }
});
