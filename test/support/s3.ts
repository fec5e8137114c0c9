import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverServer;

const require = createRequire(import.meta.url);

/** s3rver accepts only its built-in account; it checks the key id, not V4 signatures. */
export const S3_TEST_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;

/**
 * Starts a local S3-compatible server (s3rver) on 127.0.0.1 with an ephemeral port, storing objects
 * in a fresh temp directory, with one empty bucket. Sets the fake credentials in this process's
 * environment so the standard AWS credential chain finds them. `stop` closes the server and deletes
 * its directory.
 */
export async function startS3(): Promise<{ endpoint: string; bucket: string; stop(): Promise<void> }> {
  const S3rver = require('s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 'tickline-s3rver-'));
  const bucket = 'tickline-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (e) {
    await rm(directory, { recursive: true, force: true });
    throw e;
  }
  Object.assign(process.env, S3_TEST_CREDENTIALS);
  let stopped: Promise<void> | null = null;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    stop() {
      stopped ??= server.close().finally(() => rm(directory, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** A client for the test server, for checks done behind the adapter's back. */
export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3_TEST_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: S3_TEST_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Downloads every object under `prefix/` into `dir`, keeping the key layout below the prefix; returns the keys. */
export async function downloadPrefix(endpoint: string, bucket: string, prefix: string, dir: string): Promise<string[]> {
  const client = testS3Client(endpoint);
  const keys: string[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: `${prefix}/` })) {
      for (const o of page.Contents ?? []) {
        const rel = o.Key!.slice(prefix.length + 1);
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
        await mkdir(dirname(join(dir, rel)), { recursive: true });
        await writeFile(join(dir, rel), await out.Body!.transformToByteArray());
        keys.push(rel);
      }
    }
  } finally {
    client.destroy();
  }
  return keys.sort();
}
