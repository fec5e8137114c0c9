/**
 * The live stream connection (`GET /v1/live`, Server-Sent Events) and its status for the indicator.
 *
 * `EventSource` reconnects by itself after a dropped connection. It gives up for good when the server
 * answers with an error status (for instance 401 once the session has ended); then this class asks
 * whether the session is still valid, and either hands over to the login or opens a new stream after a
 * backoff (1 s doubling to 30 s). A stream that is open but silent for 5 s (stats come every second) is
 * reported as `stale`: something between the server and the page is holding the events back.
 */
import { LIVE_EVENTS, parseLiveMessage, type LiveMessage } from './live-protocol.ts';

export type LiveStatus = 'connecting' | 'live' | 'stale' | 'reconnecting' | 'stopped';

export interface LiveFeedOptions {
  onMessage: (message: LiveMessage) => void;
  onStatus: (status: LiveStatus) => void;
  /** Whether the session is still valid; false stops the feed (the app shows the login). */
  sessionValid: () => Promise<boolean>;
  url?: string;
}

const STALE_AFTER_MS = 5000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

export class LiveFeed {
  #opts: LiveFeedOptions;
  #url: string;
  #es: EventSource | null = null;
  #symbol: string | null = null;
  #status: LiveStatus = 'stopped';
  #lastEventAt = 0;
  #retryMs = RETRY_MIN_MS;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #staleTimer: ReturnType<typeof setInterval> | null = null;

  constructor(opts: LiveFeedOptions) {
    this.#opts = opts;
    this.#url = opts.url ?? '/v1/live';
  }

  get status(): LiveStatus {
    return this.#status;
  }

  get symbol(): string | null {
    return this.#symbol;
  }

  /** Opens the stream; with a symbol it also carries that symbol's `ticks` events. */
  start(symbol: string | null = null): void {
    this.#symbol = symbol;
    this.#open();
    if (this.#staleTimer === null) this.#staleTimer = setInterval(() => this.#checkStale(), 1000);
  }

  /** Re-opens the stream for another symbol (or none); does nothing when it is already that one. */
  setSymbol(symbol: string | null): void {
    if (symbol === this.#symbol && this.#es !== null) return;
    this.#symbol = symbol;
    if (this.#status !== 'stopped') this.#open();
  }

  stop(): void {
    this.#close();
    if (this.#staleTimer !== null) clearInterval(this.#staleTimer);
    this.#staleTimer = null;
    this.#setStatus('stopped');
  }

  #open(): void {
    this.#close();
    const url = this.#symbol === null ? this.#url : `${this.#url}?symbol=${encodeURIComponent(this.#symbol)}`;
    const es = new EventSource(url);
    this.#es = es;
    this.#setStatus(this.#status === 'reconnecting' ? 'reconnecting' : 'connecting');
    es.onopen = () => {
      this.#retryMs = RETRY_MIN_MS;
      this.#lastEventAt = Date.now();
      this.#setStatus('live');
    };
    es.onerror = () => this.#onError(es);
    for (const name of [...LIVE_EVENTS, 'message']) {
      es.addEventListener(name, (e) => this.#onEvent(name, (e as MessageEvent<string>).data));
    }
  }

  #onEvent(name: string, data: string): void {
    this.#lastEventAt = Date.now();
    if (this.#status !== 'live') this.#setStatus('live');
    const msg = parseLiveMessage(name, data);
    if (msg !== null) this.#opts.onMessage(msg);
  }

  #onError(es: EventSource): void {
    if (es !== this.#es) return;
    this.#setStatus('reconnecting');
    if (es.readyState !== EventSource.CLOSED) return; // the browser is already retrying
    this.#close();
    void this.#opts.sessionValid().then(
      (valid) => (valid ? this.#retryLater() : this.stop()),
      () => this.#retryLater(), // the server is unreachable: keep trying
    );
  }

  #retryLater(): void {
    if (this.#status === 'stopped' || this.#retryTimer !== null) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#status !== 'stopped') this.#open();
    }, delay);
  }

  #checkStale(): void {
    if (this.#status === 'live' && Date.now() - this.#lastEventAt > STALE_AFTER_MS) this.#setStatus('stale');
  }

  #close(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#es?.close();
    this.#es = null;
  }

  #setStatus(status: LiveStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#opts.onStatus(status);
  }
}
