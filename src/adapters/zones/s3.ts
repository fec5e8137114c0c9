import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TicklineError, show } from '../../core/errors.ts';
import type { AdapterContext } from '../registry.ts';
import { bool, zonesOptionsFromUrl, type StagedZonesOptions } from './options.ts';
import { S3Store, defaultRegion, type S3Location } from './s3-store.ts';
import { StagedZones } from './staged.ts';

const PREFIX_RE = /^[A-Za-z0-9._=-]+(?:\/[A-Za-z0-9._=-]+)*$/;

/**
 * `s3://bucket/prefix` zones: the same layout as `file://` under `<prefix>/`, in any S3-compatible
 * store. Files are staged and sealed locally under `<dataDir>/zones-staging/<hash>/` by the same
 * machinery as `file://`, then uploaded (one PUT, or a multipart upload for large files), and the
 * local copy is removed once the upload completed. Staged files a crash left behind are uploaded on
 * the next open; failed uploads are retried with backoff, and meanwhile `health()` says so.
 */
export class S3Zones extends StagedZones {
  readonly bucket: string;
  readonly prefix: string;

  private constructor(location: S3Location, staging: string, options: StagedZonesOptions) {
    super('s3', staging, new S3Store(location), options);
    this.bucket = location.bucket;
    this.prefix = location.prefix;
  }

  /**
   * Opens the zones, uploading what a crashed run left staged in `staging`. An unreachable bucket
   * does not stop the open (appends are staged locally and uploaded later); it is logged and
   * reported by `health()`.
   */
  static async open(location: S3Location, staging: string, options: StagedZonesOptions = {}): Promise<S3Zones> {
    const zones = new S3Zones(location, staging, options);
    await zones.start();
    const health = await zones.health();
    if (!health.ok) options.logger?.warn({ detail: health.detail }, 'zones bucket not usable yet; appends are staged locally');
    return zones;
  }
}

/**
 * Builds `s3://bucket/prefix[?endpoint=&region=&forcePathStyle=&…]` zones. Credentials come only from
 * the standard AWS chain; a URL carrying any is refused, so it never ends up in a config dump or log.
 */
export async function createS3Zones(url: URL, ctx: AdapterContext): Promise<S3Zones> {
  if (url.username !== '' || url.password !== '') {
    throw new TicklineError('TL_ERR_BAD_URL', 'zones: credentials do not belong in an s3:// URL; use the AWS credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, web identity)');
  }
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new TicklineError('TL_ERR_BAD_URL', `zones: ${show(bucket)} in ${show(url.href)} is not an S3 bucket name`);
  }
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && (!PREFIX_RE.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..'))) {
    throw new TicklineError('TL_ERR_BAD_URL', `zones: key prefix ${show(prefix)} in ${show(url.href)} must be [A-Za-z0-9._=-] segments joined by "/"`);
  }
  const { options, extra } = zonesOptionsFromUrl(url, ['endpoint', 'region', 'forcePathStyle']);
  const endpoint = extra.get('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/?#\s]+\/?$/.test(endpoint)) {
    throw new TicklineError('TL_ERR_CONFIG', `zones: endpoint must be a base URL like http://127.0.0.1:9000, got ${show(endpoint)}`);
  }
  const region = extra.get('region') || (await defaultRegion());
  // Custom endpoints are mostly single-host servers (MinIO, Ceph, s3rver) reached by IP or a name
  // without per-bucket DNS, so path-style addressing is the default there.
  const path = extra.get('forcePathStyle');
  const forcePathStyle = path === undefined ? endpoint !== undefined : bool('forcePathStyle', path);
  const location: S3Location = { bucket, prefix, endpoint, region, forcePathStyle };
  // One staging directory per destination: the same bucket and prefix reopen the same directory,
  // so what a crash left behind is uploaded, whatever the roll options are this time.
  const id = createHash('sha256').update(`${endpoint ?? 'aws'}\n${bucket}\n${prefix}`).digest('hex').slice(0, 16);
  return S3Zones.open(location, join(ctx.dataDir, 'zones-staging', id), { ...options, logger: ctx.logger, owner: ctx.owner !== false });
}
