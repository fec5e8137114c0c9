/**
 * The sign-in form, shown when `/auth/me` says 401. It tells apart wrong credentials (401) from a locked
 * name or address (429), for which it shows the time left and keeps the button disabled until then,
 * since the server refuses every attempt, even a correct one, while the lock holds.
 */
import { ApiError, type ApiClient, type Session } from '../api.ts';
import { errorText } from '../components.ts';
import { h, setText } from '../dom.ts';
import { formatWait } from '../format.ts';
import { logoMark } from '../layout.ts';

export interface LoginView {
  readonly root: HTMLElement;
  dispose(): void;
}

export function loginView(api: ApiClient, onLoggedIn: (session: Session) => void, notice?: string): LoginView {
  let lockTimer: ReturnType<typeof setInterval> | null = null;

  const username = h('input', {
    id: 'login-username',
    name: 'username',
    type: 'text',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
    'data-testid': 'login-username',
  });
  const password = h('input', {
    id: 'login-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'data-testid': 'login-password',
  });
  const submit = h('button', { type: 'submit', class: 'button-primary', 'data-testid': 'login-submit' }, 'Sign in');
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'login-error', hidden: true });
  const info = h('p', { class: 'form-notice', hidden: notice === undefined }, notice ?? '');

  const showError = (text: string): void => {
    error.hidden = text === '';
    setText(error, text);
  };

  const stopLock = (): void => {
    if (lockTimer !== null) clearInterval(lockTimer);
    lockTimer = null;
  };

  const lockFor = (seconds: number): void => {
    stopLock();
    const until = Date.now() + seconds * 1000;
    const at = new Date(until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const render = (): void => {
      const left = (until - Date.now()) / 1000;
      if (left <= 0) {
        stopLock();
        submit.disabled = false;
        showError('The lock has expired: you can sign in again.');
        return;
      }
      submit.disabled = true;
      showError(`Too many failed sign-in attempts: signing in is locked. Try again in ${formatWait(left)} (at ${at}).`);
    };
    render();
    lockTimer = setInterval(render, 1000);
  };

  const onSubmit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const user = username.value.trim();
    if (user === '' || password.value === '') {
      showError(user === '' ? 'Enter your username.' : 'Enter your password.');
      (user === '' ? username : password).focus();
      return;
    }
    submit.disabled = true;
    setText(submit, 'Signing in…');
    showError('');
    info.hidden = true;
    try {
      const session = await api.login(user, password.value);
      stopLock();
      onLoggedIn(session);
      return;
    } catch (err) {
      password.value = '';
      if (err instanceof ApiError && err.status === 401) {
        showError('Wrong username or password.');
        password.focus();
      } else if (err instanceof ApiError && err.status === 429) {
        setText(submit, 'Sign in');
        lockFor(err.retryAfterSec ?? 60);
        return;
      } else {
        showError(`Signing in failed: ${errorText(err)}`);
      }
    }
    setText(submit, 'Sign in');
    submit.disabled = false;
  };

  const form = h(
    'form',
    { class: 'login-form', 'data-testid': 'login-form', novalidate: true, onsubmit: (e: Event) => void onSubmit(e) },
    h('div', { class: 'login-brand' }, logoMark(), h('h1', null, 'Tickline')),
    h('p', { class: 'muted' }, 'Sign in to the market-data dashboard.'),
    info,
    h('label', { for: 'login-username' }, 'Username'),
    username,
    h('label', { for: 'login-password' }, 'Password'),
    password,
    error,
    submit,
  );
  const root = h('div', { class: 'login-page' }, form);
  queueMicrotask(() => username.focus());

  return {
    root,
    dispose: stopLock,
  };
}
