import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_SESSION_ABSOLUTE_MS, type AuthService } from '../../auth/index.ts';
import { TicklineError } from '../../core/errors.ts';
import { SESSION_COOKIE, actorOf } from '../auth.ts';
import { errorResponses, type RouteOptions } from '../schemas.ts';

const Who = Type.Object({ username: Type.String(), role: Type.String({ enum: ['admin', 'analyst', 'viewer'] }) });

const SessionBody = Type.Object({
  user: Who,
  csrf: Type.String({ description: 'Send as the x-csrf-token header on every request other than GET/HEAD' }),
  expires_at: Type.String({ description: 'When the session ends unless used again (ISO 8601 UTC)' }),
});

const MeBody = Type.Object({
  user: Type.Optional(Who),
  csrf: Type.Optional(Type.String()),
  expires_at: Type.Optional(Type.String()),
  key: Type.Optional(Type.Object({ id: Type.String(), scopes: Type.Array(Type.String()) })),
  auth: Type.Optional(Type.Literal('off', { description: 'present when authentication is switched off' })),
});

const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ minLength: 1, maxLength: 4096 }),
  },
  { additionalProperties: false },
);

function needAuth(auth: AuthService | null): AuthService {
  if (!auth) throw new TicklineError('TL_ERR_UNAVAILABLE', 'authentication is switched off (TICKLINE_AUTH=off): there is nothing to sign in to');
  return auth;
}

/** Sign in, sign out and "who am I" for the dashboard; API clients use keys and need none of these. */
export async function authRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const auth = opts.deps.auth;

  const cookieOptions = (request: FastifyRequest) => ({
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: request.protocol === 'https',
  });

  app.post<{ Body: { username: string; password: string } }>(
    '/auth/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with a username and password; sets the HttpOnly session cookie and returns the CSRF token',
        body: LoginBody,
        response: { 200: SessionBody, ...errorResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const s = await needAuth(auth).login(request.body.username, request.body.password, request.ip);
      void reply.setCookie(SESSION_COOKIE, s.token, { ...cookieOptions(request), maxAge: Math.floor(DEFAULT_SESSION_ABSOLUTE_MS / 1000) });
      void reply.header('cache-control', 'no-store');
      return { user: s.user, csrf: s.csrf, expires_at: s.expiresAt };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'authenticated' },
      schema: { tags: ['auth'], summary: 'End the current session (needs the x-csrf-token header)', response: { 204: Type.Null(), ...errorResponses(401, 403) } },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const id = request.identity;
      if (id.kind === 'session') await needAuth(auth).logout(id.token);
      void reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
      return reply.code(204).send();
    },
  );

  app.get(
    '/auth/me',
    {
      config: { access: 'authenticated' },
      schema: { tags: ['auth'], summary: 'The caller: the signed-in user with the CSRF token, or the API key', response: { 200: MeBody, ...errorResponses(401) } },
    },
    async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      const id = request.identity;
      switch (id.kind) {
        case 'session':
          return { user: { username: id.username, role: id.role }, csrf: id.csrf, expires_at: id.expiresAt };
        case 'key':
          return { key: { id: id.keyId, scopes: id.scopes } };
        default:
          // Authentication is off: the local operator, with the admin role so every page works.
          return { user: { username: actorOf(id), role: 'admin' }, csrf: '', expires_at: '', auth: 'off' as const };
      }
    },
  );
}
