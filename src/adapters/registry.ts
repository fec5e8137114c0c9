import { TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';

/** What every adapter factory receives besides its URL. */
export interface AdapterContext {
  /** Directory for local state (`TICKLINE_DATA_DIR`). */
  dataDir: string;
  logger: Logger;
  /** Sizing hints from the configuration, used when the URL does not say. */
  busCapacity?: number;
  batchMax?: number;
  /** The process's metrics, for adapters that count their own events (reconnects, bad messages). */
  metrics?: Metrics;
  /**
   * False when this process does not own the adapter's local state (an `api` role beside a `process`
   * role on one zones directory): it must not treat the owner's work in progress as crash leftovers.
   */
  owner?: boolean;
}

export type AdapterFactory<T> = (url: URL, ctx: AdapterContext) => Promise<T> | T;

/**
 * One registry per port: maps a URL scheme (`memory`, `duckdb`, `kafka`, …) to the factory that builds
 * the adapter. A scheme can be registered once; an unknown scheme fails listing the known ones.
 */
export class Registry<T> {
  readonly port: string;
  readonly #factories = new Map<string, AdapterFactory<T>>();

  constructor(port: string) {
    this.port = port;
  }

  register(scheme: string, factory: AdapterFactory<T>): this {
    if (this.#factories.has(scheme)) {
      throw new TicklineError('TL_ERR_DUPLICATE_SCHEME', `${this.port}: scheme "${scheme}://" is already registered`);
    }
    this.#factories.set(scheme, factory);
    return this;
  }

  schemes(): string[] {
    return [...this.#factories.keys()].sort();
  }

  has(scheme: string): boolean {
    return this.#factories.has(scheme);
  }

  async create(rawUrl: string, ctx: AdapterContext): Promise<T> {
    const url = parseAdapterUrl(rawUrl, this.port);
    const scheme = url.protocol.slice(0, -1);
    const factory = this.#factories.get(scheme);
    if (!factory) {
      throw new TicklineError(
        'TL_ERR_UNKNOWN_SCHEME',
        `${this.port}: unknown scheme "${scheme}://" in ${redactUrl(rawUrl)}; known: ${this.schemes().map((s) => `${s}://`).join(', ')}`,
      );
    }
    return factory(url, ctx);
  }
}

/**
 * Parses an adapter URL. Multi-host authorities (`kafka://a:9092,b:9092`) are not valid for WHATWG URL,
 * so the extra hosts are moved into a `hosts` query parameter that adapters read with `urlHosts`.
 */
export function parseAdapterUrl(rawUrl: string, port: string): URL {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i.exec(rawUrl);
  if (!m) {
    throw new TicklineError('TL_ERR_BAD_URL', `${port}: ${redactUrl(rawUrl)} is not a URL like scheme://host/path`);
  }
  const [, scheme, authority, rest] = m;
  let text = rawUrl;
  const hostPart = authority!.includes('@') ? authority!.slice(authority!.lastIndexOf('@') + 1) : authority!;
  if (hostPart.includes(',')) {
    const userinfo = authority!.includes('@') ? authority!.slice(0, authority!.lastIndexOf('@') + 1) : '';
    const hosts = hostPart.split(',');
    const sep = rest!.includes('?') ? '&' : '?';
    text = `${scheme}://${userinfo}${hosts[0]}${rest}${sep}hosts=${encodeURIComponent(hosts.join(','))}`;
  }
  try {
    return new URL(text);
  } catch (cause) {
    throw new TicklineError('TL_ERR_BAD_URL', `${port}: cannot parse ${redactUrl(rawUrl)}`, { cause });
  }
}

/** Every `host:port` of an adapter URL, including those moved to `?hosts=`. */
export function urlHosts(url: URL): string[] {
  const list = url.searchParams.get('hosts');
  return list ? list.split(',').filter(Boolean) : [url.host];
}

/** Hides the password of a URL so it can be logged or printed. */
export function redactUrl(rawUrl: string): string {
  return rawUrl.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** Resolves a file path from a `file://`/`duckdb://` URL: `scheme:///abs`, `scheme://./rel`, `scheme://rel`. */
export function urlPath(url: URL): string {
  const host = decodeURIComponent(url.host);
  const path = decodeURIComponent(url.pathname);
  if (!host) return path;
  return `${host}${path}`;
}
