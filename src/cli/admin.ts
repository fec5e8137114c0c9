/**
 * `tickline users|keys|audit`: user, API key and audit-log administration, over the API (default) or on
 * the auth store directly (`--local`). See the "Command line" section of docs/auth.md.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ROLES, SCOPES, type Role, type Scope } from '../auth/index.ts';
import { loadConfig } from '../config/load.ts';
import { show, TicklineError } from '../core/errors.ts';
import type { AdminClient, AuditEntryView, KeyView, UserView, VerifyView } from './admin-client.ts';
import { HttpAdminClient, loginSession } from './admin-http.ts';
import { LocalAdminClient, localActor, missingStoreNote, openLocalStore } from './admin-local.ts';
import { apiConnection, type ApiOpts } from './api-options.ts';
import { table } from './format.ts';
import { configEnv, note, say, type CliIo } from './io.ts';
import { PASSWORD_ENV, readLoginPassword, readNewPassword } from './prompt.ts';

interface AdminOpts extends ApiOpts {
  local?: boolean;
  user?: string;
  loginPasswordFile?: string;
  passwordFile?: string;
  passwordStdin?: boolean;
  authStore?: string;
  dataDir?: string;
  config?: string;
}

const MODES_HELP = `
Modes:
  By default the command asks the Tickline API (--api, TICKLINE_API_URL, default http://localhost:8000)
  with an API key that has the admin scope: TICKLINE_API_KEY, TICKLINE_API_KEY_FILE or --api-key-file.
  With --user <name> it logs in as that user for this one command instead (an admin), and logs out after;
  the password comes from --login-password-file, ${PASSWORD_ENV}, or is asked for on a terminal.

  --local opens the auth store directly (TICKLINE_AUTH_STORE, default file://<data dir>/auth.json), with no
  server and no login: to recover a lost admin password, or to script users and keys before the first
  start. The audit log records the actor as cli:<system user>. A file store held by a running server is
  refused: use the API then, or stop the server.`;

const NEW_PASSWORD_HELP = `
New password:
  typed twice without echo when stdin is a terminal; otherwise from --password-file <path> or from one
  line of stdin with --password-stdin. Never from a command-line argument. 12 to 1024 characters.`;

function roleArg(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`role must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

function scopeArg(value: string, previous: Scope[]): Scope[] {
  if (!(SCOPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`scope must be one of ${SCOPES.join(', ')}`);
  return previous.includes(value as Scope) ? previous : [...previous, value as Scope];
}

function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
}

/** The options every admin command has; `newPassword` adds the ways to give one. */
function adminCommand(
  parent: Command,
  name: string,
  opts: { description: string; newPassword?: boolean; example: string; own?: (cmd: Command) => Command },
): Command {
  const created = parent.command(name).description(opts.description);
  // The command's own arguments and options first, so that they lead its help.
  const cmd = (opts.own ? opts.own(created) : created)
    .option('--local', 'open the auth store directly instead of asking the API (see Modes)')
    .option('--api <url>', 'Tickline API to ask (TICKLINE_API_URL, default http://localhost:8000)')
    .option('--api-key-file <path>', 'read the API key (scope admin) from this file (default: TICKLINE_API_KEY or TICKLINE_API_KEY_FILE)')
    .option('--user <name>', 'log in as this user for this command instead of using an API key')
    .option('--login-password-file <path>', `password of --user, from this file (or ${PASSWORD_ENV}, or asked on a terminal)`);
  if (opts.newPassword) {
    cmd.option('--password-file <path>', 'read the new password from this file (one line)').option('--password-stdin', 'read the new password from one line of stdin');
  } else {
    cmd.option('--password-file <path>', 'same as --login-password-file');
  }
  return cmd
    .option('--auth-store <url>', 'with --local: the auth store (TICKLINE_AUTH_STORE, default file://<data dir>/auth.json)')
    .option('-d, --data-dir <dir>', 'with --local: data directory of the default auth store (TICKLINE_DATA_DIR)')
    .option('-c, --config <file>', 'JSON config file (default: $TICKLINE_CONFIG)')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExample:\n${opts.example}\n${MODES_HELP}${opts.newPassword ? `\n${NEW_PASSWORD_HELP}` : ''}`);
}

function invalid(message: string): TicklineError {
  return new TicklineError('TL_ERR_VALIDATION', message);
}

/** Refuses flags that do not apply to the chosen mode rather than ignoring them. */
function checkModeFlags(opts: AdminOpts, takesNewPassword: boolean): void {
  if (opts.local) {
    const httpOnly: Array<keyof AdminOpts> = ['api', 'apiKeyFile', 'user', 'loginPasswordFile', ...(takesNewPassword ? [] : (['passwordFile'] as const))];
    const http = httpOnly.filter((k) => opts[k] !== undefined);
    if (http.length > 0) throw invalid(`--local opens the auth store directly: ${http.map(flag).join(', ')} ${http.length > 1 ? 'do' : 'does'} not apply`);
  } else {
    const local = (['authStore', 'dataDir'] as const).filter((k) => opts[k] !== undefined);
    if (local.length > 0) throw invalid(`${local.map(flag).join(' and ')} ${local.length > 1 ? 'apply' : 'applies'} only with --local`);
    const loginFile = opts.loginPasswordFile ?? (takesNewPassword ? undefined : opts.passwordFile);
    if (opts.user === undefined && loginFile !== undefined) throw invalid('a login password file applies only with --user <name>');
  }
}

function flag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Gathers every input first (login password, new password), so that nothing is opened and no login is
 * written to the audit log for a command that would fail on its input; then opens the client, runs
 * `fn` and closes it (logging out of a `--user` session).
 */
async function runAdmin(io: CliIo, opts: AdminOpts, newPasswordFor: string | undefined, fn: (client: AdminClient, newPassword: string) => Promise<void>): Promise<void> {
  const takesNewPassword = newPasswordFor !== undefined;
  checkModeFlags(opts, takesNewPassword);
  let loginPassword: string | undefined;
  if (!opts.local && opts.user !== undefined) {
    const file = opts.loginPasswordFile ?? (takesNewPassword ? undefined : opts.passwordFile);
    const fileFlag = opts.loginPasswordFile !== undefined || takesNewPassword ? '--login-password-file' : '--password-file';
    loginPassword = await readLoginPassword(io, file, fileFlag, opts.user);
  }
  const newPassword = takesNewPassword ? await readNewPassword(io, opts, newPasswordFor) : '';

  let client: AdminClient;
  if (opts.local) {
    const config = loadConfig({ env: configEnv(io.env), file: opts.config, overrides: { authStore: opts.authStore, dataDir: opts.dataDir } });
    const missing = missingStoreNote(config.authStore);
    client = new LocalAdminClient(await openLocalStore(config.authStore), config.authStore, localActor(io.env));
    if (missing) note(io, missing);
  } else {
    let conn = apiConnection(opts, io);
    if (opts.user !== undefined) conn = await loginSession(conn, opts.user, loginPassword!);
    client = new HttpAdminClient(conn);
  }
  let ok = false;
  try {
    await fn(client, newPassword);
    ok = true;
  } finally {
    try {
      await client.close();
    } catch (e) {
      // The command's own error matters more; after a success, say that the session may be left open.
      if (ok) note(io, `warning: closing ${client.target} failed: ${(e as Error).message}`);
    }
  }
}

function printJson(io: CliIo, value: unknown): void {
  say(io, JSON.stringify(value, null, 2));
}

export function addAdminCommands(program: Command, io: CliIo): void {
  addUserCommands(program, io);
  addKeyCommands(program, io);
  addAuditCommands(program, io);
}

function userRows(users: UserView[]): Array<Record<string, unknown>> {
  return users.map((u) => ({ username: u.username, role: u.role, created: u.created_at, updated: u.updated_at }));
}

function addUserCommands(program: Command, io: CliIo): void {
  const users = program.command('users').description('dashboard and API users and their roles (admin, analyst, viewer)');

  adminCommand(users, 'add', {
    description: 'add a user with a role: admin (everything), analyst (read and ingest), viewer (read)',
    newPassword: true,
    example: '  tickline users add alice --role analyst                   (asks for the password twice)\n  tickline users add bot --role viewer --password-file pw.txt --local',
    own: (cmd) => cmd.argument('<username>', '2 to 64 characters of a-z 0-9 . _ -, case-insensitive').requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, roleArg),
  }).action((username: string, opts: AdminOpts & { role: Role }) =>
      runAdmin(io, opts, username, async (c, password) => {
        const user = await c.addUser(username, password, opts.role);
        if (opts.json) printJson(io, { user });
        else say(io, `added user ${user.username} (${user.role})`);
      }),
    );

  adminCommand(users, 'list', { description: 'every user with role and times (never a password)', example: '  tickline users list\n  tickline users list --local --json' }).action(
    (opts: AdminOpts) =>
      runAdmin(io, opts, undefined, async (c) => {
        const list = await c.listUsers();
        if (opts.json) printJson(io, { users: list });
        else say(io, table(userRows(list), ['username', 'role', 'created', 'updated']));
      }),
  );

  adminCommand(users, 'remove', {
    description: 'remove a user and end their sessions (the last admin cannot be removed)',
    example: '  tickline users remove alice',
    own: (cmd) => cmd.argument('<username>'),
  }).action((username: string, opts: AdminOpts) =>
      runAdmin(io, opts, undefined, async (c) => {
        await c.removeUser(username);
        if (opts.json) printJson(io, { removed: username.toLowerCase() });
        else say(io, `removed user ${username.toLowerCase()}`);
      }),
    );

  adminCommand(users, 'passwd', {
    description: "set a user's password and end all their sessions (also how a lost admin password is reset, with --local)",
    newPassword: true,
    example: '  tickline users passwd alice\n  tickline users passwd admin --local --password-stdin < new-password.txt',
    own: (cmd) => cmd.argument('<username>'),
  }).action((username: string, opts: AdminOpts) =>
      runAdmin(io, opts, username, async (c, password) => {
        await c.setPassword(username, password);
        if (opts.json) printJson(io, { username: username.toLowerCase(), password_changed: true });
        else say(io, `password of ${username.toLowerCase()} changed; their sessions were ended`);
      }),
    );

  adminCommand(users, 'role', {
    description: "change a user's role (the last admin cannot be demoted)",
    example: '  tickline users role alice admin',
    own: (cmd) => cmd.argument('<username>').argument('<role>', `one of ${ROLES.join(', ')}`, roleArg),
  }).action((username: string, role: Role, opts: AdminOpts) =>
      runAdmin(io, opts, undefined, async (c) => {
        const user = await c.setRole(username, role);
        if (opts.json) printJson(io, { user });
        else say(io, `${user.username} is now ${user.role}`);
      }),
    );
}

function keyRows(keys: KeyView[]): Array<Record<string, unknown>> {
  return keys.map((k) => ({
    id: k.id,
    name: k.name,
    scopes: k.scopes.join(','),
    created_by: k.created_by,
    created: k.created_at,
    last_used: k.last_used_at,
    revoked: k.revoked_at,
  }));
}

function addKeyCommands(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('API keys: for programs and the CLI, each with scopes (ingest, read, admin)');

  adminCommand(keys, 'create', {
    description: 'create an API key; its secret is printed once, on stdout, and cannot be shown again',
    example:
      '  tickline keys create --name feed-loader --scope ingest\n  tickline keys create --name ops --scope admin --local > /run/secrets/tickline-key\n  TICKLINE_API_KEY_FILE=/run/secrets/tickline-key tickline users list',
    own: (cmd) =>
      cmd
        .requiredOption('--name <name>', 'what the key is for (1 to 100 printable characters)')
        .option('--scope <scope>', `${SCOPES.join(', ')}; repeat for several (admin implies the others)`, scopeArg, [] as Scope[]),
  }).action((opts: AdminOpts & { name: string; scope: Scope[] }) => {
      if (opts.scope.length === 0) throw invalid(`--scope: give at least one of ${SCOPES.join(', ')}`);
      return runAdmin(io, opts, undefined, async (c) => {
        const { key, secret } = await c.createKey(opts.name, opts.scope);
        if (opts.json) return printJson(io, { key, secret });
        // Only the secret goes to stdout, so `> file` captures exactly the key.
        note(io, `API key ${key.id} created (name ${show(key.name)}, scopes ${key.scopes.join(',')}).`);
        note(io, 'Its secret follows. It is shown this once and cannot be shown again: store it now.');
        say(io, secret);
        note(io, 'Use it as TICKLINE_API_KEY, via TICKLINE_API_KEY_FILE=<file holding it>, or as the header "Authorization: Bearer <secret>".');
      });
    });

  adminCommand(keys, 'list', { description: 'every API key, revoked ones included (never a secret)', example: '  tickline keys list' }).action((opts: AdminOpts) =>
    runAdmin(io, opts, undefined, async (c) => {
      const list = await c.listKeys();
      if (opts.json) printJson(io, { keys: list });
      else say(io, table(keyRows(list), ['id', 'name', 'scopes', 'created_by', 'created', 'last_used', 'revoked']));
    }),
  );

  adminCommand(keys, 'revoke', {
    description: 'revoke an API key at once (on every API replica, at its next request)',
    example: '  tickline keys revoke 0f3a9c2e71b4d5a6',
    own: (cmd) => cmd.argument('<id>', 'the key id, as in "keys list" (the 16 hex characters after tl_)'),
  }).action((id: string, opts: AdminOpts) =>
      runAdmin(io, opts, undefined, async (c) => {
        const revoked = await c.revokeKey(id);
        if (opts.json) printJson(io, { id, revoked });
        else say(io, revoked ? `revoked key ${id}` : `key ${id} was already revoked`);
      }),
    );
}

function detailText(detail: AuditEntryView['detail']): string {
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${v === null ? 'null' : String(v)}`)
    .join(' ');
}

function brokenText(v: VerifyView): string {
  return v.firstBad ? `entry seq ${v.firstBad.seq}: ${v.firstBad.reason}` : 'unknown entry';
}

function addAuditCommands(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('the tamper-evident log of logins and of user, key and configuration changes');

  adminCommand(audit, 'list', {
    description: 'audit entries, newest first (a broken chain is reported on stderr)',
    example: '  tickline audit list --limit 20\n  tickline audit list --before 120      (the page before entry 120)',
    own: (cmd) =>
      cmd
        .option('-n, --limit <n>', 'at most this many entries (1 to 1000)', intArg(1, 1000), 50)
        .option('--before <seq>', 'only entries with a smaller seq (to page back)', intArg(1, Number.MAX_SAFE_INTEGER)),
  }).action((opts: AdminOpts & { limit: number; before?: number }) =>
      runAdmin(io, opts, undefined, async (c) => {
        const r = await c.auditList({ limit: opts.limit, before: opts.before });
        if (opts.json) printJson(io, r);
        else {
          const rows = r.entries.map((e) => ({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, target: e.target, detail: detailText(e.detail) }));
          say(io, table(rows, ['seq', 'at', 'actor', 'action', 'target', 'detail']));
        }
        if (!r.verify.ok) note(io, `warning: the audit chain is broken at ${brokenText(r.verify)} (see tickline audit verify)`);
      }),
    );

  adminCommand(audit, 'verify', {
    description: 'check the whole hash chain; exit 0 when intact, 1 naming the first bad entry',
    example: '  tickline audit verify\n  tickline audit verify --local',
  }).action((opts: AdminOpts) =>
    runAdmin(io, opts, undefined, async (c) => {
      const v = await c.auditVerify();
      if (opts.json) printJson(io, v);
      else say(io, v.ok ? `intact: ${v.entries} entries` : `broken at ${brokenText(v)} (${v.entries} entries read)`);
      if (!v.ok) io.exitCode = 1;
    }),
  );
}
