/**
 * Admin (admins only; the server answers 403 to anyone else): users, API keys and the audit log with the
 * result of verifying its hash chain. Read-only: changes go through the `tickline` commands, which
 * write the audit entries shown here.
 */
import { disposeAll, type App, type Page } from '../app.ts';
import { badge, errorText, panel } from '../components.ts';
import { h, messageRow, table, td } from '../dom.ts';
import { formatInt, formatUtc } from '../format.ts';

const AUDIT_LIMIT = 100;

interface User {
  username: string;
  role: string;
  created_at: string;
}

interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  created_by: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
}

interface AuditVerify {
  ok: boolean;
  entries: number;
  firstBad?: { seq: number; reason: string };
}

export function adminPage(app: App): Page {
  const cleanup: (() => void)[] = [];
  if (app.session.user.role !== 'admin') {
    return {
      root: h('div', { class: 'page' }, h('div', { class: 'empty-state' }, h('h1', null, 'Administrators only'), h('p', { class: 'muted' }, 'Your role does not include the admin page.'))),
      title: 'Admin',
      dispose: () => {},
    };
  }

  const users = table(['User', 'Role', 'Created (UTC)'], { 'data-testid': 'users-table' });
  users.body.append(messageRow(3, 'Loading…'));
  const keys = table(['Key', 'Name', 'Scopes', 'Created by', 'Created (UTC)', 'Last used (UTC)', 'State'], { 'data-testid': 'keys-table' });
  keys.body.append(messageRow(7, 'Loading…'));
  const audit = table([{ label: 'Seq', className: 'num' }, 'At (UTC)', 'Actor', 'Action', 'Target', 'Detail'], { 'data-testid': 'audit-table' });
  audit.body.append(messageRow(6, 'Loading…'));
  const verify = h('div', { class: 'verify', 'data-testid': 'audit-verify' }, 'Verifying the audit chain…');

  const root = h(
    'div',
    { class: 'page page-admin' },
    panel('Users', h('div', { class: 'table-wrap' }, users.table), undefined, 'users-panel'),
    panel('API keys', h('div', { class: 'table-wrap' }, keys.table), undefined, 'keys-panel'),
    panel('Audit log', h('div', null, verify, h('div', { class: 'table-wrap table-scroll' }, audit.table)), undefined, 'audit-panel'),
  );

  void (async () => {
    try {
      const res = await app.api.get<{ users?: User[] }>('/v1/admin/users');
      const list = res.users ?? [];
      users.body.replaceChildren(
        ...(list.length === 0
          ? [messageRow(3, 'No users.')]
          : list.map((u) => h('tr', null, td(u.username, 'symbol'), h('td', null, h('span', { class: `role role-${u.role}` }, u.role)), td(formatUtc(u.created_at, false), 'mono muted')))),
      );
    } catch (err) {
      users.body.replaceChildren(messageRow(3, errorText(err), 'error'));
    }
  })();

  void (async () => {
    try {
      const res = await app.api.get<{ keys?: ApiKey[] }>('/v1/admin/keys');
      const list = res.keys ?? [];
      keys.body.replaceChildren(...(list.length === 0 ? [messageRow(7, 'No API keys.')] : list.map(keyRow)));
    } catch (err) {
      keys.body.replaceChildren(messageRow(7, errorText(err), 'error'));
    }
  })();

  void (async () => {
    try {
      const res = await app.api.get<{ entries?: AuditEntry[]; verify?: AuditVerify }>('/v1/admin/audit', { limit: AUDIT_LIMIT });
      const list = res.entries ?? [];
      audit.body.replaceChildren(...(list.length === 0 ? [messageRow(6, 'The audit log is empty.')] : list.map(auditRow)));
      renderVerify(verify, res.verify);
    } catch (err) {
      audit.body.replaceChildren(messageRow(6, errorText(err), 'error'));
      verify.replaceChildren('The audit chain could not be verified.');
      verify.dataset.state = 'unknown';
    }
  })();

  return { root, title: 'Admin', dispose: () => disposeAll(cleanup) };
}

function renderVerify(el: HTMLElement, v: AuditVerify | undefined): void {
  if (v === undefined) {
    el.dataset.state = 'unknown';
    el.replaceChildren('The server sent no verification result.');
  } else if (v.ok) {
    el.dataset.state = 'ok';
    el.replaceChildren(badge('verified', 'ok'), ` Hash chain intact: all ${formatInt(v.entries)} entries check out.`);
  } else {
    el.dataset.state = 'bad';
    const where = v.firstBad ? ` at entry ${formatInt(v.firstBad.seq)}: ${v.firstBad.reason}` : '';
    el.replaceChildren(badge('broken', 'bad'), ` Hash chain broken${where}. Entries from there on cannot be trusted (${formatInt(v.entries)} entries checked).`);
  }
}

function keyRow(k: ApiKey): HTMLTableRowElement {
  return h(
    'tr',
    { class: k.revoked_at ? 'revoked' : undefined },
    td(k.id, 'mono'),
    td(k.name),
    h('td', null, ...(k.scopes ?? []).map((s) => badge(s, s === 'admin' ? 'warn' : 'muted'))),
    td(k.created_by, 'muted'),
    td(formatUtc(k.created_at, false), 'mono muted'),
    td(k.last_used_at ? formatUtc(k.last_used_at, false) : 'never', 'mono muted'),
    h('td', null, k.revoked_at ? badge(`revoked ${formatUtc(k.revoked_at, false)}`, 'bad') : badge('active', 'ok')),
  );
}

function auditRow(e: AuditEntry): HTMLTableRowElement {
  return h(
    'tr',
    null,
    td(String(e.seq), 'num mono'),
    td(formatUtc(e.at), 'mono muted'),
    td(e.actor),
    h('td', null, badge(e.action, e.action.endsWith('failed') || e.action.endsWith('locked') ? 'bad' : 'info')),
    td(e.target ?? '—', 'mono'),
    td(e.detail === null || e.detail === undefined ? '' : JSON.stringify(e.detail), 'detail mono'),
  );
}
