import { TicklineError } from '../core/errors.ts';

/**
 * A small client for the read commands: they ask a running Tickline's API rather than opening the
 * store, so they work against any deployment and never contend for the embedded DuckDB file.
 */
export async function apiGet<T>(base: string, path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw new TicklineError(
      'TL_ERR_API_CLIENT',
      `cannot reach the Tickline API at ${url.origin} (${(cause as Error).message}); start one with "tickline start" or pass --api`,
      { cause },
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) {
    const msg = typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : text.slice(0, 200);
    throw new TicklineError('TL_ERR_API_CLIENT', `${url.pathname} answered ${res.status}: ${msg}`, { details: body });
  }
  return body as T;
}
