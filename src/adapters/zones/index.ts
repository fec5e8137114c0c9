import { TicklineError, show } from '../../core/errors.ts';
import type { Zones } from '../../ports/zones.ts';
import { Registry, urlPath } from '../registry.ts';
import { createFileZones, type FileZonesOptions } from './file.ts';

/** Zones adapters by URL scheme. `file://<dir>[?rollBytes=&rollMs=&maxOpen=]`. */
export const zonesRegistry = new Registry<Zones>('zones');

zonesRegistry.register('file', (url, ctx) => {
  const dir = urlPath(url);
  // `file://` parses as the filesystem root, which is never what was meant.
  if (dir === '' || dir === '/') {
    throw new TicklineError('TL_ERR_BAD_URL', `zones: ${show(url.href)} names no directory; use file://./dir or file:///abs/dir`);
  }
  const options: FileZonesOptions = { logger: ctx.logger };
  for (const [key, value] of url.searchParams) {
    if (key !== 'rollBytes' && key !== 'rollMs' && key !== 'maxOpen') {
      throw new TicklineError('TL_ERR_CONFIG', `zones: unknown option ${show(key)} in ${show(url.href)}; known: rollBytes, rollMs, maxOpen`);
    }
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new TicklineError('TL_ERR_CONFIG', `zones: ${key} must be a positive integer, got ${show(value)}`);
    }
    options[key] = n;
  }
  return createFileZones(dir, options);
});
