/**
 * A minimal Server-Sent Events reader over node:http for load generation: it counts events by type and
 * bytes, hands each event to a callback, reconnects when the server drops it, and can stop reading
 * (pause) so the server sees a client that does not keep up.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import { TicklineError, show } from '../src/core/errors.ts';

export interface EventCounts {
  quotes: number;
  stats: number;
  ticks: number;
  other: number;
  bytes: number;
}

const zero = (): EventCounts => ({ quotes: 0, stats: 0, ticks: 0, other: 0, bytes: 0 });

/** Splits a byte stream into SSE events (`event:` name, joined `data:` lines); blocks with no data are skipped. */
export class SseParser {
  #buf = '';
  readonly #emit: (type: string, data: string) => void;

  constructor(emit: (type: string, data: string) => void) {
    this.#emit = emit;
  }

  push(chunk: string): void {
    this.#buf += chunk;
    let end: number;
    while ((end = this.#buf.indexOf('\n\n')) >= 0) {
      const block = this.#buf.slice(0, end);
      this.#buf = this.#buf.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
      if (data.length > 0) this.#emit(type, data.join('\n'));
    }
  }
}

export interface SseClientOptions {
  url: string;
  headers?: Record<string, string>;
  /** Called for every event, after it has been counted. */
  onEvent?: (type: string, data: string, client: SseClient) => void;
  /** Called with every chunk's size as it arrives (before parsing). */
  onBytes?: (bytes: number) => void;
  /** Delay before reconnecting after the server ended the stream. */
  reconnectMs?: number;
}

export class SseClient {
  readonly #opts: SseClientOptions;
  #req: ClientRequest | null = null;
  #res: IncomingMessage | null = null;
  #closing = false;
  #paused = false;
  /** Counts since the last `take()`. */
  #window: EventCounts = zero();
  /** Counts since the start. */
  readonly total: EventCounts = zero();
  /** Streams that ended or failed while the client still wanted them. */
  disconnects = 0;
  lastError: string | null = null;

  constructor(opts: SseClientOptions) {
    this.#opts = opts;
  }

  /** Connects; resolves once the server answered 200, rejects on another status or a network error. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const parser = new SseParser((type, data) => {
        const key = type === 'quotes' || type === 'stats' || type === 'ticks' ? type : 'other';
        this.#window[key]++;
        this.total[key]++;
        this.#opts.onEvent?.(type, data, this);
      });
      let answered = false;
      let ended = false;
      const lost = (why: string): void => {
        if (ended) return;
        ended = true;
        this.#lost(why);
      };
      const req = http.get(this.#opts.url, { headers: { accept: 'text/event-stream', ...this.#opts.headers } }, (res) => {
        answered = true;
        if (res.statusCode !== 200) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => reject(new TicklineError('TL_ERR_API_CLIENT', `GET ${this.#opts.url}: status ${res.statusCode}, body ${show(body)}`)));
          return;
        }
        this.#res = res;
        if (this.#paused) res.pause();
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const n = Buffer.byteLength(chunk);
          this.#window.bytes += n;
          this.total.bytes += n;
          this.#opts.onBytes?.(n);
          parser.push(chunk);
        });
        res.on('close', () => lost('the server ended the stream'));
        resolve();
      });
      req.on('error', (err) => {
        if (!answered) reject(err);
        else lost(err.message);
      });
      this.#req = req;
    });
  }

  #lost(why: string): void {
    if (this.#closing) return;
    this.#res = null;
    this.disconnects++;
    this.lastError = why;
    setTimeout(() => {
      if (!this.#closing) this.start().catch((err: unknown) => this.#lost(err instanceof Error ? err.message : String(err)));
    }, this.#opts.reconnectMs ?? 1000).unref();
  }

  /** The local and remote ports of the current connection (null when not connected). */
  get ports(): { local: number; remote: number } | null {
    const sock = this.#res?.socket;
    return sock?.localPort !== undefined && sock.remotePort !== undefined ? { local: sock.localPort, remote: sock.remotePort } : null;
  }

  /** Bytes that arrived but sit unread in this process's stream buffers (the response's and its socket's). */
  get bufferedBytes(): number {
    return (this.#res?.readableLength ?? 0) + (this.#res?.socket?.readableLength ?? 0);
  }

  /** Stops reading: the socket's buffers fill and the server sees a client that is not draining. */
  pause(): void {
    this.#paused = true;
    this.#res?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#res?.resume();
  }

  /** Counts since the previous call. */
  take(): EventCounts {
    const w = this.#window;
    this.#window = zero();
    return w;
  }

  close(): void {
    this.#closing = true;
    this.#req?.destroy();
    this.#res?.destroy();
  }
}
