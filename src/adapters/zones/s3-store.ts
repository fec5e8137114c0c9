import { createReadStream, createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { TicklineError } from '../../core/errors.ts';
import type { Health } from '../../ports/health.ts';
import type { ZoneStore } from './store.ts';
import { errText } from './writers.ts';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing "/"; empty for the bucket root. */
  prefix: string;
  /** An S3-compatible server's base URL; absent for AWS. */
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
}

/** Objects up to this size go up in one PUT; larger ones as a multipart upload of parts this size. */
const PART_BYTES = 8 * 1024 * 1024;
const DELETE_BATCH = 1000;
const HEALTH_TIMEOUT_MS = 5_000;

/**
 * A bucket (and key prefix) as the visible side of the zones. An object appears only when its PUT or
 * multipart upload completes, so readers never see part of a file. Credentials come from the standard
 * AWS chain (environment, profiles, web identity, instance roles) and never from the zones URL.
 */
export class S3Store implements ZoneStore {
  readonly where: string;
  readonly location: S3Location;
  readonly #config: S3ClientConfig;
  #client: S3Client | null = null;

  constructor(location: S3Location) {
    this.location = location;
    this.where = `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}`;
    this.#config = {
      region: location.region,
      forcePathStyle: location.forcePathStyle,
      ...(location.endpoint === undefined
        ? {}
        : {
            endpoint: location.endpoint,
            // Recent SDKs add CRC checksums to every upload, sending streamed bodies as `aws-chunked`
            // with a trailing checksum. Many S3-compatible servers predate that and store the chunk
            // framing as the object's bytes (s3rver 3.7 does), so with a custom endpoint checksums are
            // sent and checked only where the API requires them (e.g. DeleteObjects). AWS itself
            // keeps the SDK defaults.
            requestChecksumCalculation: 'WHEN_REQUIRED' as const,
            responseChecksumValidation: 'WHEN_REQUIRED' as const,
          }),
    };
  }

  localPath(): null {
    return null;
  }

  /**
   * One paged listing in key order starting after `after` (S3's StartAfter), stopped at `before`:
   * a time range costs requests in proportion to the files in it, not to the whole history.
   * (Delimiter listings would be the other way, but some S3-compatible servers, s3rver among them,
   * report common prefixes only one level deep.)
   */
  async *listKeys(prefix: string, after?: string, before?: string): AsyncGenerator<string[]> {
    const root = this.#key('');
    const input = { Bucket: this.location.bucket, Prefix: this.#key(prefix), ...(after === undefined ? {} : { StartAfter: this.#key(after) }) };
    for await (const page of paginateListObjectsV2({ client: this.#s3() }, input)) {
      const keys: string[] = [];
      for (const o of page.Contents ?? []) {
        const rel = o.Key?.slice(root.length);
        if (!rel) continue;
        if (before !== undefined && rel >= before) {
          if (keys.length > 0) yield keys;
          return;
        }
        if (!rel.split('/').some((s) => s.startsWith('.'))) keys.push(rel);
      }
      if (keys.length > 0) yield keys;
    }
  }

  /**
   * Skip-scan: each listing starts after everything of the children found so far ("~" sorts after
   * every character of zone keys), so it costs about one request per child however many files each
   * holds. Used for the few datasets of a zone.
   */
  async childDirs(prefix: string): Promise<string[]> {
    const base = this.#key(prefix);
    const out: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.#s3().send(
        new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: base, ...(cursor === undefined ? {} : { StartAfter: cursor }) }),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key!).filter(Boolean);
      let next = keys[keys.length - 1];
      for (const key of keys) {
        const rest = key.slice(base.length);
        const slash = rest.indexOf('/');
        if (slash < 0) continue;
        const name = rest.slice(0, slash);
        if (out[out.length - 1] !== name && !name.startsWith('.')) out.push(name);
        next = `${base}${name}/~`;
      }
      if (!page.IsTruncated || next === undefined) return out;
      cursor = next;
    }
  }

  async publish(localPath: string, key: string): Promise<void> {
    const upload = new Upload({
      client: this.#s3(),
      params: { Bucket: this.location.bucket, Key: this.#key(key), Body: createReadStream(localPath) },
      partSize: PART_BYTES,
      queueSize: 4,
      // A failed multipart upload is aborted, so no parts linger (s3:AbortMultipartUpload).
      leavePartsOnError: false,
    });
    await upload.done();
    await unlink(localPath);
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out = await this.#s3().send(
        new DeleteObjectsCommand({
          Bucket: this.location.bucket,
          Delete: { Objects: batch.map((k) => ({ Key: this.#key(k) })), Quiet: true },
        }),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new TicklineError('TL_ERR_ZONE', `zones: cannot delete ${failed.length} objects from ${this.where}, e.g. ${first.Key}: ${first.Code} ${first.Message}`);
      }
    }
  }

  async prune(): Promise<void> {
    // Object stores have no directories to remove.
  }

  async openRead(key: string): Promise<Readable> {
    const out = await this.#s3().send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.#key(key) }));
    if (!(out.Body instanceof Readable)) throw new TicklineError('TL_ERR_ZONE', `zones: ${this.where}/${key} has no readable body`);
    return out.Body;
  }

  async download(key: string, localPath: string): Promise<void> {
    await pipeline(await this.openRead(key), createWriteStream(localPath));
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.#s3().send(new PutObjectCommand({ Bucket: this.location.bucket, Key: this.#key(key), Body: body }));
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      const out = await this.#s3().send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.#key(key) }));
      return out.Body ? Buffer.from(await out.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') return null;
      throw e;
    }
  }

  /**
   * Lists zero keys of the prefix: it proves the bucket exists, answers and lets us list, and it is
   * allowed by a ListBucket grant limited to the prefix (HeadBucket, carrying no prefix, is not).
   */
  async health(): Promise<Health> {
    try {
      await this.#s3().send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.#key(''), MaxKeys: 0 }), {
        abortSignal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      });
      return { ok: true, detail: `${this.where} reachable` };
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      return { ok: false, detail: `${this.where} is not reachable: ${status === undefined ? errText(e) : `HTTP ${status} ${(e as Error).name}`}` };
    }
  }

  /** Releases the client's sockets. A later call (e.g. `list` after close) opens a new client. */
  async close(): Promise<void> {
    this.#client?.destroy();
    this.#client = null;
  }

  #s3(): S3Client {
    this.#client ??= new S3Client(this.#config);
    return this.#client;
  }

  #key(rel: string): string {
    return this.location.prefix ? `${this.location.prefix}/${rel}` : rel;
  }
}

/** The region from the standard chain (AWS_REGION, profiles), else `us-east-1`. */
export async function defaultRegion(): Promise<string> {
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}
