import { TicklineError, show } from '../../core/errors.ts';
import type { Zones } from '../../ports/zones.ts';
import { Registry, urlPath } from '../registry.ts';
import { createFileZones } from './file.ts';
import { zonesOptionsFromUrl } from './options.ts';
import { createS3Zones } from './s3.ts';

/**
 * Zones adapters by URL scheme:
 * - `file://<dir>[?options]`
 * - `s3://<bucket>[/<prefix>][?endpoint=&region=&forcePathStyle=&options]`
 *
 * Options of both: rollBytes, rollMs, maxOpen, rawGzip, curatedGraceMs, compactAt, retainRaw,
 * retainCurated, retainQuarantine (see docs/zones.md).
 */
export const zonesRegistry = new Registry<Zones>('zones');

zonesRegistry.register('file', (url, ctx) => {
  const dir = urlPath(url);
  // `file://` parses as the filesystem root, which is never what was meant.
  if (dir === '' || dir === '/') {
    throw new TicklineError('TL_ERR_BAD_URL', `zones: ${show(url.href)} names no directory; use file://./dir or file:///abs/dir`);
  }
  const { options } = zonesOptionsFromUrl(url);
  return createFileZones(dir, { ...options, logger: ctx.logger, owner: ctx.owner !== false });
});

zonesRegistry.register('s3', (url, ctx) => createS3Zones(url, ctx));
