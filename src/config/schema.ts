/**
 * Every configuration key Tickline reads, in one table: its environment variable, its default, how it is
 * parsed and what it means. `tickline config --help`, the README table and validation all come from here.
 */

/** The validated configuration. Frozen once loaded. */
export interface ConfigValues {
  port: number;
  host: string;
  dataDir: string;
  bus: string;
  store: string;
  cache: string;
  zones: string;
  symbols: string[];
  simRate: number;
  simSeed: number;
  simBadFraction: number;
  simLimit: number;
  topic: string;
  batchMax: number;
  batchLingerMs: number;
  busCapacity: number;
  qualitySuite: string;
  stopGraceMs: number;
  qualityRunSeconds: number;
  logLevel: (typeof LOG_LEVELS)[number];
  apiUrl: string;
  roles: string;
  ingestMaxBytes: number;
  quiet: boolean;
  auth: boolean;
  authStore: string;
  adminPassword: string;
  apiKey: string;
  tlsCert: string;
  tlsKey: string;
  trustProxy: boolean;
  pollJobsStore: string;
  streams: string;
  yahooUrl: string;
  alphavantageUrl: string;
  alphavantageKey: string;
  coingeckoUrl: string;
  coingeckoKey: string;
  coingeckoPlan: '' | 'public' | 'demo' | 'pro';
  coinbaseUrl: string;
  coinbaseWsUrl: string;
}

export interface KeySpec<T> {
  env: string;
  /** The default, or a function of the keys resolved before it (e.g. paths under the data dir). */
  default: T | ((c: Partial<ConfigValues>) => T);
  parse: (raw: unknown) => T | { error: string };
  doc: string;
  /** Printed as `***` by `tickline config` and never logged. */
  secret?: boolean;
}

function int(min: number, max: number) {
  return (raw: unknown): number | { error: string } => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) return { error: `an integer from ${min} to ${max}` };
    return n;
  };
}

function num(min: number, max: number) {
  return (raw: unknown): number | { error: string } => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) return { error: `a number from ${min} to ${max}` };
    return n;
  };
}

function str(re: RegExp, allowed: string) {
  return (raw: unknown): string | { error: string } => {
    if (typeof raw !== 'string' || !re.test(raw)) return { error: allowed };
    return raw;
  };
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: unknown): T | { error: string } => {
    if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw as T;
    return { error: `one of ${values.join(', ')}` };
  };
}

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\/.*/i;

function isPostgres(u: string | undefined): boolean {
  return u !== undefined && /^postgres(ql)?:\/\//i.test(u);
}
const url = str(URL_RE, 'a URL such as scheme://host/path');
const optionalUrl = str(/^(|(https?|wss?):\/\/[^\s]+)$/, 'an http(s) or ws(s) URL, or empty for the default');

export const SYMBOL_RE = /^[A-Z0-9^][A-Z0-9.\-=/_^]{0,23}$/;

function symbols(raw: unknown): string[] | { error: string } {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : null;
  if (!list) return { error: 'a comma-separated list of symbols' };
  const out = list.map((s) => String(s).trim().toUpperCase()).filter((s) => s !== '');
  const bad = out.find((s) => !SYMBOL_RE.test(s));
  if (bad !== undefined) return { error: `symbols matching ${SYMBOL_RE} (bad: "${bad}")` };
  if (out.length === 0) return { error: 'at least one symbol' };
  return [...new Set(out)];
}

function simRate(raw: unknown): number | { error: string } {
  if (raw === 'max' || raw === 'unlimited' || raw === Infinity) return Infinity;
  const r = num(0, 10_000_000)(raw);
  return typeof r === 'number' ? r : { error: '"max" or a number of updates per second per symbol from 0 to 10000000' };
}

function bool(raw: unknown): boolean | { error: string } {
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true' || raw === '1' || raw === 'on' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'off' || raw === 'no') return false;
  return { error: 'true or false' };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const DEFAULT_SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'BTC-USD', 'ETH-USD'];

export const SPEC: { readonly [K in keyof ConfigValues]: KeySpec<ConfigValues[K]> } = {
  port: { env: 'TICKLINE_PORT', default: 8000, parse: int(0, 65535), doc: 'HTTP port of the API (0 picks a free one)' },
  host: { env: 'TICKLINE_HOST', default: '127.0.0.1', parse: str(/^[\w.:[\]-]+$/, 'a host name or IP address'), doc: 'Address the API listens on' },
  dataDir: { env: 'TICKLINE_DATA_DIR', default: './data', parse: str(/^.+$/, 'a directory path'), doc: 'Directory for the embedded store and local zones' },
  bus: { env: 'TICKLINE_BUS', default: 'memory://', parse: url, doc: 'Bus between ingest and process: memory://, kafka://host:9092, nats://host:4222' },
  store: {
    env: 'TICKLINE_STORE',
    default: (c: Partial<ConfigValues>) => `duckdb://${c.dataDir ?? './data'}/tickline.duckdb`,
    parse: url,
    doc: 'History store: duckdb://<file> or postgres://user@host:5432/db',
    secret: true,
  },
  cache: { env: 'TICKLINE_CACHE', default: 'memory://', parse: url, doc: 'Latest-price cache: memory:// or redis://host:6379?ttl=300', secret: true },
  zones: {
    env: 'TICKLINE_ZONES',
    default: (c: Partial<ConfigValues>) => `file://${c.dataDir ?? './data'}/zones`,
    parse: url,
    doc: 'Raw/curated/quarantine zones: file://<dir> or s3://bucket/prefix?endpoint=&region= (see docs/zones.md)',
  },
  symbols: { env: 'TICKLINE_SYMBOLS', default: DEFAULT_SYMBOLS, parse: symbols, doc: 'Symbols of the simulated feed' },
  simRate: { env: 'TICKLINE_SIM_RATE', default: 20, parse: simRate, doc: 'Simulated updates per second per symbol; "max" runs as fast as the pipeline takes; 0 turns the feed off' },
  simSeed: { env: 'TICKLINE_SIM_SEED', default: 42, parse: int(0, 2 ** 31 - 1), doc: 'Seed of the simulated feed (same seed, same prices)' },
  simBadFraction: { env: 'TICKLINE_SIM_BAD_FRACTION', default: 0, parse: num(0, 1), doc: 'Fraction of deliberately bad simulated ticks (negative price, crossed quote, bad symbol, future time)' },
  simLimit: { env: 'TICKLINE_SIM_LIMIT', default: 0, parse: int(0, Number.MAX_SAFE_INTEGER), doc: 'Stop the simulated feed after this many ticks (0: never); for tests and load runs' },
  topic: { env: 'TICKLINE_TOPIC', default: 'tickline.ticks', parse: str(/^[A-Za-z0-9._-]{1,200}$/, 'letters, digits, ".", "_" or "-"'), doc: 'Bus topic (stream) carrying ticks' },
  batchMax: { env: 'TICKLINE_BATCH_MAX', default: 8192, parse: int(1, 1_000_000), doc: 'Largest micro-batch, in ticks' },
  batchLingerMs: { env: 'TICKLINE_BATCH_LINGER_MS', default: 2, parse: num(0, 10_000), doc: 'Longest a tick waits for its micro-batch to fill, in ms' },
  busCapacity: { env: 'TICKLINE_BUS_CAPACITY', default: 65_536, parse: int(1, 100_000_000), doc: 'memory:// bus capacity in ticks; publishers wait when it is full' },
  qualitySuite: {
    env: 'TICKLINE_QUALITY_SUITE',
    default: '',
    parse: str(/^[^\0]*$/, 'a path to a .yaml, .yml or .json suite file'),
    doc: 'Expectation suite of the quality gate (YAML or JSON file); empty: the bundled suites/default.yaml',
  },
  stopGraceMs: {
    env: 'TICKLINE_STOP_GRACE_MS',
    default: 30_000,
    parse: int(100, 3_600_000),
    doc: 'On stop, how long sinks that keep failing are retried before unwritten batches are left unacknowledged',
  },
  qualityRunSeconds: { env: 'TICKLINE_QUALITY_RUN_SECONDS', default: 60, parse: int(1, 86_400), doc: 'Length of one streaming validation run, in seconds' },
  logLevel: { env: 'TICKLINE_LOG_LEVEL', default: 'info', parse: oneOf(LOG_LEVELS), doc: 'Log level' },
  apiUrl: { env: 'TICKLINE_API_URL', default: 'http://localhost:8000', parse: str(/^https?:\/\/.+/, 'an http(s) URL'), doc: 'API the CLI read commands talk to' },
  roles: { env: 'TICKLINE_ROLES', default: 'all', parse: str(/^[a-z,]+$/, 'a comma-separated list of roles, e.g. all or ingest,process,api'), doc: 'Roles this process runs' },
  ingestMaxBytes: { env: 'TICKLINE_INGEST_MAX_BYTES', default: 16 * 1024 * 1024, parse: int(1024, 1024 ** 3), doc: 'Largest accepted POST /v1/ticks body, in bytes' },
  quiet: { env: 'TICKLINE_QUIET', default: false, parse: bool, doc: 'Suppress the start-up banner' },
  auth: {
    env: 'TICKLINE_AUTH',
    default: true,
    parse: bool,
    doc: 'Require a login session or an API key on every route but /health, /ready and /metrics; off is allowed only on a loopback address (see docs/auth.md)',
  },
  authStore: {
    env: 'TICKLINE_AUTH_STORE',
    default: (c: Partial<ConfigValues>) => (isPostgres(c.store) ? c.store! : `file://${c.dataDir ?? './data'}/auth.json`),
    parse: url,
    doc: 'Users, sessions, API keys and the audit log: file://<path>.json or postgres://user@host:5432/db?schema=tickline (default: the store when it is Postgres, so every API replica shares them)',
    secret: true,
  },
  adminPassword: {
    env: 'TICKLINE_ADMIN_PASSWORD',
    default: '',
    parse: str(/^[^\0]*$/, 'a password of 12 to 1024 characters'),
    doc: 'Password of the admin user created on first start; empty: a random one, printed once',
    secret: true,
  },
  apiKey: {
    env: 'TICKLINE_API_KEY',
    default: '',
    parse: str(/^(|tl_[0-9a-f]{16}_[A-Za-z0-9_-]{43})$/, 'an API key tl_<id>_<secret>, as printed by tickline keys create'),
    doc: 'API key the CLI sends to the API (Authorization: Bearer)',
    secret: true,
  },
  tlsCert: { env: 'TICKLINE_TLS_CERT', default: '', parse: str(/^[^\0]*$/, 'a path to a PEM certificate'), doc: 'Serve HTTPS with this PEM certificate chain (with TICKLINE_TLS_KEY)' },
  tlsKey: { env: 'TICKLINE_TLS_KEY', default: '', parse: str(/^[^\0]*$/, 'a path to a PEM private key'), doc: 'Private key of TICKLINE_TLS_CERT (PEM file)' },
  trustProxy: {
    env: 'TICKLINE_TRUST_PROXY',
    default: false,
    parse: bool,
    doc: 'Behind a reverse proxy: take the client address and scheme from X-Forwarded-For/-Proto (login limits, Secure cookies)',
  },
  pollJobsStore: {
    env: 'TICKLINE_POLL_JOBS_STORE',
    default: (c: Partial<ConfigValues>) => (isPostgres(c.store) ? c.store! : `file://${c.dataDir ?? './data'}/poll-jobs.json`),
    parse: url,
    doc: 'Where polling jobs are kept: file://<path>.json (one process) or postgres://…?schema= (shared by replicas; default: the store when it is Postgres)',
    secret: true,
  },
  streams: {
    env: 'TICKLINE_STREAMS',
    default: '',
    parse: str(/^(|[a-z]+:[A-Za-z0-9.\-_/^=]+(,[A-Za-z0-9.\-_/^=]+)*(;[a-z]+:[A-Za-z0-9.\-_/^=]+(,[A-Za-z0-9.\-_/^=]+)*)*)$/, 'provider:SYM,SYM[;provider:SYM…], e.g. coinbase:BTC-USD,ETH-USD'),
    doc: 'Streaming sources run by the ingest role, e.g. coinbase:BTC-USD,ETH-USD (see docs/providers.md)',
  },
  yahooUrl: { env: 'TICKLINE_YAHOO_URL', default: '', parse: optionalUrl, doc: 'Yahoo Finance base URL (default https://query1.finance.yahoo.com)' },
  alphavantageUrl: { env: 'TICKLINE_ALPHAVANTAGE_URL', default: '', parse: optionalUrl, doc: 'Alpha Vantage base URL (default https://www.alphavantage.co)' },
  alphavantageKey: { env: 'TICKLINE_ALPHAVANTAGE_KEY', default: '', parse: str(/^[^\0\s]*$/, 'an API key without spaces'), doc: 'Alpha Vantage API key', secret: true },
  coingeckoUrl: { env: 'TICKLINE_COINGECKO_URL', default: '', parse: optionalUrl, doc: 'CoinGecko base URL (default by plan)' },
  coingeckoKey: { env: 'TICKLINE_COINGECKO_KEY', default: '', parse: str(/^[^\0\s]*$/, 'an API key without spaces'), doc: 'CoinGecko API key (optional: the keyless public API is used without one)', secret: true },
  coingeckoPlan: { env: 'TICKLINE_COINGECKO_PLAN', default: '', parse: oneOf(['', 'public', 'demo', 'pro'] as const), doc: 'CoinGecko plan of the key: public, demo or pro (default demo with a key, public without)' },
  coinbaseUrl: { env: 'TICKLINE_COINBASE_URL', default: '', parse: optionalUrl, doc: 'Coinbase Exchange REST base URL, for gap backfill (default https://api.exchange.coinbase.com)' },
  coinbaseWsUrl: { env: 'TICKLINE_COINBASE_WS_URL', default: '', parse: optionalUrl, doc: 'Coinbase Exchange WebSocket feed (default wss://ws-feed.exchange.coinbase.com)' },
};

export type ConfigKey = keyof ConfigValues;
