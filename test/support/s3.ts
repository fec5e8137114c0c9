import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  store: S3rverStore;
}

/** An object as s3rver's store receives it: the request itself for a PUT, a stream of the parts for a multipart upload. */
interface S3rverObject {
  bucket: string;
  key: string;
  content: Readable | Buffer;
  metadata: Record<string, string>;
}

/** The part of s3rver's filesystem store replaced here. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverServer;

const require = createRequire(import.meta.url);

/** s3rver accepts only its built-in account; it checks the key id, not V4 signatures. */
export const S3_TEST_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;

/**
 * Gives s3rver S3's all-or-nothing PUT. s3rver streams a request body straight into the object's
 * file: the object is listed (and read) while it is being written, and a request cut short — a
 * client killed mid-upload — leaves a truncated object behind for good. S3 makes an object visible
 * only once its whole body has arrived. Here the body goes to a hidden file beside the object (s3rver
 * lists only names ending in `._S3rver_object`), and is renamed into place only when the request
 * arrived complete; otherwise the put fails and nothing changes. Multipart completion goes through
 * `putObject` too.
 */
function atomicPuts(store: S3rverStore): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    const incoming = `${objectPath}.incoming-${randomUUID()}`;
    await mkdir(dirname(objectPath), { recursive: true });
    const md5 = createHash('md5');
    let size = 0;
    try {
      const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            md5.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(incoming),
      );
      if (object.content instanceof IncomingMessage && !object.content.complete) {
        throw new Error(`PUT of ${object.key} ended after ${size} bytes, before the whole body arrived`);
      }
      const digest = md5.digest('hex');
      await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      await rename(incoming, objectPath);
      return { size, md5: digest };
    } catch (e) {
      await unlink(incoming).catch(() => {});
      throw e;
    }
  };
}

/**
 * Starts a local S3-compatible server (s3rver) on 127.0.0.1 with an ephemeral port, storing objects
 * in a fresh temp directory, with one empty bucket. PUTs are made atomic as on S3 (see `atomicPuts`).
 * Sets the fake credentials in this process's environment so the standard AWS credential chain finds
 * them. `stop` closes the server and deletes its directory.
 */
export async function startS3(): Promise<{ endpoint: string; bucket: string; stop(): Promise<void> }> {
  const S3rver = require('s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 'tickline-s3rver-'));
  const bucket = 'tickline-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  atomicPuts(server.store);
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
