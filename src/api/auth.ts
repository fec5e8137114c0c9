/**
 * Who may call which route. Every route declares what it needs in its `config.access` (or gets the
 * default: `read` for GET/HEAD, `ingest` for every other method); a hook on every request establishes the
 * caller's identity from an API key (`Authorization: Bearer tl_…`) or the session cookie, refuses it with
 * 401/403 before any handler runs, and checks the CSRF token of cookie-authenticated unsafe requests.
 *
 * With authentication off (TICKLINE_AUTH=off, loopback only) every caller is the local operator with every
 * scope. See docs/auth.md.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { allows, type AuthService, type Role, type Scope } from '../auth/index.ts';
import { TicklineError, show } from '../core/errors.ts';

/** What a route needs: nothing, any authenticated caller, or a scope. */
export type Access = 'public' | 'authenticated' | Scope;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    identity: Identity;
  }
}

export const SESSION_COOKIE = 'tickline_session';
export const CSRF_HEADER = 'x-csrf-token';

export type Identity =
  | { kind: 'session'; username: string; role: Role; token: string; csrf: string; expiresAt: string }
  | { kind: 'key'; keyId: string; scopes: Scope[] }
  /** Authentication is off: the local operator, allowed everything. */
  | { kind: 'local' }
  /** No credentials were presented (only public routes see this). */
  | { kind: 'anonymous' };

/** The name the audit log records for a caller. */
export function actorOf(id: Identity): string {
  switch (id.kind) {
    case 'session':
      return id.username;
    case 'key':
      return `key:${id.keyId}`;
    case 'local':
      return 'local';
    case 'anonymous':
      return 'anonymous';
  }
}

export function grants(id: Identity, needed: Scope): boolean {
  switch (id.kind) {
    case 'session':
      return allows(id.role, needed);
    case 'key':
      return allows(id.scopes, needed);
    case 'local':
      return true;
    case 'anonymous':
      return false;
  }
}

/**
 * Routes that answer without credentials: the probes (watched by orchestrators and scraped by
 * Prometheus), the login itself, and the dashboard's static files (the page, its script and style; they
 * hold no data, and the login form is one of them).
 */
const PUBLIC_URLS = new Set(['/health', '/ready', '/metrics', '/auth/login']);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function unauthenticated(message: string): TicklineError {
  return new TicklineError('TL_ERR_UNAUTHENTICATED', message);
}

/** A route and what it needs, as registered (HEAD routes Fastify adds for GET routes left out). */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

const TABLES = new WeakMap<FastifyInstance, RouteAccess[]>();

/** Every route of an app built with `installAuth`, with its access: the tests walk it, so no route escapes them. */
export function accessTable(app: FastifyInstance): readonly RouteAccess[] {
  return TABLES.get(app) ?? [];
}

/**
 * Installs the access rules on `app`. Must run before any route is registered: routes registered
 * earlier would not get their default access.
 */
export function installAuth(app: FastifyInstance, auth: AuthService | null, opts: { staticUrls: ReadonlySet<string> }): void {
  // Fastify wants a plain placeholder; every request gets its identity in the hook below.
  app.decorateRequest('identity', null as never);

  const table: RouteAccess[] = [];
  TABLES.set(app, table);
  app.addHook('onRoute', (route) => {
    route.config ??= {};
    const config = route.config as { access?: Access };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (config.access === undefined) {
      if (PUBLIC_URLS.has(route.url) || opts.staticUrls.has(route.url)) config.access = 'public';
      else config.access = methods.every((m) => SAFE_METHODS.has(m)) ? 'read' : 'ingest';
    }
    for (const method of methods) if (method !== 'HEAD') table.push({ method, url: route.url, access: config.access });
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // A request without a matching route ends in the 404 handler, which reveals nothing. A route that
    // somehow has no access set fails closed, to the read scope.
    const access: Access = request.routeOptions.url === undefined ? 'public' : (request.routeOptions.config.access ?? 'read');
    if (auth === null) {
      request.identity = { kind: 'local' };
      return;
    }
    // Public routes (probes, the page's files, the login) need no caller: no key or session lookup for them.
    if (access === 'public') {
      request.identity = { kind: 'anonymous' };
      return;
    }
    request.identity = await identify(auth, request);
    const id = request.identity;
    if (id.kind === 'anonymous') {
      void reply.header('www-authenticate', 'Bearer realm="tickline"');
      throw unauthenticated(`${request.method} ${request.routeOptions.url}: sign in, or send an API key as "Authorization: Bearer tl_…"`);
    }
    if (id.kind === 'session' && !SAFE_METHODS.has(request.method) && !auth.checkCsrf(id.token, request.headers[CSRF_HEADER])) {
      throw new TicklineError('TL_ERR_FORBIDDEN', `${request.method} ${request.routeOptions.url}: missing or wrong ${CSRF_HEADER} header (send the csrf value returned by /auth/login or /auth/me)`);
    }
    if (access !== 'authenticated' && !grants(id, access)) {
      const who = id.kind === 'session' ? `role ${show(id.role)}` : id.kind === 'key' ? `API key ${id.keyId} (scopes ${id.scopes.join(', ')})` : 'caller';
      throw new TicklineError('TL_ERR_FORBIDDEN', `${request.method} ${request.routeOptions.url} needs the ${show(access)} scope; ${who} does not have it`);
    }
  });
}

/**
 * The caller of a protected route: a Bearer key when an Authorization header is present (a wrong key is an
 * error, never a fall-back to the cookie), else the session cookie, else anonymous.
 */
async function identify(auth: AuthService, request: FastifyRequest): Promise<Identity> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    if (!/^Bearer\s+\S/i.test(header)) throw unauthenticated('Authorization: expected "Bearer tl_<id>_<secret>"');
    const key = await auth.authenticateKey(header);
    return { kind: 'key', keyId: key.keyId, scopes: key.scopes };
  }
  const token = request.cookies[SESSION_COOKIE];
  if (token === undefined || token === '') return { kind: 'anonymous' };
  try {
    const s = await auth.session(token);
    return { kind: 'session', username: s.user.username, role: s.user.role, token: s.token, csrf: s.csrf, expiresAt: s.expiresAt };
  } catch (err) {
    if (err instanceof TicklineError && err.code === 'TL_ERR_UNAUTHENTICATED') throw unauthenticated('your session has ended: sign in again');
    throw err;
  }
}
