import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { auditView, keyView, ROLES, SCOPES, userView, type AuthService, type Role, type Scope } from '../../auth/index.ts';
import { TicklineError } from '../../core/errors.ts';
import { actorOf } from '../auth.ts';
import { errorResponses, type RouteOptions } from '../schemas.ts';

const NullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] });

const UserBody = Type.Object({ username: Type.String(), role: Type.String({ enum: [...ROLES] }), created_at: Type.String(), updated_at: Type.String() });
const KeyBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String({ enum: [...SCOPES] })),
  created_by: Type.String(),
  created_at: Type.String(),
  revoked_at: NullableString,
  revoked_by: NullableString,
  last_used_at: NullableString,
});
const AuditBody = Type.Object({
  seq: Type.Integer(),
  at: Type.String(),
  actor: Type.String(),
  action: Type.String(),
  target: NullableString,
  detail: Type.Record(Type.String(), Type.Unknown()),
  prev_hash: Type.String(),
  hash: Type.String(),
});
const VerifyBody = Type.Object({
  ok: Type.Boolean(),
  entries: Type.Integer(),
  firstBad: Type.Optional(Type.Object({ seq: Type.Integer(), reason: Type.String() })),
});

const Password = Type.String({ minLength: 1, maxLength: 4096, description: '12 to 1024 characters' });
const RoleField = Type.Unsafe<Role>({ type: 'string', enum: [...ROLES] });
const UsernameParam = Type.Object({ username: Type.String({ minLength: 1, maxLength: 256 }) });
const KeyIdParam = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });

/** Users, API keys and the audit log, for admins (role admin, or a key with the `admin` scope). */
export async function adminRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const authOrNull = opts.deps.auth;
  const need = (): AuthService => {
    if (!authOrNull) throw new TicklineError('TL_ERR_UNAVAILABLE', 'authentication is switched off (TICKLINE_AUTH=off): there are no users, keys or audit log');
    return authOrNull;
  };
  const admin = { access: 'admin' as const };
  const tags = ['admin'];

  app.get('/v1/admin/users', { config: admin, schema: { tags, summary: 'Users and their roles', response: { 200: Type.Object({ users: Type.Array(UserBody) }), ...errorResponses(401, 403) } } }, async () => ({
    users: (await need().listUsers()).map(userView),
  }));

  app.post<{ Body: { username: string; password: string; role: Role } }>(
    '/v1/admin/users',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Add a user',
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 256 }), password: Password, role: RoleField }, { additionalProperties: false }),
        response: { 201: Type.Object({ user: UserBody }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const user = await need().addUser(request.body, actorOf(request.identity));
      return reply.code(201).send({ user: userView(user) });
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/v1/admin/users/:username',
    { config: admin, schema: { tags, summary: 'Remove a user and end their sessions', params: UsernameParam, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) } } },
    async (request, reply) => {
      await need().removeUser(request.params.username, actorOf(request.identity));
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { username: string }; Body: { password: string } }>(
    '/v1/admin/users/:username/password',
    {
      config: admin,
      schema: {
        tags,
        summary: "Set a user's password (ends their sessions)",
        params: UsernameParam,
        body: Type.Object({ password: Password }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await need().passwd(request.params.username, request.body.password, actorOf(request.identity));
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { username: string }; Body: { role: Role } }>(
    '/v1/admin/users/:username/role',
    {
      config: admin,
      schema: {
        tags,
        summary: "Change a user's role (the last admin cannot be demoted)",
        params: UsernameParam,
        body: Type.Object({ role: RoleField }, { additionalProperties: false }),
        response: { 200: Type.Object({ user: UserBody }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => ({ user: userView(await need().setRole(request.params.username, request.body.role, actorOf(request.identity))) }),
  );

  app.get('/v1/admin/keys', { config: admin, schema: { tags, summary: 'API keys, revoked ones included (never their secrets)', response: { 200: Type.Object({ keys: Type.Array(KeyBody) }), ...errorResponses(401, 403) } } }, async () => ({
    keys: (await need().listKeys()).map(keyView),
  }));

  app.post<{ Body: { name: string; scopes: Scope[] } }>(
    '/v1/admin/keys',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Create an API key; its secret is in this answer only',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 100 }), scopes: Type.Array(Type.Unsafe<Scope>({ type: 'string', enum: [...SCOPES] }), { minItems: 1, maxItems: 3 }) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: KeyBody, secret: Type.String() }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const made = await need().createKey({ name: request.body.name, scopes: request.body.scopes, createdBy: actorOf(request.identity) });
      void reply.header('cache-control', 'no-store');
      return reply.code(201).send({ key: keyView(made.key), secret: made.secret });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/admin/keys/:id',
    { config: admin, schema: { tags, summary: 'Revoke an API key', params: KeyIdParam, response: { 200: Type.Object({ revoked: Type.Boolean() }), ...errorResponses(400, 401, 403, 404) } } },
    async (request) => ({ revoked: await need().revokeKey(request.params.id, actorOf(request.identity)) }),
  );

  app.get<{ Querystring: { limit?: number; before?: number } }>(
    '/v1/admin/audit',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Audit log entries, newest first, with the result of verifying the whole hash chain',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })), before: Type.Optional(Type.Integer({ minimum: 1 })) }),
        response: { 200: Type.Object({ entries: Type.Array(AuditBody), verify: VerifyBody }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const auth = need();
      const [entries, verify] = await Promise.all([auth.auditList({ limit: request.query.limit ?? 100, before: request.query.before }), auth.auditVerify()]);
      return { entries: entries.map(auditView), verify };
    },
  );

  app.get('/v1/admin/audit/verify', { config: admin, schema: { tags, summary: 'Verify the audit hash chain: detects an edited, inserted or deleted entry', response: { 200: VerifyBody, ...errorResponses(401, 403) } } }, async () =>
    need().auditVerify(),
  );
}
