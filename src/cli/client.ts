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

export interface StreamProgress {
  phase: string;
  unit: string;
  done: number;
  total: number;
  rows: number;
}

/**
 * POSTs a long-running operation with `progress: true` and reads its NDJSON answer: progress lines go to
 * `onProgress`, the final `{"result": …}` line is returned and an `{"error": …}` line is thrown.
 * No overall timeout (a replay can take long); a dead connection ends the stream and says so.
 */
export async function apiPostStream<T>(base: string, path: string, body: Record<string, unknown>, onProgress: (p: StreamProgress) => void): Promise<T> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson, application/json' },
      body: JSON.stringify({ ...body, progress: true }),
    });
  } catch (cause) {
    throw new TicklineError('TL_ERR_API_CLIENT', `cannot reach the Tickline API at ${url.origin} (${(cause as Error).message}); start one with "tickline start" or pass --api`, { cause });
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let msg = text.slice(0, 300);
    try {
      const j = JSON.parse(text) as { message?: string };
      if (j.message) msg = j.message;
    } catch {
      // not JSON: keep the text
    }
    throw new TicklineError('TL_ERR_API_CLIENT', `${url.pathname} answered ${res.status}: ${msg}`);
  }
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line === '') continue;
      const msg = JSON.parse(line) as { progress?: StreamProgress; result?: T; error?: { code: string; message: string } };
      if (msg.progress) onProgress(msg.progress);
      else if (msg.error) throw new TicklineError('TL_ERR_API_CLIENT', `${url.pathname} failed: ${msg.error.message} (${msg.error.code})`, { details: msg.error });
      else if (msg.result !== undefined) return msg.result;
    }
  }
  throw new TicklineError('TL_ERR_API_CLIENT', `${url.pathname}: the answer ended before the operation finished (the server stopped?); it is safe to run again`);
}
