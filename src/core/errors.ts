/**
 * The error registry: every error Tickline raises on purpose has a stable code defined here, once.
 * Codes are never reused for another meaning; docs/errors.md lists them and a test keeps both in step.
 */
export const ERRORS = {
  TL_ERR_CONFIG: { status: 500, text: 'Invalid configuration' },
  TL_ERR_UNKNOWN_SCHEME: { status: 500, text: 'No adapter is registered for this URL scheme' },
  TL_ERR_DUPLICATE_SCHEME: { status: 500, text: 'Two adapters claim the same URL scheme' },
  TL_ERR_BAD_URL: { status: 500, text: 'An adapter URL could not be parsed' },
  TL_ERR_VALIDATION: { status: 400, text: 'The request is malformed' },
  TL_ERR_BAD_TICK: { status: 422, text: 'A tick is malformed' },
  TL_ERR_NOT_FOUND: { status: 404, text: 'Nothing matches the request' },
  TL_ERR_PAYLOAD_TOO_LARGE: { status: 413, text: 'The request body is too large' },
  TL_ERR_UNSUPPORTED_MEDIA: { status: 415, text: 'The content type is not supported' },
  TL_ERR_CLOSED: { status: 503, text: 'The component is shut down' },
  TL_ERR_UNAVAILABLE: { status: 503, text: 'A dependency is not usable' },
  TL_ERR_STORE: { status: 500, text: 'The store failed' },
  TL_ERR_ZONE: { status: 500, text: 'A zone operation failed' },
  TL_ERR_API_CLIENT: { status: 502, text: 'The Tickline API could not be reached or answered with an error' },
  TL_ERR_BAD_MESSAGE: { status: 400, text: 'A bus message could not be decoded' },
  TL_ERR_SUITE: { status: 500, text: 'An expectation suite is invalid' },
  TL_ERR_UNAUTHENTICATED: { status: 401, text: 'Authentication is required or failed' },
  TL_ERR_FORBIDDEN: { status: 403, text: 'The credentials do not allow this' },
  TL_ERR_RATE_LIMITED: { status: 429, text: 'Too many attempts; try again later' },
  TL_ERR_PROVIDER: { status: 502, text: 'A market-data provider failed or answered with an error' },
  TL_ERR_CIRCUIT_OPEN: { status: 503, text: 'A market-data provider is failing; requests to it are paused' },
  TL_ERR_INTERNAL: { status: 500, text: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** One error class for all of Tickline: same shape whichever adapter raised it. */
export class TicklineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TicklineError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isTicklineError(e: unknown): e is TicklineError {
  return e instanceof TicklineError;
}

/** Quotes a value for an error message without dumping huge inputs. */
export function show(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
